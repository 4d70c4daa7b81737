/**
 * GET and HEAD for files under the web root (SPEC §3): index files, directory
 * redirects, dotfiles, symlink escapes, content types and streamed bodies.
 * @module
 */

import { join, sep } from "node:path";
import { HttpError } from "../http/http_error.ts";
import type { HttpResponse } from "../http/response.ts";
import type { SafePath } from "../guard/path_safety.ts";
import type { ContentTypes } from "./content_types.ts";
import { directoryListing, listDirectory } from "./dir_listing.ts";
import { fileResponse } from "./file_response.ts";

/** Options of {@linkcode StaticFiles}. */
export interface StaticFilesOptions {
  /** The web root's real (symlink-free) absolute path. */
  root: string;
  types: ContentTypes;
  /** Cache-Control for files. @default "no-cache" */
  cacheControl?: string;
  /** List directories without an index.html. @default false */
  dirListing?: boolean;
}

/** What the handler needs of a request. */
export interface FileRequest {
  /** Percent-encoded path as sent, for redirects. */
  rawPath: string;
  query: string | null;
  safePath: SafePath;
  head: boolean;
  /** A request header by lowercase name. */
  header: (name: string) => string | undefined;
}

/**
 * Serves files from the web root.
 *
 * @example
 * ```ts
 * import { StaticFiles } from "./static_files.ts";
 * import { ContentTypes } from "./content_types.ts";
 * const files = new StaticFiles({ root: Deno.realPathSync("."), types: new ContentTypes() });
 * ```
 */
export class StaticFiles {
  #root: string;
  #types: ContentTypes;
  #cacheControl: string;
  #dirListing: boolean;

  constructor(options: StaticFilesOptions) {
    this.#root = options.root;
    this.#types = options.types;
    this.#cacheControl = options.cacheControl ?? "no-cache";
    this.#dirListing = options.dirListing ?? false;
  }

  /** Answers a GET or HEAD; throws {@linkcode HttpError} 403/404/415. */
  async serve(request: FileRequest): Promise<HttpResponse> {
    const { segments, trailingSlash } = request.safePath;
    if (segments.some((segment) => segment.startsWith("."))) throw _notFound();
    const path = await this.#resolve(join(this.#root, ...segments));
    const info = await _stat(path);
    if (info.isDirectory) {
      if (!trailingSlash) return _redirectToDirectory(request);
      return await this.#serveDirectory(path, request);
    }
    if (trailingSlash) throw _notFound();
    return await this.#serveFile(path, request);
  }

  /** A directory's index.html; else its listing when `--dir-listing` is on; else 404. */
  async #serveDirectory(path: string, request: FileRequest): Promise<HttpResponse> {
    try {
      return await this.#serveFile(await this.#resolve(join(path, "index.html")), request);
    } catch (error) {
      if (!this.#dirListing || !(error instanceof HttpError) || error.status !== 404) throw error;
    }
    const entries = await listDirectory(path);
    return directoryListing(entries, {
      path: "/" + request.safePath.segments.map((segment) => segment + "/").join(""),
      json: /\bapplication\/json\b/i.test(request.header("accept") ?? ""),
      head: request.head,
    });
  }

  async #serveFile(path: string, request: FileRequest): Promise<HttpResponse> {
    const name = path.slice(path.lastIndexOf(sep) + 1);
    // Checked before opening: opening a FIFO or a device would block.
    const info = await _stat(path);
    if (!info.isFile) throw _notFound();
    const served = this.#types.lookup(name);
    if (served === null) throw new HttpError(415, "File type not served", { reason: "type" });
    return await fileResponse(
      { path, name, size: info.size, mtimeMs: info.mtime?.getTime() ?? 0, served },
      { header: request.header, head: request.head, cacheControl: this.#cacheControl },
    );
  }

  /** The real path of `path`; 403 when it leaves the web root, 404 when missing. */
  async #resolve(path: string): Promise<string> {
    let real: string;
    try {
      real = await Deno.realPath(path);
    } catch (error) {
      throw _fsError(error);
    }
    if (real !== this.#root && !real.startsWith(this.#root + sep)) {
      throw new HttpError(403, "Path leaves the web root", { reason: "traversal" });
    }
    return real;
  }
}

function _redirectToDirectory(request: FileRequest): HttpResponse {
  // Leading slashes are collapsed so that "//host" can never become an off-site redirect.
  const location = "/" + request.rawPath.replace(/^\/+/, "") + "/" +
    (request.query === null ? "" : `?${request.query}`);
  return {
    status: 301,
    headers: [["Location", location], ["Content-Type", "text/plain; charset=utf-8"]],
    body: new TextEncoder().encode("Moved Permanently\n"),
  };
}

async function _stat(path: string): Promise<Deno.FileInfo> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    throw _fsError(error);
  }
}

function _fsError(error: unknown): HttpError {
  if (
    error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied ||
    error instanceof Deno.errors.FilesystemLoop
  ) {
    return new HttpError(403, "Forbidden");
  }
  if (
    error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory ||
    error instanceof Deno.errors.IsADirectory ||
    (error as { code?: string }).code === "ENAMETOOLONG"
  ) {
    return _notFound();
  }
  throw error;
}

function _notFound(): HttpError {
  return new HttpError(404, "Not found");
}
