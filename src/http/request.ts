/**
 * Gives a parsed head its meaning: method class, target form, Host, body
 * framing, persistence and Expect. Pure, like the parser: every rejection is an
 * {@linkcode HttpError} with the status `docs/protocol.md` gives it.
 * @module
 */

import { isFramingLookalike } from "./field_names.ts";
import type { RequestHead } from "./head_parser.ts";
import { badRequest, HttpError } from "./http_error.ts";
import { STATUS_CODE } from "./status.ts";

/** How the request body is framed. */
export type BodyFraming =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" };

/** A request whose head is valid HTTP/1.1; policy checks come later. */
export interface Request {
  method: string;
  /** The request-target as sent. */
  target: string;
  version: "HTTP/1.1" | "HTTP/1.0";
  fields: [string, string][];
  /** The still percent-encoded path (`*` for asterisk-form). */
  path: string;
  /** The query without `?`, or `null`. */
  query: string | null;
  /** The authority to validate: absolute-form's, else Host's; `null` if none. */
  authority: string | null;
  body: BodyFraming;
  keepAlive: boolean;
  expectContinue: boolean;
}

/** Methods bastion serves. */
export const SERVED_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "POST", "OPTIONS"]);
/** Methods bastion knows and refuses with 405. */
export const REFUSED_METHODS: ReadonlySet<string> = new Set([
  "PUT",
  "DELETE",
  "PATCH",
  "TRACE",
  "CONNECT",
]);

/**
 * Methods whose body this server gives no meaning (`docs/protocol.md`): a front proxy
 * may not agree where such a body ends, so one is refused.
 */
const BODILESS_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "DELETE"]);

/**
 * Interprets a parsed head. Throws 501 for an unknown method, 400/501 for bad
 * framing, 400 for a missing or malformed Host or target, 417 for a strange Expect.
 *
 * @example
 * ```ts
 * import { parseHead } from "./head_parser.ts";
 * import { interpretHead } from "./request.ts";
 * const bytes = new TextEncoder().encode("GET /a?b HTTP/1.1\r\nHost: x\r\n\r\n");
 * interpretHead(parseHead(bytes, 0, bytes.length)).path; // "/a"
 * ```
 */
export function interpretHead(head: RequestHead): Request {
  const { method, target, version, fields } = head;
  if (!SERVED_METHODS.has(method) && !REFUSED_METHODS.has(method)) {
    throw new HttpError(STATUS_CODE.NotImplemented, "Method not implemented", { close: true });
  }
  _refuseFramingLookalikes(fields);
  const bodiless = BODILESS_METHODS.has(method);
  if (bodiless && fieldValue(fields, "transfer-encoding") !== undefined) {
    throw badRequest("Transfer-Encoding on a request without a body");
  }
  const body = _framing(fields, version);
  if (bodiless && body.kind !== "none") throw badRequest("Body on a request without a body");
  const hosts = fieldValues(fields, "host");
  if (hosts.length > 1) throw badRequest("More than one Host");
  if (version === "HTTP/1.1" && hosts.length === 0) throw badRequest("Missing Host");
  if (hosts.length === 1 && !isValidAuthority(hosts[0])) throw badRequest("Malformed Host");
  const form = _targetForm(method, target);
  const connection = _tokens(fieldValues(fields, "connection"));
  const keepAlive = version === "HTTP/1.1"
    ? !connection.includes("close")
    : connection.includes("keep-alive") && !connection.includes("close");
  return {
    method,
    target,
    version,
    fields,
    path: form.path,
    query: form.query,
    authority: form.authority ?? hosts[0] ?? null,
    body,
    keepAlive,
    expectContinue: _expectContinue(fields, version),
  };
}

/**
 * Every value of the field `name` (lowercase) in order. Most fields asked for
 * are absent: that answer is one shared, frozen empty list, not a new one.
 *
 * @example
 * ```ts
 * import { fieldValues } from "./request.ts";
 * fieldValues([["host", "a"]], "host"); // ["a"]
 * ```
 */
export function fieldValues(fields: [string, string][], name: string): readonly string[] {
  let values: string[] | null = null;
  // Indexed, not `for (const [name, value] of fields)`: that allocates as it destructures.
  for (let i = 0; i < fields.length; i++) {
    if (fields[i][0] === name) (values ??= []).push(fields[i][1]);
  }
  return values ?? NO_VALUES;
}

const NO_VALUES: readonly string[] = Object.freeze([]);

/**
 * The first value of the field `name` (lowercase), or `undefined`.
 *
 * @example
 * ```ts
 * import { fieldValue } from "./request.ts";
 * fieldValue([["host", "a"]], "host"); // "a"
 * ```
 */
export function fieldValue(fields: [string, string][], name: string): string | undefined {
  for (let i = 0; i < fields.length; i++) if (fields[i][0] === name) return fields[i][1];
  return undefined;
}

const AUTHORITY =
  /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=]+|(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9\-._~!$&'()*+,;=])+)(?::\d{0,5})?$/;

/**
 * Whether `value` is a syntactically valid `uri-host [":" port]`, without userinfo.
 *
 * @example
 * ```ts
 * import { isValidAuthority } from "./request.ts";
 * isValidAuthority("example.com:8080"); // true
 * ```
 */
export function isValidAuthority(value: string): boolean {
  if (value === LAST_VALID_AUTHORITY.value) return true;
  if (!AUTHORITY.test(value)) return false;
  const port = /:(\d*)$/.exec(value.startsWith("[") ? value.slice(value.indexOf("]")) : value);
  const valid = !port || port[1] === "" || Number(port[1]) <= 65535;
  if (valid) LAST_VALID_AUTHORITY.value = value;
  return valid;
}

/**
 * A cache of one: the last authority found valid. Nearly every request of a
 * client repeats its Host, and validity depends on the text alone; the test
 * it saves was 1.4 % of a worker's time at 50 connections.
 */
const LAST_VALID_AUTHORITY: { value: string | null } = { value: null };

/** `Content_Length`, `Transfer--Encoding` and the like: 400, whatever their value. */
function _refuseFramingLookalikes(fields: [string, string][]): void {
  for (let i = 0; i < fields.length; i++) {
    if (isFramingLookalike(fields[i][0])) throw badRequest("Field name like a framing field");
  }
}

function _framing(fields: [string, string][], version: string): BodyFraming {
  const encodings = fieldValues(fields, "transfer-encoding");
  const lengths = fieldValues(fields, "content-length");
  if (encodings.length > 0) {
    if (version === "HTTP/1.0") throw badRequest("Transfer-Encoding in HTTP/1.0");
    if (lengths.length > 0) throw badRequest("Content-Length with Transfer-Encoding");
    const codings = encodings.join(",").split(",").map((coding) => coding.trim().toLowerCase());
    if (codings.some((coding) => !/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(coding))) {
      throw badRequest("Malformed Transfer-Encoding");
    }
    const chunked = codings.filter((coding) => coding === "chunked").length;
    if (chunked > 1 || (chunked === 1 && codings.at(-1) !== "chunked")) {
      throw badRequest("Transfer-Encoding chunked must be last and once");
    }
    if (codings.length !== 1 || chunked !== 1) {
      throw new HttpError(STATUS_CODE.NotImplemented, "Transfer coding not implemented", {
        close: true,
      });
    }
    return { kind: "chunked" };
  }
  if (lengths.length === 0) return { kind: "none" };
  if (lengths.length > 1) throw badRequest("Several Content-Length values");
  if (!/^\d+$/.test(lengths[0])) throw badRequest("Invalid Content-Length");
  const digits = lengths[0].replace(/^0+(?=\d)/, "");
  const length = digits.length > 16 ? Number.MAX_SAFE_INTEGER : Number(digits);
  return length === 0 ? { kind: "none" } : { kind: "length", length };
}

function _targetForm(method: string, target: string) {
  if (method === "CONNECT") return { path: target, query: null, authority: null };
  if (target === "*") {
    if (method !== "OPTIONS") throw badRequest("Asterisk-form is only for OPTIONS");
    return { path: "*", query: null, authority: null };
  }
  let authority: string | null = null;
  let rest = target;
  if (!target.startsWith("/")) {
    const absolute = /^https?:\/\/([^/?#]*)(.*)$/i.exec(target);
    if (!absolute || !isValidAuthority(absolute[1])) throw badRequest("Invalid request-target");
    authority = absolute[1];
    rest = absolute[2] === "" ? "/" : absolute[2];
    if (!rest.startsWith("/")) throw badRequest("Invalid request-target");
  }
  if (rest.includes("#")) throw badRequest("Fragment in request-target");
  const mark = rest.indexOf("?");
  return {
    path: mark < 0 ? rest : rest.slice(0, mark),
    query: mark < 0 ? null : rest.slice(mark + 1),
    authority,
  };
}

function _tokens(values: readonly string[]): readonly string[] {
  if (values.length === 0) return values;
  if (values.length === 1 && !values[0].includes(",")) return [values[0].trim().toLowerCase()];
  return values.join(",").split(",").map((token) => token.trim().toLowerCase());
}

function _expectContinue(fields: [string, string][], version: string): boolean {
  const expect = fieldValues(fields, "expect");
  if (expect.length === 0) return false;
  if (expect.length > 1 || expect[0].toLowerCase() !== "100-continue") {
    throw new HttpError(STATUS_CODE.ExpectationFailed, "Unsupported expectation", { close: true });
  }
  return version === "HTTP/1.1";
}
