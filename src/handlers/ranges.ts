/**
 * Byte ranges (RFC 9110 §14): parsing `Range: bytes=…` against a size, and
 * the `multipart/byteranges` framing of several ranges.
 * @module
 */

/** One inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

/** What a Range header asks of a representation of a given size. */
export type RangeRequest =
  | { kind: "full" }
  | { kind: "unsatisfiable" }
  | { kind: "ranges"; ranges: ByteRange[] };

/** More ranges than this in one request are ignored (the whole file is sent). */
export const MAX_RANGES = 16;

/**
 * Parses a Range header for a representation of `size` bytes. A header that
 * is not a valid `bytes` range set is ignored (`full`), as RFC 9110 allows.
 *
 * @example
 * ```ts
 * import { parseRange } from "./ranges.ts";
 * parseRange("bytes=-500", 1000); // { kind: "ranges", ranges: [{ start: 500, end: 999 }] }
 * ```
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: "full" };
  const match = /^bytes[ \t]*=[ \t]*(.+)$/i.exec(header.trim());
  if (!match) return { kind: "full" };
  const specs = match[1].split(",").map((spec) => spec.trim()).filter((spec) => spec !== "");
  if (specs.length === 0 || specs.length > MAX_RANGES) return { kind: "full" };
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    const parts = /^(\d*)-(\d*)$/.exec(spec);
    if (!parts || (parts[1] === "" && parts[2] === "")) return { kind: "full" };
    const range = _resolve(parts[1], parts[2], size);
    if (range === "invalid") return { kind: "full" };
    if (range !== null) ranges.push(range);
  }
  if (ranges.length === 0) return { kind: "unsatisfiable" };
  // Ranges asking for more than the whole file (overlaps, repeats) only amplify: send it once.
  const asked = ranges.reduce((sum, { start, end }) => sum + end - start + 1, 0);
  if (ranges.length > 1 && asked > size) return { kind: "full" };
  return { kind: "ranges", ranges };
}

/** One range spec resolved against `size`: `null` when unsatisfiable. */
function _resolve(first: string, last: string, size: number): ByteRange | null | "invalid" {
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return null;
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (last !== "" && Number(last) < start) return "invalid";
  if (start >= size) return null;
  return { start, end: last === "" ? size - 1 : Math.min(Number(last), size - 1) };
}

/**
 * The parts of a `multipart/byteranges` body: for each range, the part head
 * to send before its bytes; then the closing delimiter. Lets the caller
 * compute the exact Content-Length before streaming.
 *
 * @example
 * ```ts
 * import { multipartFraming } from "./ranges.ts";
 * const framing = multipartFraming([{ start: 0, end: 1 }], 10, "text/plain", "b0undary");
 * framing.length; // the whole body's length
 * ```
 */
export function multipartFraming(
  ranges: ByteRange[],
  size: number,
  type: string,
  boundary: string,
): { heads: string[]; tail: string; length: number } {
  const heads = ranges.map(({ start, end }, index) =>
    `${index === 0 ? "" : "\r\n"}--${boundary}\r\nContent-Type: ${type}\r\n` +
    `Content-Range: bytes ${start}-${end}/${size}\r\n\r\n`
  );
  const tail = `\r\n--${boundary}--\r\n`;
  const length = heads.reduce((sum, head) => sum + head.length, 0) + tail.length +
    ranges.reduce((sum, { start, end }) => sum + end - start + 1, 0);
  return { heads, tail, length };
}
