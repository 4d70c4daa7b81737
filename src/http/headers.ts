/**
 * Header pair lists as responses carry them: read-only, since a kept file's
 * pairs are shared by every response for it, and merged into new lists.
 * @module
 */

/** A header pair list, read-only: pairs may be shared between responses. */
export type HeaderPairs = readonly (readonly [string, string])[];

/**
 * `headers` with `extra` added, as a new list: a second `Vary` merges into the
 * first. Neither list, nor any pair in it, is changed.
 *
 * @example
 * ```ts
 * import { withHeaders } from "./headers.ts";
 * withHeaders([["Vary", "Accept-Encoding"]], [["Vary", "Origin"]]);
 * // [["Vary", "Accept-Encoding, Origin"]]
 * ```
 */
export function withHeaders(headers: HeaderPairs, extra: HeaderPairs): HeaderPairs {
  const merged = [...headers];
  for (const [name, value] of extra) {
    const vary = name === "Vary" ? merged.findIndex(([existing]) => existing === "Vary") : -1;
    if (vary >= 0) merged[vary] = ["Vary", `${merged[vary][1]}, ${value}`];
    else merged.push([name, value]);
  }
  return merged;
}
