/**
 * Which files are served, with what Content-Type, inline or as a download:
 * the seed and web profiles of `docs/configuration.md` with `--type` / `--attachment` applied.
 * @module
 */

// The data alone: the package entry is CommonJS, and loading Deno's CommonJS
// support for it raises the memory a streamed response peaks at.
import db from "mime-db/db.json" with { type: "json" };
import { isCompressible } from "./encoding.ts";

/** How one file is served. */
export interface ServedType {
  /** The Content-Type header value. */
  type: string;
  /** Serve as a download (`Content-Disposition: attachment`). */
  attachment: boolean;
  /** Worth compressing (`docs/configuration.md`), decided once for the type. */
  compressible: boolean;
}

/** What mime-db says of one media type. */
interface MimeEntry {
  source?: string;
  extensions?: string[];
  compressible?: boolean;
  charset?: string;
}

const DOWNLOAD: ServedType = Object.freeze({
  type: "application/octet-stream",
  attachment: true,
  compressible: false,
});

/** Ranks of {@linkcode _rank}. */
const RANK_FACETS: readonly [string, number][] = [
  ["vnd.", 400],
  ["x.", 300],
  ["x-", 200],
  ["prs.", 100],
];
const RANK_SOURCES: Readonly<Record<string, number>> = { iana: 40, apache: 20, nginx: 10 };
const RANK_TREES: Readonly<Record<string, number>> = {
  video: 3,
  font: 2,
  audio: 2,
  application: 1,
};

/** JavaScript subtypes, which get a charset like text. */
const JAVASCRIPT = new Set(["javascript", "ecmascript", "x-javascript"]);

/**
 * The type of stored uploads (`/uploads/upload_….json`) in every profile:
 * JSON, with the charset every JSON type of the web profile carries.
 */
export const UPLOAD_TYPE: ServedType = _inline("application/json; charset=utf-8");

/** mime-db, as read: media type → its source and extensions. */
const MIME_DB: Readonly<Record<string, MimeEntry>> = db;

/** Extensions the web profile remembers at most (it only looks up names of files on disk). */
const MAX_RESOLVED = 4096;

/** The seed profile: the allow-list of the Python original. */
const SEED_TABLE: ReadonlyMap<string, ServedType> = new Map([
  ["html", _inline("text/html; charset=utf-8")],
  ["htm", _inline("text/html; charset=utf-8")],
  ["txt", DOWNLOAD],
  ["png", DOWNLOAD],
  ["jpg", DOWNLOAD],
  ["jpeg", DOWNLOAD],
]);

/** Options of {@linkcode ContentTypes}. */
export interface ContentTypeOptions {
  /** @default "web" */
  profile?: "seed" | "web";
  /** `--type` entries: extension (dots allowed) → inline type. @default new Map() */
  types?: ReadonlyMap<string, string>;
  /** `--attachment` entries (dots allowed). @default new Set() */
  attachments?: ReadonlySet<string>;
}

/**
 * Looks up how a file name is served: by the longest extension (`tar.gz`
 * before `gz`) that `--type` / `--attachment` or the profile knows.
 *
 * @example
 * ```ts
 * import { ContentTypes } from "./content_types.ts";
 * new ContentTypes({ profile: "seed" }).lookup("logo.png");
 * // { type: "application/octet-stream", attachment: true, compressible: false }
 * ```
 */
export class ContentTypes {
  /** `--type` / `--attachment`: extension (dots allowed) → served type. */
  #overrides = new Map<string, ServedType>();
  /** The most dots in one override: how many suffixes a lookup tries beyond the last. */
  #maxDots = 0;
  /** The seed allow-list, or the web profile's extensions resolved so far. */
  #profile: Map<string, ServedType | null>;
  #web: boolean;

  constructor(options: ContentTypeOptions = {}) {
    this.#web = options.profile !== "seed";
    this.#profile = new Map(this.#web ? [] : SEED_TABLE);
    for (const [ext, type] of options.types ?? []) this.#override(ext, _inline(type));
    for (const ext of options.attachments ?? []) this.#override(ext, DOWNLOAD);
  }

  /** How `name` is served, or `null` when its type is not served (415). */
  lookup(name: string): ServedType | null {
    const lower = name.toLowerCase();
    const last = lower.lastIndexOf(".");
    // A dot at 0 starts a dotfile's name, not an extension.
    if (last <= 0) return this.#web ? DOWNLOAD : null;
    let found: ServedType | undefined;
    // From the last extension towards longer ones, so that the longest wins.
    for (let dot = last, dots = 0; dot > 0 && dots <= this.#maxDots; dots++) {
      found = this.#overrides.get(lower.slice(dot + 1)) ?? found;
      dot = lower.lastIndexOf(".", dot - 1);
    }
    if (found !== undefined) return found;
    const ext = lower.slice(last + 1);
    const known = this.#profile.get(ext);
    if (known !== undefined || !this.#web) return known ?? null;
    const resolved = _resolve(ext);
    if (this.#profile.size < MAX_RESOLVED) this.#profile.set(ext, resolved);
    return resolved;
  }

  #override(ext: string, served: ServedType): void {
    const key = ext.toLowerCase();
    this.#overrides.set(key, served);
    this.#maxDots = Math.max(this.#maxDots, key.split(".").length - 1);
  }
}

/** An inline type, with its compressibility decided once. */
function _inline(type: string): ServedType {
  return Object.freeze({ type, attachment: false, compressible: isCompressible(type) });
}

/**
 * How the web profile serves `ext`: the type mime-db lists it under (the
 * best by {@linkcode _rank} when several do), or a download. Resolved on
 * first use rather than all at start-up: building the whole index at start
 * grows V8's young generation, which then raises the memory peak of every
 * streamed response.
 */
function _resolve(ext: string): ServedType {
  let best: string | null = null;
  let bestRank = -1;
  for (const type in MIME_DB) {
    if (!MIME_DB[type].extensions?.includes(ext)) continue;
    const rank = _rank(type, MIME_DB[type].source);
    // A later type wins a tie: deterministic, as mime-db's keys are sorted.
    if (rank >= bestRank) [best, bestRank] = [type, rank];
  }
  return best === null || best === "application/octet-stream"
    ? DOWNLOAD
    : _inline(_withCharset(best));
}

/**
 * How official a type is, for an extension several types claim; the same
 * order as the `mime-types` npm package (v3): a standards-tree subtype over
 * `vnd.`, `x.`, `x-` and `prs.` ones; then by where mime-db has it from,
 * IANA first and nginx last; then `application/` and the font, video and
 * audio trees over the rest (so .mp4 is video/mp4, .xml application/xml);
 * then the shorter name. `application/octet-stream` never wins.
 */
function _rank(type: string, source: string | undefined): number {
  if (type === "application/octet-stream") return 0;
  const [tree, subtype] = type.split("/");
  const facet = RANK_FACETS.find(([prefix]) => subtype.startsWith(prefix))?.[1] ?? 900;
  return facet + (RANK_SOURCES[source ?? ""] ?? 30) + (RANK_TREES[tree] ?? 0) +
    1 - type.length / 100;
}

/** `type` with `; charset=utf-8` when it is text, JSON, JavaScript or XML (`docs/configuration.md`). */
function _withCharset(type: string): string {
  const [tree, subtype] = type.split("/");
  const textual = tree === "text" || subtype === "json" || subtype.endsWith("+json") ||
    subtype === "xml" || subtype.endsWith("+xml") || JAVASCRIPT.has(subtype);
  return textual ? `${type}; charset=utf-8` : type;
}

/**
 * A `Content-Disposition: attachment` value for `name` (RFC 6266): a quoted
 * ASCII `filename`, plus `filename*` in UTF-8 when the name is not plain ASCII.
 *
 * @example
 * ```ts
 * import { attachmentDisposition } from "./content_types.ts";
 * attachmentDisposition("café.txt");
 * // `attachment; filename="caf_.txt"; filename*=UTF-8''caf%C3%A9.txt`
 * ```
 */
export function attachmentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  if (ascii === name) return `attachment; filename="${name}"`;
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
