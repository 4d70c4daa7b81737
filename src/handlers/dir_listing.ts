/**
 * Directory listings for `--dir-listing` (`docs/protocol.md`): sorted, without dotfiles,
 * names HTML-escaped in text and percent-encoded in links; JSON on request.
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { HttpError } from "../http/http_error.ts";
import { STATUS_CODE } from "../http/status.ts";
import type { HttpResponse } from "../http/response.ts";
import { evaluatePreconditions } from "./conditional.ts";

/** One listed entry. */
export interface ListedEntry {
  name: string;
  directory: boolean;
  size: number;
  /** Modification time in ms, or `null` when unknown. */
  mtimeMs: number | null;
}

/** Options of {@linkcode directoryListing}. */
export interface ListingOptions {
  /** The directory's decoded URL path, ending in `/`. */
  path: string;
  /** Answer JSON instead of HTML. */
  json: boolean;
  /** The request is HEAD. */
  head: boolean;
  /** A request header by lowercase name, for If-None-Match and the like. @default none */
  header?: (name: string) => string | undefined;
  /** The directory's own modification time in ms. @default null */
  mtimeMs?: number | null;
}

const encoder = new TextEncoder();
const MAX_ENTRIES = 10_000;

/**
 * The visible entries of `dir`: no dotfiles, directories first, then by name.
 *
 * @example
 * ```ts
 * import { listDirectory } from "./dir_listing.ts";
 * await listDirectory(Deno.cwd());
 * ```
 */
export async function listDirectory(dir: string): Promise<ListedEntry[]> {
  const entries: ListedEntry[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith(".")) continue;
    if (entries.length >= MAX_ENTRIES) break;
    const info = await Deno.stat(join(dir, entry.name)).catch(() => null);
    if (info === null || (!info.isFile && !info.isDirectory)) continue;
    entries.push({
      name: entry.name,
      directory: info.isDirectory,
      size: info.isFile ? info.size : 0,
      mtimeMs: info.mtime?.getTime() ?? null,
    });
  }
  return entries.sort((a, b) =>
    a.directory === b.directory
      ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
      : a.directory
      ? -1
      : 1
  );
}

/**
 * The listing response for `entries`.
 *
 * @example
 * ```ts
 * import { directoryListing } from "./dir_listing.ts";
 * directoryListing([{ name: "a.html", directory: false, size: 1, mtimeMs: 0 }], {
 *   path: "/docs/", json: false, head: false,
 * });
 * ```
 */
export function directoryListing(entries: ListedEntry[], options: ListingOptions): HttpResponse {
  const body = options.json ? _json(entries) : _html(entries, options.path);
  const type = options.json ? "application/json" : "text/html; charset=utf-8";
  const bytes = encoder.encode(body);
  // Strong, as it names these exact bytes; HTML and JSON differ, so they never share one.
  const etag = `"${createHash("sha256").update(bytes).digest("base64url").slice(0, 27)}"`;
  const mtimeMs = _lastModified(entries, options.mtimeMs ?? null);
  const validators: [string, string][] = [["ETag", etag]];
  if (mtimeMs !== null) validators.push(["Last-Modified", new Date(mtimeMs).toUTCString()]);
  const headers: [string, string][] = [["Cache-Control", "no-cache"], ["Vary", "Accept"]];
  const header = options.header ?? (() => undefined);
  const precondition = evaluatePreconditions(
    // Without a Last-Modified there is no date to compare with.
    mtimeMs === null ? (name) => name.endsWith("-since") ? undefined : header(name) : header,
    { etag, mtimeMs: mtimeMs ?? 0 },
  );
  if (precondition === "failed") {
    throw new HttpError(STATUS_CODE.PreconditionFailed, "Precondition failed");
  }
  if (precondition === "not-modified") {
    return { status: 304, headers: [...validators, ...headers], body: null };
  }
  return {
    status: 200,
    headers: [["Content-Type", type], ...validators, ...headers],
    body: options.head ? { length: bytes.length, async *chunks() {}, close() {} } : bytes,
  };
}

/**
 * The latest change a listing shows: the directory's own time (an entry
 * added, removed or renamed) or any entry's; `null` when none is known.
 */
function _lastModified(entries: ListedEntry[], dirMtimeMs: number | null): number | null {
  let latest = dirMtimeMs;
  for (const { mtimeMs } of entries) {
    if (mtimeMs !== null && (latest === null || mtimeMs > latest)) latest = mtimeMs;
  }
  return latest;
}

/**
 * Escapes text for HTML content and attribute values.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./dir_listing.ts";
 * escapeHtml('<a href="x">'); // "&lt;a href=&quot;x&quot;&gt;"
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]);
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

function _html(entries: ListedEntry[], path: string): string {
  const title = escapeHtml(`Index of ${path}`);
  const rows = entries.map((entry) => {
    const href = encodeURIComponent(entry.name) + (entry.directory ? "/" : "");
    const label = escapeHtml(entry.name) + (entry.directory ? "/" : "");
    const date = entry.mtimeMs === null ? "-" : new Date(entry.mtimeMs).toISOString();
    const size = entry.directory ? "-" : String(entry.size);
    return `<tr><td><a href="${href}">${label}</a></td><td>${size}</td><td>${date}</td></tr>`;
  });
  const parent = path === "/" ? "" : `<tr><td><a href="../">../</a></td><td>-</td><td>-</td></tr>`;
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>` +
    `<body><h1>${title}</h1><table><thead><tr><th>Name</th><th>Size</th><th>Modified</th></tr>` +
    `</thead><tbody>${parent}${rows.join("")}</tbody></table></body></html>\n`;
}

function _json(entries: ListedEntry[]): string {
  return JSON.stringify(entries.map((entry) => ({
    name: entry.name,
    type: entry.directory ? "directory" : "file",
    size: entry.size,
    modified: entry.mtimeMs === null ? null : new Date(entry.mtimeMs).toISOString(),
  })));
}
