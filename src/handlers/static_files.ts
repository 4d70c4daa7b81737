/**
 * GET and HEAD for files under the web root (SPEC §3): index files, directory
 * redirects, dotfiles, symlink escapes, content types and streamed bodies.
 * @module
 */

import { join, sep } from "node:path";
import { HttpError } from "../http/http_error.ts";
import type { BodyStream, HttpResponse } from "../http/response.ts";
import type { SafePath } from "../guard/path_safety.ts";
import { attachmentDisposition, type ContentTypes } from "./content_types.ts";

/** Options of {@linkcode StaticFiles}. */
export interface StaticFilesOptions {
  /** The web root's real (symlink-free) absolute path. */
  root: string;
  types: ContentTypes;
}

/** What the handler needs of a request. */
export interface FileRequest {
  /** Percent-encoded path as sent, for redirects. */
  rawPath: string;
  query: string | null;
  safePath: SafePath;
  head: boolean;
}

const READ_CHUNK = 64 * 1024;

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

  constructor(options: StaticFilesOptions) {
    this.#root = options.root;
    this.#types = options.types;
  }

  /** Answers a GET or HEAD; throws {@linkcode HttpError} 403/404/415. */
  async serve(request: FileRequest): Promise<HttpResponse> {
    const { segments, trailingSlash } = request.safePath;
    if (segments.some((segment) => segment.startsWith("."))) throw _notFound();
    const path = await this.#resolve(join(this.#root, ...segments));
    const info = await _stat(path);
    if (info.isDirectory) {
      if (!trailingSlash) return _redirectToDirectory(request);
      return await this.#serveFile(await this.#resolve(join(path, "index.html")), request.head);
    }
    if (trailingSlash) throw _notFound();
    return await this.#serveFile(path, request.head);
  }

  async #serveFile(path: string, head: boolean): Promise<HttpResponse> {
    const name = path.slice(path.lastIndexOf(sep) + 1);
    const served = this.#types.lookup(name);
    // Checked before opening: opening a FIFO or a device would block.
    if (!(await _stat(path)).isFile) throw _notFound();
    const file = await _open(path);
    try {
      const info = await file.stat();
      if (!info.isFile) throw _notFound();
      if (served === null) throw new HttpError(415, "File type not served", { reason: "type" });
      const headers: [string, string][] = [["Content-Type", served.type]];
      if (served.attachment) headers.push(["Content-Disposition", attachmentDisposition(name)]);
      if (head) {
        file.close();
        return { status: 200, headers, body: _emptyStream(info.size) };
      }
      return { status: 200, headers, body: fileStream(file, info.size) };
    } catch (error) {
      file.close();
      throw error;
    }
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

/**
 * A body stream over an open file: exactly `size` bytes read in large pieces,
 * one buffer reused, so memory stays constant whatever the file's size. The
 * stream throws if the file shrinks while being sent.
 *
 * @example
 * ```ts
 * import { fileStream } from "./static_files.ts";
 * const file = await Deno.open("deno.json");
 * const body = fileStream(file, (await file.stat()).size);
 * body.close();
 * ```
 */
export function fileStream(file: Deno.FsFile, size: number): BodyStream {
  let closed = false;
  return {
    length: size,
    async *chunks() {
      const buffer = new Uint8Array(Math.min(READ_CHUNK, Math.max(size, 1)));
      let left = size;
      while (left > 0) {
        const read = await file.read(buffer.subarray(0, Math.min(buffer.length, left)));
        if (read === null) throw new Error("File shrank while being sent");
        left -= read;
        yield buffer.subarray(0, read);
      }
    },
    close() {
      if (closed) return;
      closed = true;
      file.close();
    },
  };
}

function _emptyStream(size: number): BodyStream {
  return { length: size, async *chunks() {}, close() {} };
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

async function _open(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { read: true });
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
