/**
 * What a request is for: Host policy, method rules, path safety, then the
 * upload handler or the file handler. Returns a response description; only the
 * writer puts bytes on the wire.
 * @module
 */

import type { Config } from "../config.ts";
import type { Exchange, Handler } from "../http/handler.ts";
import { HttpError } from "../http/http_error.ts";
import { STATUS_CODE } from "../http/status.ts";
import { fieldValues, type Request } from "../http/request.ts";
import { withHeaders } from "../http/headers.ts";
import type { HttpResponse } from "../http/response.ts";
import { CorsPolicy } from "../guard/cors.ts";
import type { HostAllowList } from "../guard/host_allow.ts";
import type { BearerAuth } from "../guard/upload_auth.ts";
import { decodePath, type SafePath } from "../guard/path_safety.ts";
import { ContentTypes } from "./content_types.ts";
import { FileCache } from "./file_cache.ts";
import { StaticFiles } from "./static_files.ts";
import { healthz, metrics, type Observed } from "./health.ts";
import { handleUpload, type UploadOptions } from "./upload.ts";
import { UploadQuota } from "../shared/upload_quota.ts";
import { UploadStore } from "./upload_store.ts";

/**
 * Files larger than this are streamed from disk every time, never kept in
 * memory; a kept file is sent at about twice the rate of one read per request.
 */
const MAX_CACHED_FILE = 1024 * 1024;

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
  quota: UploadQuota;
  /** `null` when uploads need no token. @default null */
  auth?: BearerAuth | null;
  /** What /healthz and /metrics report. */
  observed: Observed;
}

/**
 * Routes requests to handlers.
 *
 * @example
 * ```ts
 * import { App } from "./app.ts";
 * import { parseCommand } from "../config.ts";
 * import { HostAllowList } from "../guard/host_allow.ts";
 * import { createShared } from "../shared/shared_state.ts";
 * const command = parseCommand([]);
 * if (command.kind === "run") {
 *   const { config } = command;
 *   const hosts = new HostAllowList({ boundHost: "127.0.0.1", boundPort: 8080 });
 *   const { quota, metrics } = createShared(config, 0);
 *   const observed = {
 *     metrics, openConnections: () => 0, workers: 1, startedAt: Date.now(), metricsPublic: false,
 *   };
 *   new App({ config, hosts, realRoot: Deno.cwd(), quota, observed });
 * }
 * ```
 */
export class App implements Handler {
  #hosts: HostAllowList;
  #files: StaticFiles;
  /** `null` when read-only: then `/upload` is a path like any other. */
  #upload: UploadOptions | null;
  #cors: CorsPolicy | null;
  #observed: Observed;

  constructor(options: AppOptions) {
    const { config } = options;
    this.#hosts = options.hosts;
    this.#files = new StaticFiles({
      root: options.realRoot,
      types: new ContentTypes(config),
      cacheControl: config.cacheControl,
      dirListing: config.dirListing,
      uploadDir: config.readOnly ? null : config.uploadDir,
      cache: config.fileCache === 0 ? null : new FileCache({
        maxBytes: config.fileCache,
        maxFileBytes: MAX_CACHED_FILE,
        ttlMs: config.fileCacheTtlMs,
      }),
    });
    this.#upload = config.readOnly ? null : {
      store: new UploadStore(config.uploadDir),
      quota: options.quota,
      auth: options.auth ?? null,
      maxDepth: config.maxJsonDepth,
      // Per worker: it bounds what this thread has in flight (temporary files, write buffers).
      inflight: UploadQuota.create(config.uploadInflight, 0),
      maxBody: config.maxBody,
    };
    this.#cors = config.cors === null ? null : new CorsPolicy(config.cors);
    this.#observed = options.observed;
  }

  /** JSON for every request to `/upload`, else plain text; never a stack trace or a path. */
  errorResponse(error: HttpError, target: string | null): HttpResponse {
    return error.toResponse(target !== null && _wantsJson(target));
  }

  /** Answers one request; throws {@linkcode HttpError} for refusals. */
  async handle(exchange: Exchange): Promise<HttpResponse> {
    const { request } = exchange;
    const cors = this.#cors;
    if (cors === null || CorsPolicy.isPreflight(request.method, request.fields)) {
      return await this.#route(exchange);
    }
    const headers = cors.headers(request.fields, request.method);
    try {
      const response = await this.#route(exchange);
      return { ...response, headers: withHeaders(response.headers, headers) };
    } catch (error) {
      throw error instanceof HttpError ? error.withHeaders(headers) : error;
    }
  }

  /** The handler's answer; throws for a refusal. */
  async #route(exchange: Exchange): Promise<HttpResponse> {
    const { request } = exchange;
    if (request.authority !== null) this.#hosts.check(request.authority, exchange.local);
    if (request.method === "CONNECT") throw _notAllowed(ALLOW.files);
    if (request.path === "*") return this.#options(request, ALLOW.any);
    const safePath = decodePath(request.path);
    if (this.#upload !== null && _isUpload(safePath)) {
      if (request.method === "OPTIONS") return this.#options(request, ALLOW.upload);
      if (request.method !== "POST") throw _notAllowed(ALLOW.upload);
      const stored = await handleUpload(exchange, this.#upload);
      this.#observed.metrics.upload();
      return stored;
    }
    if (request.method === "OPTIONS") return this.#options(request, ALLOW.files);
    const endpoint = _endpoint(safePath);
    if (endpoint !== null) {
      if (request.method !== "GET" && request.method !== "HEAD") throw _notAllowed(ALLOW.files);
      if (endpoint === "healthz") return healthz(this.#observed);
      return metrics(this.#observed, exchange.client);
    }
    if (request.method !== "GET" && request.method !== "HEAD") throw _notAllowed(ALLOW.files);
    return await this.#files.serve({
      rawPath: request.path,
      query: request.query,
      safePath,
      head: request.method === "HEAD",
      // A header sent on several lines is one comma-separated list (RFC 9110 §5.3).
      header: (name) => {
        const values = fieldValues(request.fields, name);
        return values.length < 2 ? values[0] : values.join(", ");
      },
    });
  }

  /** 204 with `Allow`, and the CORS preflight answer when one is asked for. */
  #options(request: Request, allow: string): HttpResponse {
    const headers: [string, string][] = [["Allow", allow]];
    if (this.#cors !== null && CorsPolicy.isPreflight(request.method, request.fields)) {
      headers.push(...this.#cors.preflight(request.fields, allow));
    }
    return { status: 204, headers, body: null };
  }
}

/** `/healthz` and `/metrics`, exactly. */
function _endpoint(path: SafePath): "healthz" | "metrics" | null {
  if (path.segments.length !== 1 || path.trailingSlash) return null;
  const [name] = path.segments;
  return name === "healthz" || name === "metrics" ? name : null;
}

/** Whether error responses to a request for `target` are JSON (every request to `/upload`). */
function _wantsJson(target: string): boolean {
  const path = target.replace(/^https?:\/\/[^/?#]*/i, "").split("?")[0];
  try {
    return path.startsWith("/") && _isUpload(decodePath(path));
  } catch {
    return false;
  }
}

function _isUpload(path: SafePath): boolean {
  return path.segments.length === 1 && path.segments[0] === "upload" && !path.trailingSlash;
}

function _notAllowed(allow: string): HttpError {
  return new HttpError(STATUS_CODE.MethodNotAllowed, "Method not allowed", {
    headers: [["Allow", allow]],
  });
}
