/**
 * Bearer-token protection of uploads (`docs/security.md`): the token comes from
 * `--upload-token-file` or `BASTION_UPLOAD_TOKEN` and is compared in constant
 * time (digests of equal length, so neither content nor length leaks).
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { HttpError } from "../http/http_error.ts";
import { STATUS_CODE } from "../http/status.ts";

/**
 * Checks `Authorization: Bearer <token>` headers against one token.
 *
 * @example
 * ```ts
 * import { BearerAuth } from "./upload_auth.ts";
 * const auth = new BearerAuth("s3cret");
 * auth.check("Bearer s3cret"); // passes
 * ```
 */
export class BearerAuth {
  #digest: Uint8Array;

  constructor(token: string) {
    if (token === "") throw new Error("Empty token");
    this.#digest = _digest(token);
  }

  /** Throws 401 (reason `auth`) unless `authorization` carries the token. */
  check(authorization: string | undefined): void {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? "");
    const offered = _digest(match ? match[1] : "");
    if (!match || !timingSafeEqual(offered, this.#digest)) {
      throw new HttpError(STATUS_CODE.Unauthorized, "Missing or wrong upload token", {
        reason: "auth",
        headers: [["WWW-Authenticate", "Bearer"]],
      });
    }
  }
}

/**
 * The upload token from a file's text: surrounding whitespace and the trailing
 * newline trimmed. Throws when nothing is left.
 *
 * @example
 * ```ts
 * import { tokenFromText } from "./upload_auth.ts";
 * tokenFromText("  s3cret\n"); // "s3cret"
 * ```
 */
export function tokenFromText(text: string): string {
  const token = text.trim();
  if (token === "") throw new Error("The upload token is empty");
  return token;
}

function _digest(text: string): Uint8Array {
  return createHash("sha256").update(text).digest();
}
