/**
 * Which files are served, with what Content-Type, inline or as a download:
 * the seed and web profiles of SPEC §3 with `--type` / `--attachment` applied.
 * @module
 */

/** How one file is served. */
export interface ServedType {
  /** The Content-Type header value. */
  type: string;
  /** Serve as a download (`Content-Disposition: attachment`). */
  attachment: boolean;
}

/** Real types of every extension the web profile serves. */
const WEB_TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  htm: "text/html; charset=utf-8",
  txt: "text/plain; charset=utf-8",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  json: "application/json",
  map: "application/json",
  svg: "image/svg+xml",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  ico: "image/vnd.microsoft.icon",
  woff: "font/woff",
  woff2: "font/woff2",
  pdf: "application/pdf",
  wasm: "application/wasm",
  mp4: "video/mp4",
  webm: "video/webm",
  xml: "application/xml",
};

const SEED_INLINE = new Set(["html", "htm"]);
const SEED_ATTACHMENT = new Set(["txt", "png", "jpg", "jpeg"]);
const DOWNLOAD_TYPE = "application/octet-stream";

/** Options of {@linkcode ContentTypes}. */
export interface ContentTypeOptions {
  /** @default "seed" */
  profile?: "seed" | "web";
  /** `--type` entries: extension → inline type. @default new Map() */
  types?: ReadonlyMap<string, string>;
  /** `--attachment` entries. @default new Set() */
  attachments?: ReadonlySet<string>;
}

/**
 * Looks up how a file name is served.
 *
 * @example
 * ```ts
 * import { ContentTypes } from "./content_types.ts";
 * new ContentTypes({ profile: "seed" }).lookup("logo.png");
 * // { type: "application/octet-stream", attachment: true }
 * ```
 */
export class ContentTypes {
  #table = new Map<string, ServedType>();

  constructor(options: ContentTypeOptions = {}) {
    for (const [ext, type] of Object.entries(WEB_TYPES)) {
      if (options.profile === "web" || SEED_INLINE.has(ext)) {
        this.#table.set(ext, { type, attachment: false });
      } else if (SEED_ATTACHMENT.has(ext)) {
        this.#table.set(ext, { type: DOWNLOAD_TYPE, attachment: true });
      }
    }
    for (const [ext, type] of options.types ?? []) {
      this.#table.set(ext, { type, attachment: false });
    }
    for (const ext of options.attachments ?? []) {
      this.#table.set(ext, { type: DOWNLOAD_TYPE, attachment: true });
    }
  }

  /** How `name` is served, or `null` when its type is not served (415). */
  lookup(name: string): ServedType | null {
    const dot = name.lastIndexOf(".");
    if (dot <= 0) return null;
    return this.#table.get(name.slice(dot + 1).toLowerCase()) ?? null;
  }
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
