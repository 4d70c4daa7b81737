/**
 * The trailer section of a chunked body (RFC 9112 §7.1.2), read a byte at a
 * time and discarded: each line must be a field, within the limits, and no
 * trailer may be one that would frame or route the message if a proxy merged
 * it into the head (`docs/protocol.md`).
 * @module
 */

import * as BYTES from "./bytes.ts";
import { foldFieldName } from "./field_names.ts";
import { badRequest, HttpError } from "./http_error.ts";
import { STATUS_CODE } from "./status.ts";

// Aliased as this module's own constants: V8 folds those in hot loops, and not
// imported bindings.
const { COLON, CR, DEL, HTAB, LF, SP } = BYTES;

/** Limits of a {@linkcode TrailerSection}. */
export interface TrailerLimits {
  /** Most bytes in the section. */
  maxTrailer: number;
  /** Most fields. */
  maxTrailerFields: number;
}

/** Trailer fields refused, compared after {@linkcode foldFieldName}. */
const FORBIDDEN_TRAILERS: ReadonlySet<string> = new Set([
  "content-length",
  "transfer-encoding",
  "host",
  "content-type",
  "trailer",
]);
/** Longer trailer names cannot be one of those, even with extra delimiters folded. */
const MAX_CHECKED_TRAILER_NAME = 64;

/**
 * Reads one trailer section.
 *
 * @example
 * ```ts
 * import { TrailerSection } from "./trailer_section.ts";
 * const trailers = new TrailerSection({ maxTrailer: 1024, maxTrailerFields: 10 });
 * [...new TextEncoder().encode("X-Sum: 7\r\n\r\n")].map((byte) => trailers.byte(byte)).at(-1); // true
 * ```
 */
export class TrailerSection {
  #limits: TrailerLimits;
  #bytes = 0;
  #fields = 0;
  #lineLength = 0;
  #lineHasColon = false;
  /** The current line's field name so far (short names only). */
  #name = "";
  /** A CR was read: an LF must follow. */
  #afterCR = false;

  constructor(limits: TrailerLimits) {
    this.#limits = limits;
  }

  /** Reads one byte; true once the empty line that ends the section is read. */
  byte(byte: number): boolean {
    if (this.#afterCR) return this.#lineEnd(byte);
    if (++this.#bytes > this.#limits.maxTrailer) {
      throw new HttpError(STATUS_CODE.RequestHeaderFieldsTooLarge, "Trailer section too large", {
        close: true,
        reason: "limit",
      });
    }
    if (byte === CR) {
      this.#afterCR = true;
      return false;
    }
    if (byte === LF || byte === 0 || byte === DEL || (byte < SP && byte !== HTAB)) {
      throw badRequest("Invalid trailer field");
    }
    if (byte === COLON && !this.#lineHasColon) {
      if (this.#lineLength === 0) throw badRequest("Invalid trailer field");
      this.#lineHasColon = true;
      if (FORBIDDEN_TRAILERS.has(foldFieldName(this.#name))) {
        throw badRequest("Trailer field that frames or routes the message");
      }
    } else if (!this.#lineHasColon) {
      if (byte === SP || byte === HTAB) throw badRequest("Invalid trailer field");
      if (this.#lineLength < MAX_CHECKED_TRAILER_NAME) {
        this.#name += String.fromCharCode(byte | (byte >= 65 && byte <= 90 ? 32 : 0));
      }
    }
    this.#lineLength++;
    return false;
  }

  /** The byte after a CR: the end of a field line, or of the section. */
  #lineEnd(byte: number): boolean {
    if (byte !== LF) throw badRequest("Bare CR in trailer");
    this.#afterCR = false;
    if (this.#lineLength === 0) return true;
    if (!this.#lineHasColon) throw badRequest("Invalid trailer field");
    if (++this.#fields > this.#limits.maxTrailerFields) {
      throw new HttpError(STATUS_CODE.RequestHeaderFieldsTooLarge, "Too many trailer fields", {
        close: true,
        reason: "limit",
      });
    }
    this.#lineLength = 0;
    this.#lineHasColon = false;
    this.#name = "";
    return false;
  }
}
