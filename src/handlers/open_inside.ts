/**
 * Opening a file and proving that it is the file inside the root (`docs/protocol.md`).
 * A path is checked by its name, and whoever can rename inside the web root
 * can swap a checked directory for a symlink out of it between the check and
 * the open; Deno's `--allow-read` is checked on the name too, so it does not
 * stop that. So the file is opened first, and only then proven: its device and
 * inode must be those the request resolved, and those of what its path names
 * now, re-resolved inside the root. Nothing is read from it before that.
 *
 * This narrows the race; it cannot close it. Deno has no `openat` or
 * `O_NOFOLLOW` for the directories on a path, so every check is a new walk of
 * the path, and a swapper that undoes its swap between two walks of ours can
 * still pass one (`docs/security.md`, "Defence in depth", says what that leaves).
 * @module
 */

import { HttpError } from "../http/http_error.ts";
import { STATUS_CODE } from "../http/status.ts";
import { insideRoot } from "../guard/path_safety.ts";
import { fileError } from "./file_errors.ts";

/** A file's identity: its device and inode. */
export interface FileId {
  dev: number;
  ino: number | null;
}

/** A file checked inside a root, to be opened. */
export interface FileOnDisk {
  /** Its real path, as resolved. */
  path: string;
  /** The real path of the root it must stay inside. */
  root: string;
  /** Its identity when resolved, or `null` to accept whatever the path names now. */
  id: FileId | null;
}

/**
 * Opening a file found it was not the file resolved, or not the one its path
 * names now: it was replaced, or a directory on its path was swapped. A 404,
 * not a security event, since a file replaced by a rename (a deploy) looks
 * the same; a path that now leaves the root is a 403 `traversal` instead.
 *
 * @example
 * ```ts
 * import { FileChangedError } from "./open_inside.ts";
 * new FileChangedError().status; // 404
 * ```
 */
export class FileChangedError extends HttpError {
  override name = "FileChangedError";

  constructor() {
    super(404, "File changed while being opened");
  }
}

/**
 * The identity in `info` (from `Deno.stat`, `Deno.lstat` or `FsFile.stat`).
 *
 * @example
 * ```ts
 * import { fileId } from "./open_inside.ts";
 * fileId(await Deno.stat("deno.json")).dev;
 * ```
 */
export function fileId(info: Deno.FileInfo): FileId {
  return { dev: info.dev, ino: info.ino };
}

/**
 * Opens `file` for reading and proves it is the file inside the root; 404
 * when missing or changed ({@linkcode FileChangedError}), 403 `traversal`
 * when its path now leaves the root. The caller closes what it gets.
 *
 * @example
 * ```ts
 * import { fileId, openInside } from "./open_inside.ts";
 * const root = Deno.realPathSync(".");
 * const path = `${root}/deno.json`;
 * using opened = await openInside({ path, root, id: fileId(await Deno.stat(path)) });
 * ```
 */
export async function openInside(file: FileOnDisk): Promise<Deno.FsFile> {
  let opened: Deno.FsFile;
  try {
    opened = await Deno.open(file.path, { read: true });
  } catch (error) {
    throw fileError(error);
  }
  try {
    await _prove(opened, file);
    return opened;
  } catch (error) {
    opened.close();
    throw error;
  }
}

/**
 * The whole of `file`, opened and proven by {@linkcode openInside}, or `null`
 * if it is not `size` bytes long (it changed while being read).
 *
 * @example
 * ```ts
 * import { fileId, readInside } from "./open_inside.ts";
 * const root = Deno.realPathSync(".");
 * const info = await Deno.stat(`${root}/deno.json`);
 * await readInside({ path: `${root}/deno.json`, root, id: fileId(info), size: info.size });
 * ```
 */
export async function readInside(file: FileOnDisk & { size: number }): Promise<Uint8Array | null> {
  using opened = await openInside(file);
  // One byte more than expected, to see a file that grew.
  const bytes = new Uint8Array(file.size + 1);
  let length = 0;
  for (let read: number | null = 0; read !== null && length < bytes.length;) {
    read = await opened.read(bytes.subarray(length));
    length += read ?? 0;
  }
  return length === file.size ? bytes.subarray(0, length) : null;
}

/**
 * Throws unless `opened` is the file resolved, and the one that `file.path`,
 * resolved now inside the root, names; twice, a turn of the thread pool
 * apart, so that a swap would have to be timed right twice over.
 */
async function _prove(opened: Deno.FsFile, file: FileOnDisk): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = opened.statSync();
  } catch (error) {
    _refused(error);
  }
  _proveNamed(info, file);
  _proveNamed(await opened.stat().catch(_refused), file);
}

/**
 * Throws unless `info` (the opened file's) is the file resolved and the one
 * `file.path` names now. The calls on the path are synchronous on purpose:
 * back to back, microseconds apart, so a swap must land exactly between them
 * (async, each waits for a turn of the thread pool, and a rename loop in the
 * root won that race often enough to leak). The path is resolved once more
 * after the stat, so that a swap must also be undone in that time.
 */
function _proveNamed(info: Deno.FileInfo, file: FileOnDisk): void {
  let named: Deno.FileInfo | null = null;
  try {
    const real = Deno.realPathSync(file.path);
    if (insideRoot(file.root, real)) {
      named = Deno.statSync(real);
      if (Deno.realPathSync(file.path) !== real) named = null;
    }
  } catch {
    throw new FileChangedError();
  }
  if (named === null) throw _leaves();
  if (!info.isFile || !_same(info, named) || (file.id !== null && !_same(info, file.id))) {
    throw new FileChangedError();
  }
}

/** The opened file's own stat failed: Deno refuses it (NotCapable) for a file outside `--allow-read`. */
function _refused(error: unknown): never {
  throw error instanceof Deno.errors.NotCapable ? _leaves() : new FileChangedError();
}

function _leaves(): HttpError {
  return new HttpError(STATUS_CODE.Forbidden, "Path leaves the web root", { reason: "traversal" });
}

function _same(a: FileId, b: FileId): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}
