/**
 * What a failed file-system call on a request's path means to the client:
 * 403 for what the server may not read, 404 for what is not there, 503 while
 * the process has no file descriptor left (the file exists: a 404 then would
 * be a lie a cache keeps). Anything else is the server's fault, a 500.
 * @module
 */

import { HttpError } from "../http/http_error.ts";
import { STATUS_CODE } from "../http/status.ts";
import { isOutOfFiles } from "../os_errors.ts";

/** Seconds a client is asked to wait when the server is out of file descriptors. */
const OUT_OF_FILES_RETRY_S = 5;

/**
 * The {@linkcode HttpError} for `error`; rethrows an error that is not the
 * client's to hear about.
 *
 * @example
 * ```ts
 * import { fileError } from "./file_errors.ts";
 * fileError(new Deno.errors.NotFound("gone")).status; // 404
 * ```
 */
export function fileError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (
    error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied ||
    error instanceof Deno.errors.FilesystemLoop
  ) {
    return new HttpError(STATUS_CODE.Forbidden, "Forbidden");
  }
  if (
    error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory ||
    error instanceof Deno.errors.IsADirectory ||
    (error as { code?: string }).code === "ENAMETOOLONG"
  ) {
    return new HttpError(STATUS_CODE.NotFound, "Not found");
  }
  if (isOutOfFiles(error)) {
    return new HttpError(STATUS_CODE.ServiceUnavailable, "Server busy", {
      headers: [["Retry-After", String(OUT_OF_FILES_RETRY_S)]],
    });
  }
  throw error;
}
