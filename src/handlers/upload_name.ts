/**
 * Names of stored uploads (`docs/protocol.md`): a UTC time stamp and 48 random bits from
 * the system's CSPRNG, so names stay unique across processes sharing a directory.
 * @module
 */

/**
 * The final name of an upload stored at `time`:
 * `upload_YYYYMMDD_HHMMSS_<12 hex>.json` (UTC).
 *
 * @example
 * ```ts
 * import { uploadName } from "./upload_name.ts";
 * uploadName(new Date("2026-11-22T10:30:15Z")); // "upload_20261122_103015_<12 hex>.json"
 * ```
 */
export function uploadName(time: Date): string {
  const stamp = time.toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
  return `upload_${stamp}_${randomHex(12)}.json`;
}

/**
 * `digits` random lowercase hex digits from the system's CSPRNG.
 *
 * @example
 * ```ts
 * import { randomHex } from "./upload_name.ts";
 * randomHex(12).length; // 12
 * ```
 */
export function randomHex(digits: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(digits / 2)));
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex.slice(0, digits);
}

const STORED_NAME = /^upload_\d{8}_\d{6}_[0-9a-f]{12}\.json$/;

/**
 * Whether `name` is exactly a name {@linkcode uploadName} makes.
 *
 * @example
 * ```ts
 * import { isUploadName } from "./upload_name.ts";
 * isUploadName("upload_20261122_103015_0123456789ab.json"); // true
 * ```
 */
export function isUploadName(name: string): boolean {
  return STORED_NAME.test(name);
}
