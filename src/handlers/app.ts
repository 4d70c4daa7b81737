/**
 * What a request is for: Host policy, method rules, path safety, then the
 * upload handler or the file handler. Returns a response description; only the
 * writer puts bytes on the wire.
 * @module
 */

import type { Config } from "../config.ts";
import type { BodyReader } from "../http/body_reader.ts";
import { HttpError } from "../http/http_error.ts";
import type { Request } from "../http/request.ts";
import type { HttpResponse } from "../http/response.ts";
import type { HostAllowList } from "../guard/host_allow.ts";
import { decodePath, type SafePath } from "../guard/path_safety.ts";
import { ContentTypes } from "./content_types.ts";
import { StaticFiles } from "./static_files.ts";
import { handleUpload } from "./upload.ts";
import { UploadStore } from "./upload_store.ts";

/** The request-scoped things a handler may use. */
export interface Exchange {
  request: Request;
  body: BodyReader;
  /** Sends `100 Continue` if the client asked for it; call just before reading the body. */
  sendContinue(): Promise<void>;
}

/** Allow values by resource. */
export const ALLOW = {
  files: "GET, HEAD, OPTIONS",
  upload: "POST, OPTIONS",
  any: "GET, HEAD, POST, OPTIONS",
} as const;

/** Options of {@linkcode App}. */
export interface AppOptions {
  config: Config;
  hosts: HostAllowList;
  /** The web root's real path. */
  realRoot: string;
}

/**
 * Routes requests to handlers.
 *
 * @example
 * ```ts
 * import { App } from "./app.ts";
 * import { parseCommand } from "../config.ts";
 * import { HostAllowList } from "../guard/host_allow.ts";
 * const command = parseCommand([]);
 * if (command.kind === "run") {
 *   const hosts = new HostAllowList({ boundHost: "127.0.0.1", boundPort: 8080 });
 *   new App({ config: command.config, hosts, realRoot: Deno.cwd() });
 * }
 * ```
 */
export class App {
  #hosts: HostAllowList;
  #files: StaticFiles;
  #uploads: UploadStore;
  #maxJsonDepth: number;

  constructor(options: AppOptions) {
    const { config } = options;
    this.#hosts = options.hosts;
    this.#files = new StaticFiles({ root: options.realRoot, types: new ContentTypes(config) });
    this.#uploads = new UploadStore(config.uploadDir);
    this.#maxJsonDepth = config.maxJsonDepth;
  }

  /** Whether error responses to this request are JSON (every request to `/upload`). */
  static wantsJson(request: Request): boolean {
    try {
      return _isUpload(decodePath(request.path));
    } catch {
      return false;
    }
  }

  /** Answers one request; throws {@linkcode HttpError} for refusals. */
  async handle(exchange: Exchange): Promise<HttpResponse> {
    const { request } = exchange;
    if (request.authority !== null) this.#hosts.check(request.authority);
    if (request.method === "CONNECT") throw _notAllowed(ALLOW.files);
    if (request.path === "*") return _options(ALLOW.any);
    const safePath = decodePath(request.path);
    if (_isUpload(safePath)) {
      if (request.method === "OPTIONS") return _options(ALLOW.upload);
      if (request.method !== "POST") throw _notAllowed(ALLOW.upload);
      return await handleUpload(exchange, { store: this.#uploads, maxDepth: this.#maxJsonDepth });
    }
    if (request.method === "OPTIONS") return _options(ALLOW.files);
    if (request.method !== "GET" && request.method !== "HEAD") throw _notAllowed(ALLOW.files);
    return await this.#files.serve({
      rawPath: request.path,
      query: request.query,
      safePath,
      head: request.method === "HEAD",
    });
  }
}

function _isUpload(path: SafePath): boolean {
  return path.segments.length === 1 && path.segments[0] === "upload" && !path.trailingSlash;
}

function _options(allow: string): HttpResponse {
  return { status: 204, headers: [["Allow", allow]], body: null };
}

function _notAllowed(allow: string): HttpError {
  return new HttpError(405, "Method not allowed", { headers: [["Allow", allow]] });
}
