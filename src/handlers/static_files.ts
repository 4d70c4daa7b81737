/**
 * GET and HEAD for files under the web root (`docs/protocol.md`): index files, directory
 * redirects, dotfiles, symlink escapes, content types and streamed bodies.
 * @module
 */

import { join, sep } from "node:path";
import { HttpError } from "../http/http_error.ts";
import { STATUS_CODE } from "../http/status.ts";
import type { HttpResponse } from "../http/response.ts";
import { insideRoot, isHidden, type SafePath } from "../guard/path_safety.ts";
import { type ContentTypes, type ServedType, UPLOAD_TYPE } from "./content_types.ts";
import { directoryListing, listDirectory } from "./dir_listing.ts";
import { CompressionBudget } from "./encoding.ts";
import { FileCache, HeaderMemo, type ResolvedFile } from "./file_cache.ts";
import { fileError } from "./file_errors.ts";
import { fileResponse } from "./file_response.ts";
import { fileETag } from "./conditional.ts";
import { FileChangedError, fileId, readInside } from "./open_inside.ts";
import { precompressedSiblings } from "./siblings.ts";
import { isUploadName } from "./upload_name.ts";
import { gzipSync } from "node:zlib";

/** Options of {@linkcode StaticFiles}. */
export interface StaticFilesOptions {
  /** The web root's real (symlink-free) absolute path. */
  root: string;
  types: ContentTypes;
  /** Cache-Control for files. @default "no-cache" */
  cacheControl?: string;
  /** List directories without an index.html. @default false */
  dirListing?: boolean;
  /** The hot-file cache, or `null` for none. @default null */
  cache?: FileCache | null;
  /**
   * The upload directory: `/uploads/<name>` for a name bastion stores is
   * served from it, as JSON, in every profile; `null` when read-only.
   * @default null
   */
  uploadDir?: string | null;
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
  #cache: FileCache | null;
  #uploadDir: string | null;
  /** Bodies gzipped on the fly at once, in this worker. */
  #compressions = new CompressionBudget(MAX_COMPRESSING);
  /** The upload directory's real path, resolved on first use. */
  #realUploadDir: Promise<string> | null = null;

  constructor(options: StaticFilesOptions) {
    this.#root = options.root;
    this.#types = options.types;
    this.#cacheControl = options.cacheControl ?? "no-cache";
    this.#dirListing = options.dirListing ?? false;
    this.#cache = options.cache ?? null;
    this.#uploadDir = options.uploadDir ?? null;
  }

  /** Answers a GET or HEAD; rejects with {@linkcode HttpError} 403/404/415. */
  async serve(request: FileRequest): Promise<HttpResponse> {
    const { segments, trailingSlash } = request.safePath;
    if (isHidden(segments)) throw _notFound();
    const key = segments.join("/") + (trailingSlash ? "/" : "");
    const cached = this.#cache?.trusted(key, Date.now());
    if (!cached) return await this.#serveUncached(request, key);
    // Bytes in memory and no sibling: nothing is opened, so nothing can have changed.
    if (cached.content !== null && cached.siblings.size === 0) {
      return await this.#respond(cached, request);
    }
    try {
      return await this.#respond(cached, request);
    } catch (error) {
      return await this.#reload(error, request, key);
    }
  }

  /** A cached file replaced since it was checked is forgotten and served afresh, once. */
  #reload(error: unknown, request: FileRequest, key: string): Promise<HttpResponse> {
    if (!(error instanceof FileChangedError)) throw error;
    this.#cache?.delete(key);
    return this.#serveUncached(request, key);
  }

  async #serveUncached(request: FileRequest, key: string): Promise<HttpResponse> {
    const { segments, trailingSlash } = request.safePath;
    try {
      if (this.#uploadDir !== null && _isStoredUpload(request.safePath)) {
        return await this.#serveUpload(segments[1], request, key);
      }
      const path = await this.#resolve(join(this.#root, ...segments));
      const info = await _stat(path);
      if (info.isDirectory) {
        if (!trailingSlash) return _redirectToDirectory(request, this.#cacheControl);
        return await this.#serveDirectory(path, request, key, info.mtime?.getTime() ?? null);
      }
      if (trailingSlash) throw _notFound();
      return await this.#serveFile(path, request, key);
    } finally {
      this.#cache?.checked(key);
    }
  }

  /** A stored upload, from the upload directory (wherever it is), as JSON. */
  async #serveUpload(name: string, request: FileRequest, key: string): Promise<HttpResponse> {
    this.#realUploadDir ??= Deno.realPath(this.#uploadDir!).catch((error) => {
      this.#realUploadDir = null;
      throw fileError(error);
    });
    const dir = await this.#realUploadDir;
    const path = await this.#resolve(join(dir, name), dir);
    return await this.#serveFile(path, request, key, { root: dir, type: UPLOAD_TYPE });
  }

  /** A directory's index.html; else its listing when `--dir-listing` is on; else 404. */
  async #serveDirectory(
    path: string,
    request: FileRequest,
    key: string,
    mtimeMs: number | null,
  ): Promise<HttpResponse> {
    try {
      return await this.#serveFile(await this.#resolve(join(path, "index.html")), request, key);
    } catch (error) {
      if (!this.#dirListing || !(error instanceof HttpError) || error.status !== 404) throw error;
    }
    const entries = await listDirectory(path);
    return directoryListing(entries, {
      path: "/" + request.safePath.segments.map((segment) => segment + "/").join(""),
      json: /\bapplication\/json\b/i.test(request.header("accept") ?? ""),
      head: request.head,
      header: request.header,
      mtimeMs,
    });
  }

  /** A file checked inside `within.root` (the web root unless said), typed by name unless said. */
  async #serveFile(
    path: string,
    request: FileRequest,
    key: string,
    within: { root: string; type: ServedType | null } = { root: this.#root, type: null },
  ): Promise<HttpResponse> {
    const name = path.slice(path.lastIndexOf(sep) + 1);
    // Checked before opening: opening a FIFO or a device would block.
    const info = await _stat(path);
    if (!info.isFile) throw _notFound();
    const served = within.type ?? this.#types.lookup(name);
    if (served === null) {
      throw new HttpError(STATUS_CODE.UnsupportedMediaType, "File type not served", {
        reason: "type",
      });
    }
    const mtimeMs = info.mtime?.getTime() ?? 0;
    const { root } = within;
    const id = fileId(info);
    const file = await this.#load({ path, root, id, name, size: info.size, mtimeMs, served }, key);
    return await this.#respond(file, request);
  }

  #respond(file: ResolvedFile, request: FileRequest): Promise<HttpResponse> {
    return fileResponse(file, {
      header: request.header,
      head: request.head,
      cacheControl: this.#cacheControl,
      compressions: this.#compressions,
    });
  }

  /** Completes a checked file with its siblings and (small) content, and caches it. */
  async #load(
    file: Pick<ResolvedFile, "path" | "root" | "id" | "name" | "size" | "mtimeMs" | "served">,
    key: string,
  ): Promise<ResolvedFile> {
    const now = Date.now();
    const previous = this.#cache?.stale(key) ?? null;
    const unchanged = previous !== null && previous.path === file.path &&
      previous.size === file.size && previous.mtimeMs === file.mtimeMs;
    const content = unchanged
      ? previous.content
      : this.#cache?.keeps(file.size)
      ? await readInside(file)
      : null;
    const resolved: ResolvedFile = {
      ...file,
      lastModified: new Date(file.mtimeMs).toUTCString(),
      etag: fileETag(file.size, file.mtimeMs),
      siblings: file.served.compressible
        ? await precompressedSiblings(file.path, file.mtimeMs)
        : new Map(),
      content,
      gzipped: content === null || content.length > MAX_GZIP_IN_MEMORY
        ? null
        : unchanged && previous.gzipped !== null
        ? previous.gzipped
        : _memo(() => gzipSync(content)),
      plainHeaders: new HeaderMemo(),
    };
    this.#cache?.set(key, resolved, now);
    return resolved;
  }

  /** The real path of `path`; 403 when it leaves `root`, 404 when missing. */
  async #resolve(path: string, root: string = this.#root): Promise<string> {
    let real: string;
    try {
      real = await Deno.realPath(path);
    } catch (error) {
      throw fileError(error);
    }
    if (!insideRoot(root, real)) {
      throw new HttpError(STATUS_CODE.Forbidden, "Path leaves the web root", {
        reason: "traversal",
      });
    }
    return real;
  }
}

/**
 * Kept files (up to 1 MiB, the file cache's limit) are gzipped once per
 * version and kept beside their bytes, so a popular page costs its
 * compression once, not on every request; the gzip blocks the thread a few
 * milliseconds, once. Larger files are gzipped as they stream.
 */
const MAX_GZIP_IN_MEMORY = 1024 * 1024;
/**
 * Files gzipped as they stream, at once, per worker: each keeps a core busy
 * while its client reads fast; past this, files are sent as they are.
 */
const MAX_COMPRESSING = 2;

/** `/uploads/<name>` for a name bastion stores. */
function _isStoredUpload({ segments, trailingSlash }: SafePath): boolean {
  return segments.length === 2 && segments[0] === "uploads" && !trailingSlash &&
    isUploadName(segments[1]);
}

function _redirectToDirectory(request: FileRequest, cacheControl: string): HttpResponse {
  // Leading slashes are collapsed so that "//host" can never become an off-site redirect.
  const location = "/" + request.rawPath.replace(/^\/+/, "") + "/" +
    (request.query === null ? "" : `?${request.query}`);
  return {
    status: 301,
    headers: [
      ["Location", location],
      ["Content-Type", "text/plain; charset=utf-8"],
      ["Cache-Control", cacheControl],
    ],
    body: new TextEncoder().encode("Moved Permanently\n"),
  };
}

async function _stat(path: string): Promise<Deno.FileInfo> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    throw fileError(error);
  }
}

function _memo<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => value ??= make();
}

function _notFound(): HttpError {
  return new HttpError(STATUS_CODE.NotFound, "Not found");
}
