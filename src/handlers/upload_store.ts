/**
 * Stores uploaded documents atomically (SPEC §4): written to a dotfile
 * temporary in the same directory, flushed, hard-linked to a unique final name
 * (a link never replaces an existing file, unlike rename), then the directory
 * flushed. No reader sees a partial file, no upload overwrites another, even
 * across processes, and a 201 survives a power loss.
 * @module
 */

import { join } from "node:path";
import { HttpError } from "../http/http_error.ts";
import { randomHex, uploadName } from "./upload_name.ts";

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
      const name = await this.#linkUnique(temp);
      await _syncDirectory(this.#dir);
      return name;
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
 * Flushes `dir` itself, so that the new name survives a power loss (the file's
 * bytes were flushed before the link). Best effort: some file systems refuse
 * to sync a directory, and the upload is stored either way.
 */
async function _syncDirectory(dir: string): Promise<void> {
  let handle: Deno.FsFile | null = null;
  try {
    handle = await Deno.open(dir, { read: true });
    await handle.syncData();
  } catch {
    /* not supported here: the link stands */
  } finally {
    handle?.close();
  }
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
