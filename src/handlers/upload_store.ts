/**
 * Stores uploaded documents atomically (SPEC §4): written to a dotfile
 * temporary in the same directory, flushed, then hard-linked to a unique final
 * name (a link never replaces an existing file, unlike rename), so no reader
 * sees a partial file and no upload overwrites another, even across processes.
 * @module
 */

import { join } from "node:path";
import { HttpError } from "../http/http_error.ts";

/** Temporary files older than this are left-overs of a crash. */
export const STALE_TEMP_MS = 60 * 60 * 1000;
const TEMP_PATTERN = /^\.upload-[0-9a-f]+\.tmp$/;
const FILE_MODE = 0o640;
const NAME_ATTEMPTS = 8;

/**
 * Writes uploads into one directory.
 *
 * @example
 * ```ts
 * import { UploadStore } from "./upload_store.ts";
 * const store = new UploadStore(await Deno.makeTempDir());
 * await store.save(new TextEncoder().encode("{}")); // "upload_20261122_103015_9f2c0a1b2c3d.json"
 * ```
 */
export class UploadStore {
  #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Stores `bytes` and returns the final file name; throws 507 when the disk is full. */
  async save(bytes: Uint8Array): Promise<string> {
    const temp = join(this.#dir, `.upload-${randomHex(16)}.tmp`);
    try {
      await this.#writeTemp(temp, bytes);
      return await this.#linkUnique(temp);
    } catch (error) {
      throw _storageError(error);
    } finally {
      await Deno.remove(temp).catch(() => {});
    }
  }

  /** Removes temporary files older than {@linkcode STALE_TEMP_MS}; returns how many. */
  async removeStaleTemps(now: number = Date.now()): Promise<number> {
    let removed = 0;
    for await (const entry of Deno.readDir(this.#dir)) {
      if (!entry.isFile || !TEMP_PATTERN.test(entry.name)) continue;
      const path = join(this.#dir, entry.name);
      const info = await Deno.stat(path).catch(() => null);
      if (info?.mtime && now - info.mtime.getTime() > STALE_TEMP_MS) {
        await Deno.remove(path).then(() => removed++, () => {});
      }
    }
    return removed;
  }

  async #writeTemp(path: string, bytes: Uint8Array): Promise<void> {
    const file = await Deno.open(path, { write: true, createNew: true, mode: FILE_MODE });
    try {
      let offset = 0;
      while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.chmod(path, FILE_MODE);
  }

  async #linkUnique(temp: string): Promise<string> {
    for (let attempt = 0; attempt < NAME_ATTEMPTS; attempt++) {
      const name = uploadName(new Date());
      try {
        await Deno.link(temp, join(this.#dir, name));
        return name;
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      }
    }
    throw new Error("No unique upload name found");
  }
}

/**
 * The final name of an upload stored at `time`:
 * `upload_YYYYMMDD_HHMMSS_<12 hex>.json` (UTC).
 *
 * @example
 * ```ts
 * import { uploadName } from "./upload_store.ts";
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
 * import { randomHex } from "./upload_store.ts";
 * randomHex(12).length; // 12
 * ```
 */
export function randomHex(digits: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(digits / 2)));
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex.slice(0, digits);
}

function _storageError(error: unknown): unknown {
  if (error instanceof HttpError) return error;
  const code = (error as { code?: string }).code;
  const message = String((error as Error)?.message ?? "");
  if (code === "ENOSPC" || code === "EDQUOT" || /No space left|quota exceeded/i.test(message)) {
    return new HttpError(507, "Not enough storage for the upload");
  }
  return error;
}
