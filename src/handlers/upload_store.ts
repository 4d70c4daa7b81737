/**
 * Stores uploaded documents atomically (`docs/protocol.md`): streamed to a dotfile
 * temporary in the same directory as they arrive (never held whole in
 * memory), flushed, hard-linked to a unique final name (a link never replaces
 * an existing file, unlike rename), then the directory flushed. No reader sees
 * a partial file, no upload overwrites another, even across processes, and a
 * 201 survives a power loss. A body that fails (cut short, refused by its
 * check, disk full) takes its temporary with it.
 * @module
 */

import { join } from "node:path";
import { HttpError } from "../http/http_error.ts";
import { STATUS_CODE } from "../http/status.ts";
import { randomHex, uploadName } from "./upload_name.ts";

/** Temporary files older than this are left-overs of a crash. */
export const STALE_TEMP_MS = 60 * 60 * 1000;
const TEMP_PATTERN = /^\.upload-[0-9a-f]+\.tmp$/;
const FILE_MODE = 0o640;
const NAME_ATTEMPTS = 8;
/**
 * Small pieces (a read buffer's worth) are gathered up to this many bytes
 * before a write: one write per piece would be thousands of writes for a
 * large body; a larger batch would cost every upload in flight more memory.
 */
const WRITE_BATCH = 16 * 1024;

/**
 * A body that arrives in pieces, as `BodyReader` gives it: each piece valid
 * until the next call, `null` at the end.
 */
export interface BodyPieces {
  next(): Promise<Uint8Array | null>;
}

/** Sees each piece before it is written, then the end of the body; throws to refuse it. */
export interface PieceCheck {
  push(piece: Uint8Array): void;
  finish(): void;
}

/** A body complete and checked in its temporary file: not yet visible. */
export interface Received {
  readonly temp: string;
  readonly size: number;
}

/**
 * Writes uploads into one directory.
 *
 * @example
 * ```ts
 * import { UploadStore } from "./upload_store.ts";
 * const store = new UploadStore(await Deno.makeTempDir());
 * await store.save(new TextEncoder().encode("{}")); // "upload_20261122_103015_9f2c0a1b2c3d.json"
 *
 * // A body in pieces, as it arrives:
 * const pieces = [new TextEncoder().encode("[1, "), new TextEncoder().encode("2]")];
 * const received = await store.receive({ next: () => Promise.resolve(pieces.shift() ?? null) });
 * await store.publish(received); // "upload_20261122_103015_0a1b2c3d4e5f.json"
 * ```
 */
export class UploadStore {
  #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Stores `bytes` and returns the final file name; throws 507 when the disk is full. */
  async save(bytes: Uint8Array): Promise<string> {
    return await this.publish(await this.receive(_once(bytes)));
  }

  /**
   * Streams `body` into a new temporary file, each piece shown to `check`
   * first, and flushes it. Throws what the body or the check throws (507 when
   * the disk is full), with the temporary removed.
   */
  async receive(body: BodyPieces, check: PieceCheck = NO_CHECK): Promise<Received> {
    const temp = join(this.#dir, `.upload-${randomHex(16)}.tmp`);
    try {
      const size = await _writeTemp(temp, body, check);
      await Deno.chmod(temp, FILE_MODE);
      return { temp, size };
    } catch (error) {
      await Deno.remove(temp).catch(() => {});
      throw _storageError(error);
    }
  }

  /**
   * Makes a received body visible under a unique final name, which it
   * returns; the temporary goes either way.
   */
  async publish(received: Received): Promise<string> {
    try {
      const name = await this.#linkUnique(received.temp);
      await _syncDirectory(this.#dir);
      return name;
    } catch (error) {
      throw _storageError(error);
    } finally {
      await this.discard(received);
    }
  }

  /** Removes a received body's temporary (once published, only its spare link). */
  async discard(received: Received): Promise<void> {
    await Deno.remove(received.temp).catch(() => {});
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

const NO_CHECK: PieceCheck = { push() {}, finish() {} };

/** `bytes` as a body of one piece. */
function _once(bytes: Uint8Array): BodyPieces {
  let given = false;
  return { next: () => Promise.resolve(given ? null : (given = true, bytes)) };
}

/** Writes `body` into a new file at `path`, in batches of small pieces; returns its size. */
async function _writeTemp(path: string, body: BodyPieces, check: PieceCheck): Promise<number> {
  const file = await Deno.open(path, { write: true, createNew: true, mode: FILE_MODE });
  try {
    const batch = new _Batch(file);
    let size = 0;
    for (let piece = await body.next(); piece !== null; piece = await body.next()) {
      check.push(piece);
      size += piece.length;
      await batch.add(piece);
    }
    check.finish();
    await batch.flush();
    await file.syncData();
    return size;
  } finally {
    file.close();
  }
}

/** Gathers small pieces into one buffer before writing them. */
class _Batch {
  #file: Deno.FsFile;
  #bytes: Uint8Array | null = null;
  #used = 0;

  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** Takes `piece` (written or copied before this returns: the caller may reuse it). */
  async add(piece: Uint8Array): Promise<void> {
    if (this.#used + piece.length > WRITE_BATCH) await this.flush();
    if (piece.length >= WRITE_BATCH) return await _writeAll(this.#file, piece);
    this.#bytes ??= new Uint8Array(WRITE_BATCH);
    this.#bytes.set(piece, this.#used);
    this.#used += piece.length;
  }

  async flush(): Promise<void> {
    if (this.#used === 0) return;
    await _writeAll(this.#file, this.#bytes!.subarray(0, this.#used));
    this.#used = 0;
  }
}

async function _writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await file.write(bytes.subarray(offset));
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
    return new HttpError(STATUS_CODE.InsufficientStorage, "Not enough storage for the upload");
  }
  return error;
}
