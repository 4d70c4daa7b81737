/**
 * Validates an uploaded JSON document without trusting it, as it arrives:
 * UTF-8, not empty, the JSON grammar (RFC 8259) and the nesting depth, all
 * checked piece by piece by a state machine whose only memory is one mark per
 * open array or object (at most the depth limit). So the body need never be
 * held whole, and hostile input can neither blow the stack nor exhaust memory:
 * 1 MiB of `[` is refused at the first bracket past the limit.
 * @module
 */

import { HttpError } from "../http/http_error.ts";
import { STATUS_CODE } from "../http/status.ts";

/** Where the machine is: between tokens (what may come next), or inside one. */
const VALUE = 0; // a value must come: at the start, after `:`, after `,` in an array
const VALUE_OR_CLOSE = 1; // just after `[`
const KEY_OR_CLOSE = 2; // just after `{`
const KEY = 3; // after `,` in an object
const COLON = 4; // after a key
const AFTER = 5; // after a value: `,`, the container's close, or the end
const STRING = 6;
const ESCAPE = 7; // after `\` in a string
const HEX = 8; // in the four digits of `\uXXXX`
const LITERAL = 9; // in `true`, `false` or `null`
// Numbers, -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?; the last four may end one.
const MINUS = 10;
const DOT = 11;
const E = 12;
const E_SIGN = 13;
const ZERO = 14;
const INT = 15;
const FRAC = 16;
const EXP = 17;

const ARRAY = 91; // `[`
const OBJECT = 123; // `{`
const QUOTE = 34;
const BACKSLASH = 92;
const LITERALS: Record<number, string> = { 116: "true", 102: "false", 110: "null" };

/**
 * Checks one JSON document fed in pieces: {@linkcode push} each piece as it
 * arrives (it throws {@linkcode HttpError} 400 as soon as the bytes so far
 * cannot start a valid document), then {@linkcode finish}.
 *
 * @example
 * ```ts
 * import { JsonChecker } from "./json_check.ts";
 * const checker = new JsonChecker(64);
 * checker.push(new TextEncoder().encode('{"hello": "wor'));
 * checker.push(new TextEncoder().encode('ld"}'));
 * checker.finish(); // no throw: a valid document
 * ```
 */
export class JsonChecker {
  #maxDepth: number;
  #utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  /** `ARRAY` or `OBJECT` per open container, innermost last. */
  #open: number[] = [];
  #state = VALUE;
  #isKey = false;
  /** Hex digits still due in `\uXXXX`, or bytes already matched of a literal. */
  #count = 0;
  #literal = "";
  #size = 0;

  /** A checker for documents nested at most `maxDepth` deep. */
  constructor(maxDepth: number) {
    this.#maxDepth = maxDepth;
  }

  /** Bytes pushed so far. */
  get size(): number {
    return this.#size;
  }

  /** Checks the next piece; throws 400 once the document cannot be valid. */
  push(bytes: Uint8Array): void {
    this.#size += bytes.length;
    try {
      this.#utf8.decode(bytes, { stream: true });
    } catch {
      throw _invalid("Body is not valid UTF-8");
    }
    for (let i = 0; i < bytes.length; i++) {
      if (this.#state === STRING) i = _stringEnd(bytes, i);
      if (i < bytes.length) this.#byte(bytes[i]);
    }
  }

  /** Checks that the pieces pushed make one whole document; throws 400 if not. */
  finish(): void {
    if (this.#size === 0) throw _invalid("Empty body");
    try {
      this.#utf8.decode();
    } catch {
      throw _invalid("Body is not valid UTF-8");
    }
    if (this.#state >= ZERO) this.#state = AFTER;
    if (this.#state !== AFTER || this.#open.length > 0) throw _notJson();
  }

  #byte(byte: number): void {
    switch (this.#state) {
      case STRING:
        return this.#stringByte(byte);
      case ESCAPE:
        return this.#escape(byte);
      case HEX:
        if (!_isHex(byte)) throw _notJson();
        if (--this.#count === 0) this.#state = STRING;
        return;
      case LITERAL:
        if (byte !== this.#literal.charCodeAt(this.#count++)) throw _notJson();
        if (this.#count === this.#literal.length) this.#state = AFTER;
        return;
    }
    if (this.#state >= MINUS) {
      if (this.#number(byte)) return;
      this.#state = AFTER;
    }
    this.#token(byte);
  }

  /** A byte between tokens: whitespace, punctuation, or the start of a value. */
  #token(byte: number): void {
    if (byte === 32 || byte === 10 || byte === 13 || byte === 9) return;
    const state = this.#state;
    if (state === AFTER) return this.#afterValue(byte);
    if (state === COLON) {
      if (byte !== 58) throw _notJson();
      this.#state = VALUE;
    } else if (state === KEY || state === KEY_OR_CLOSE) {
      if (byte === 125 && state === KEY_OR_CLOSE) return this.#close();
      if (byte !== QUOTE) throw _notJson();
      this.#startString(true);
    } else if (byte === 93 && state === VALUE_OR_CLOSE) {
      this.#close();
    } else {
      this.#value(byte);
    }
  }

  /** After a value: `,` or the close of the innermost container. */
  #afterValue(byte: number): void {
    const inner = this.#open.at(-1);
    if (inner === undefined) throw _notJson();
    if (byte === 44) this.#state = inner === ARRAY ? VALUE : KEY;
    else if ((byte === 93 && inner === ARRAY) || (byte === 125 && inner === OBJECT)) this.#close();
    else throw _notJson();
  }

  #value(byte: number): void {
    if (byte === QUOTE) return this.#startString(false);
    if (byte === ARRAY || byte === OBJECT) {
      if (this.#open.length >= this.#maxDepth) {
        throw _invalid(`JSON nested deeper than ${this.#maxDepth}`);
      }
      this.#open.push(byte);
      this.#state = byte === ARRAY ? VALUE_OR_CLOSE : KEY_OR_CLOSE;
    } else if (byte === 45) {
      this.#state = MINUS;
    } else if (_isDigit(byte)) {
      this.#state = byte === 48 ? ZERO : INT;
    } else if (LITERALS[byte] !== undefined) {
      [this.#state, this.#literal, this.#count] = [LITERAL, LITERALS[byte], 1];
    } else {
      throw _notJson();
    }
  }

  /** One byte in a number: true when it belongs to it, false when it ends it. */
  #number(byte: number): boolean {
    const digit = _isDigit(byte);
    const state = this.#state;
    if (state === MINUS || state === DOT || state === E_SIGN) {
      if (!digit) throw _notJson();
      this.#state = state === MINUS ? (byte === 48 ? ZERO : INT) : state === DOT ? FRAC : EXP;
    } else if (state === E) {
      if (!digit && byte !== 43 && byte !== 45) throw _notJson();
      this.#state = digit ? EXP : E_SIGN;
    } else if (digit && state !== ZERO) {
      // INT, FRAC and EXP take more digits.
    } else if (byte === 46 && (state === ZERO || state === INT)) {
      this.#state = DOT;
    } else if ((byte === 101 || byte === 69) && state !== EXP) {
      this.#state = E;
    } else {
      return false;
    }
    return true;
  }

  #startString(isKey: boolean): void {
    this.#state = STRING;
    this.#isKey = isKey;
  }

  /** The byte that stopped {@linkcode _stringEnd}: `"`, `\` or a control character. */
  #stringByte(byte: number): void {
    if (byte === QUOTE) this.#state = this.#isKey ? COLON : AFTER;
    else if (byte === BACKSLASH) this.#state = ESCAPE;
    else throw _notJson();
  }

  #escape(byte: number): void {
    if (byte === 117) {
      [this.#state, this.#count] = [HEX, 4];
    } else if ('"\\/bfnrt'.includes(String.fromCharCode(byte))) {
      this.#state = STRING;
    } else {
      throw _notJson();
    }
  }

  #close(): void {
    this.#open.pop();
    this.#state = AFTER;
  }
}

/**
 * Throws {@linkcode HttpError} 400 unless `bytes` is a non-empty UTF-8 JSON
 * document nested at most `maxDepth` deep.
 *
 * @example
 * ```ts
 * import { validateJson } from "./json_check.ts";
 * validateJson(new TextEncoder().encode('{"hello":"world"}'), 64);
 * ```
 */
export function validateJson(bytes: Uint8Array, maxDepth: number): void {
  const checker = new JsonChecker(maxDepth);
  checker.push(bytes);
  checker.finish();
}

/** The index of the first byte from `i` on that ends a string's plain run. */
function _stringEnd(bytes: Uint8Array, i: number): number {
  while (i < bytes.length) {
    const byte = bytes[i];
    if (byte === QUOTE || byte === BACKSLASH || byte < 0x20) return i;
    i++;
  }
  return i;
}

function _isDigit(byte: number): boolean {
  return byte >= 48 && byte <= 57;
}

function _isHex(byte: number): boolean {
  return _isDigit(byte) || (byte >= 97 && byte <= 102) || (byte >= 65 && byte <= 70);
}

function _invalid(message: string): HttpError {
  return new HttpError(STATUS_CODE.BadRequest, message);
}

function _notJson(): HttpError {
  return _invalid("Body is not valid JSON");
}
