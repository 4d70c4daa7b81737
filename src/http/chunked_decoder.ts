/**
 * An incremental decoder for `Transfer-Encoding: chunked` (RFC 9112 §7.1):
 * a state machine over bytes that returns views of the data, checks chunk
 * extensions against their grammar and then ignores them, hands the trailers
 * to a {@linkcode TrailerSection}, and enforces the body limit.
 * @module
 */

import * as BYTES from "./bytes.ts";
import { badRequest, HttpError } from "./http_error.ts";
import { STATUS_CODE } from "./status.ts";
import { TrailerSection } from "./trailer_section.ts";

// Aliased as this module's own constants: V8 folds those in hot loops, and not
// imported bindings (measured: a byte scan 1.8 times slower through the import).
const { BACKSLASH, CR, EQUALS, HTAB, LF, QUOTE, SEMICOLON, SP, TCHAR } = BYTES;

/** Limits of {@linkcode ChunkedDecoder}. */
export interface ChunkedLimits {
  /** Most data bytes in all chunks together. */
  maxBody: number;
  /** Most bytes in the trailer section. */
  maxTrailer: number;
  /** Most trailer fields. */
  maxTrailerFields: number;
}

/** The result of one {@linkcode ChunkedDecoder.decode} call. */
export interface DecodeStep {
  /** Input bytes used. */
  consumed: number;
  /** Data found, as views into the input. */
  data: Uint8Array[];
  /** The last chunk and the trailers have been read. */
  done: boolean;
}

const State = {
  Size: 0,
  SizeLF: 2,
  Data: 3,
  DataCR: 4,
  DataLF: 5,
  /** The trailer section, read by a {@linkcode TrailerSection}. */
  Trailers: 6,
  Done: 8,
  /** Whitespace after the size: only `;` may follow (BWS before an extension). */
  SizeSpace: 9,
  /** After `;`: BWS, then an extension's name. */
  ExtBeforeName: 10,
  ExtName: 11,
  /** Whitespace after a name: `=` or the next `;` must follow. */
  ExtAfterName: 12,
  /** After `=`: BWS, then a token or a quoted string. */
  ExtBeforeValue: 13,
  ExtToken: 14,
  ExtQuoted: 15,
  ExtQuotedPair: 16,
  /** A value ended: CRLF or the next extension. */
  ExtAfterValue: 17,
  /** Whitespace after a value: only the next `;` may follow. */
  ExtTrailingSpace: 18,
} as const;
type State = typeof State[keyof typeof State];

const MAX_SIZE_DIGITS = 15;
const MAX_EXTENSION = 1024;
/** Extensions of all chunks together: keeps a small body from costing a lot of wire. */
const MAX_EXTENSION_TOTAL = 64 * 1024;

/**
 * Decodes a chunked body fed in pieces.
 *
 * @example
 * ```ts
 * import { ChunkedDecoder } from "./chunked_decoder.ts";
 * const decoder = new ChunkedDecoder({ maxBody: 1024, maxTrailer: 1024, maxTrailerFields: 10 });
 * const bytes = new TextEncoder().encode("3\r\nabc\r\n0\r\n\r\n");
 * decoder.decode(bytes, 0, bytes.length).done; // true
 * ```
 */
export class ChunkedDecoder {
  #limits: ChunkedLimits;
  #state: State = State.Size;
  #digits = 0;
  #size = 0;
  #extension = 0;
  #extensionTotal = 0;
  #total = 0;
  #trailers: TrailerSection | null = null;

  constructor(limits: ChunkedLimits) {
    this.#limits = limits;
  }

  /** Data bytes decoded so far. */
  get total(): number {
    return this.#total;
  }

  /** Whether the whole body, trailers included, has been read. */
  get done(): boolean {
    return this.#state === State.Done;
  }

  /** Decodes `buf[start, end)`; throws {@linkcode HttpError} 400 or 413. */
  decode(buf: Uint8Array, start: number, end: number): DecodeStep {
    const data: Uint8Array[] = [];
    let i = start;
    while (i < end && this.#state !== State.Done) {
      if (this.#state === State.Data) {
        const take = Math.min(this.#size, end - i);
        data.push(buf.subarray(i, i + take));
        this.#size -= take;
        i += take;
        if (this.#size === 0) this.#state = State.DataCR;
        continue;
      }
      this.#step(buf[i]);
      i++;
    }
    return { consumed: i - start, data, done: this.#state === State.Done };
  }

  #step(byte: number): void {
    switch (this.#state) {
      case State.Size:
        return this.#sizeByte(byte);
      case State.SizeSpace:
        if (byte === SEMICOLON) this.#state = State.ExtBeforeName;
        else if (byte !== SP && byte !== HTAB) throw badRequest("Invalid chunk size line");
        return this.#countExtension();
      case State.ExtBeforeName:
      case State.ExtName:
      case State.ExtAfterName:
      case State.ExtBeforeValue:
      case State.ExtToken:
      case State.ExtQuoted:
      case State.ExtQuotedPair:
      case State.ExtAfterValue:
      case State.ExtTrailingSpace:
        return this.#extensionByte(byte);
      case State.SizeLF:
        if (byte !== LF) throw badRequest("Invalid chunk size line");
        return this.#startData();
      case State.DataCR:
        if (byte !== CR) throw badRequest("Missing CRLF after chunk data");
        this.#state = State.DataLF;
        return;
      case State.DataLF:
        if (byte !== LF) throw badRequest("Missing CRLF after chunk data");
        this.#resetSize();
        return;
      case State.Trailers:
        if (this.#trailers!.byte(byte)) this.#state = State.Done;
        return;
    }
  }

  #sizeByte(byte: number): void {
    const digit = _hexValue(byte);
    if (digit >= 0) {
      if (++this.#digits > MAX_SIZE_DIGITS) throw badRequest("Chunk size too long");
      this.#size = this.#size * 16 + digit;
      return;
    }
    if (this.#digits === 0) throw badRequest(`Invalid chunk size: byte ${byte}`);
    if (byte === CR) this.#state = State.SizeLF;
    else if (byte === SEMICOLON) this.#state = State.ExtBeforeName;
    else if (byte === SP || byte === HTAB) this.#state = State.SizeSpace;
    else throw badRequest(`Invalid chunk size: byte ${byte}`);
  }

  /**
   * One byte of `*( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )`
   * (RFC 9112 §7.1.1) up to the CR; anything else is a 400.
   */
  #extensionByte(byte: number): void {
    this.#countExtension();
    const space = byte === SP || byte === HTAB;
    switch (this.#state) {
      case State.ExtBeforeName:
        if (TCHAR[byte]) this.#state = State.ExtName;
        else if (!space) throw badRequest("Invalid chunk extension");
        return;
      case State.ExtName:
        if (TCHAR[byte]) return;
        return this.#afterExtensionWord(byte, space ? State.ExtAfterName : null, true);
      case State.ExtAfterName:
        if (byte === EQUALS) this.#state = State.ExtBeforeValue;
        else if (byte === SEMICOLON) this.#state = State.ExtBeforeName;
        else if (!space) throw badRequest("Invalid chunk extension");
        return;
      case State.ExtBeforeValue:
        if (TCHAR[byte]) this.#state = State.ExtToken;
        else if (byte === QUOTE) this.#state = State.ExtQuoted;
        else if (!space) throw badRequest("Invalid chunk extension");
        return;
      case State.ExtToken:
        if (TCHAR[byte]) return;
        return this.#afterExtensionWord(byte, space ? State.ExtTrailingSpace : null, false);
      case State.ExtQuoted:
        // qdtext: HTAB, SP, VCHAR but `"` and `\`, obs-text; a CR or LF leaves it unterminated.
        if (_isControl(byte)) throw badRequest("Unterminated quoted chunk extension");
        if (byte === QUOTE) this.#state = State.ExtAfterValue;
        else if (byte === BACKSLASH) this.#state = State.ExtQuotedPair;
        return;
      case State.ExtQuotedPair:
        if (_isControl(byte)) throw badRequest("Unterminated quoted chunk extension");
        this.#state = State.ExtQuoted;
        return;
      case State.ExtAfterValue:
        return this.#afterExtensionWord(byte, space ? State.ExtTrailingSpace : null, false);
      case State.ExtTrailingSpace:
        if (byte === SEMICOLON) this.#state = State.ExtBeforeName;
        else if (!space) throw badRequest("Invalid chunk extension");
        return;
    }
  }

  /** What may follow a name or value: CR, `;`, `=` after a name, or whitespace (`spaced`). */
  #afterExtensionWord(byte: number, spaced: State | null, name: boolean): void {
    if (byte === CR) this.#state = State.SizeLF;
    else if (byte === SEMICOLON) this.#state = State.ExtBeforeName;
    else if (name && byte === EQUALS) this.#state = State.ExtBeforeValue;
    else if (spaced !== null) this.#state = spaced;
    else throw badRequest("Invalid chunk extension");
  }

  #countExtension(): void {
    if (++this.#extension > MAX_EXTENSION || ++this.#extensionTotal > MAX_EXTENSION_TOTAL) {
      throw badRequest("Chunk extension too long");
    }
  }

  #startData(): void {
    if (this.#size === 0) {
      this.#trailers = new TrailerSection(this.#limits);
      this.#state = State.Trailers;
      return;
    }
    this.#total += this.#size;
    if (this.#total > this.#limits.maxBody) {
      throw new HttpError(STATUS_CODE.ContentTooLarge, "Request body too large", {
        close: true,
        reason: "limit",
      });
    }
    this.#state = State.Data;
  }

  #resetSize(): void {
    this.#state = State.Size;
    this.#digits = this.#size = this.#extension = 0;
  }
}

/** A control character other than HTAB: nothing a quoted string may hold. */
function _isControl(byte: number): boolean {
  return (byte < SP && byte !== HTAB) || byte === 127;
}

function _hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  if (byte >= 65 && byte <= 70) return byte - 55;
  if (byte >= 97 && byte <= 102) return byte - 87;
  return -1;
}
