/**
 * Field names as a lenient proxy may read them: some fold `_` into `-` or
 * drop repeated and stray delimiters, so `Content_Length` or
 * `Transfer--Encoding` can become a framing field on their side while this
 * server sees an unknown one. Where the two disagree on framing, a message
 * can be smuggled; such names are refused (`docs/protocol.md`).
 * @module
 */

/** The fields whose lookalikes are refused: they frame the message. */
const FRAMING = new Set(["content-length", "transfer-encoding"]);
/** The shortest name that folds into one of them. */
const MIN_FRAMING_LENGTH = 14;

/**
 * A lowercase field name with `_` read as `-`, runs of delimiters made one,
 * and delimiters at either end dropped.
 *
 * @example
 * ```ts
 * import { foldFieldName } from "./field_names.ts";
 * foldFieldName("transfer__encoding-"); // "transfer-encoding"
 * ```
 */
export function foldFieldName(name: string): string {
  return name.replace(/[-_]+/g, "-").replace(/^-|-$/g, "");
}

/**
 * Whether a lowercase field name is not a framing field but folds into one.
 * Cheap for the names of ordinary requests: only a name with `_`, `--` or a
 * delimiter at an end is folded at all.
 *
 * @example
 * ```ts
 * import { isFramingLookalike } from "./field_names.ts";
 * isFramingLookalike("content_length"); // true
 * isFramingLookalike("content-length"); // false
 * ```
 */
export function isFramingLookalike(name: string): boolean {
  if (name.length < MIN_FRAMING_LENGTH || FRAMING.has(name)) return false;
  const last = name.charCodeAt(name.length - 1);
  const strange = name.includes("_") || name.includes("--") || name.charCodeAt(0) === 45 ||
    last === 45;
  return strange && FRAMING.has(foldFieldName(name));
}
