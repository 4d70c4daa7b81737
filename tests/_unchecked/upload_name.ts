/**
 * TEST-ONLY stand-in for `src/handlers/upload_name.ts` whose names climb out of
 * the upload directory (`../escaped-<hex>.json`), as a naming bug would.
 * `tests/sandbox_test.ts` maps the real module to this one with an import map,
 * so that the write permission is seen stopping it on its own.
 * @module
 */

/** Lowercase hex digits from the CSPRNG, as in the real module. */
export function randomHex(digits: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(digits / 2)));
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex.slice(0, digits);
}

/** A name one directory above the upload directory. */
export function uploadName(_time: Date): string {
  return `../escaped-${randomHex(12)}.json`;
}

/** Any `.json` name counts as stored: no check, as a naming bug would have it. */
export function isUploadName(name: string): boolean {
  return name.endsWith(".json");
}
