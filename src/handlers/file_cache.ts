/**
 * A cache of resolved files for the hot path: a request path maps to its
 * checked real path, size, mtime, type, precompressed siblings and, for small
 * files, the bytes themselves. An entry is trusted for `ttlMs`; after that the
 * file is resolved again and its bytes kept only if size and mtime are
 * unchanged. While one request checks an expired entry, the others are
 * answered from it, so that an expiry does not send every waiting connection
 * to stat the file at once. Bounded in total bytes, least recently used first
 * out; the use order is a linked list through the entries, so that a hit
 * moves an entry without touching the map.
 * @module
 */

import type { Coding } from "./encoding.ts";
import type { ServedType } from "./content_types.ts";
import type { FileId } from "./open_inside.ts";

/** A regular file inside the web root, checked and typed. */
export interface ResolvedFile {
  /** Its real path. */
  path: string;
  /** The real path of the root it was checked inside (the web root, or the upload directory). */
  root: string;
  /** Its device and inode when checked: what it opens must still be that file. */
  id: FileId;
  /** Its name, for Content-Disposition. */
  name: string;
  size: number;
  mtimeMs: number;
  /** `mtimeMs` as an HTTP date, for Last-Modified (formatted once, not per response). */
  lastModified: string;
  /** The ETag of the file as it is (not encoded), made once. */
  etag: string;
  served: ServedType;
  /** Precompressed siblings (`.br`, `.gz`) not older than the file. */
  siblings: ReadonlyMap<Coding, Sibling>;
  /** The whole file, when small enough to keep in memory. */
  content: Uint8Array | null;
  /** The gzip of `content`, made once on first use. */
  gzipped: (() => Uint8Array) | null;
  /** Its response headers without content coding, once made (by `file_response.ts`). */
  readonly plainHeaders: HeaderMemo;
}

/**
 * A file's response headers, made once per Cache-Control value by whoever
 * answers for the file, and kept with its entry. The pairs are read-only:
 * every response shares them.
 *
 * @example
 * ```ts
 * import { HeaderMemo } from "./file_cache.ts";
 * const memo = new HeaderMemo();
 * memo.get("no-cache", () => [["ETag", '"1"']]); // made now
 * memo.get("no-cache", () => []); // the same pairs, kept
 * ```
 */
export class HeaderMemo {
  #cacheControl: string | null = null;
  #headers: readonly (readonly [string, string])[] = [];

  /** The headers for `cacheControl`: the kept ones, or `make()`'s, kept from now on. */
  get(
    cacheControl: string,
    make: () => readonly (readonly [string, string])[],
  ): readonly (readonly [string, string])[] {
    if (this.#cacheControl !== cacheControl) {
      this.#headers = make();
      this.#cacheControl = cacheControl;
    }
    return this.#headers;
  }
}

/** A precompressed sibling of a file: its real path, size and identity when checked. */
export interface Sibling {
  path: string;
  size: number;
  id: FileId;
}

/** Options of {@linkcode FileCache}. */
export interface FileCacheOptions {
  /** Most bytes of file content kept in all. */
  maxBytes: number;
  /** Files larger than this are resolved but never kept in memory. */
  maxFileBytes: number;
  /** How long an entry is trusted before the file is checked again. */
  ttlMs: number;
}

/** Entries kept at most, whatever their size. */
const MAX_ENTRIES = 10_000;

interface Entry {
  key: string;
  file: ResolvedFile;
  checkedAt: number;
  /** The entry used just before this one, towards the least recently used. */
  older: Entry | null;
  /** The entry used just after this one, towards the most recently used. */
  newer: Entry | null;
}

/**
 * The cache.
 *
 * @example
 * ```ts
 * import { FileCache } from "./file_cache.ts";
 * const cache = new FileCache({ maxBytes: 64 << 20, maxFileBytes: 256 << 10, ttlMs: 1000 });
 * cache.fresh("/index.html", Date.now()); // null until set
 * ```
 */
export class FileCache {
  #options: FileCacheOptions;
  #entries = new Map<string, Entry>();
  /** The ends of the use order. */
  #oldest: Entry | null = null;
  #newest: Entry | null = null;
  #bytes = 0;
  #checking = new Set<string>();

  constructor(options: FileCacheOptions) {
    this.#options = options;
  }

  /** Whether a file of `size` bytes may be kept in memory. */
  keeps(size: number): boolean {
    return size <= this.#options.maxFileBytes && size <= this.#options.maxBytes;
  }

  /** The entry for `key` if it was checked less than `ttlMs` ago. */
  fresh(key: string, now: number): ResolvedFile | null {
    const entry = this.#entries.get(key);
    if (entry === undefined || now - entry.checkedAt >= this.#options.ttlMs) return null;
    if (entry !== this.#newest) {
      this.#unlink(entry);
      this.#link(entry);
    }
    return entry.file;
  }

  /**
   * The entry for `key` if it is fresh or being checked by another request;
   * otherwise null, and the caller is now the one checking it: it calls
   * {@linkcode FileCache.checked} when done, whatever the outcome.
   */
  trusted(key: string, now: number): ResolvedFile | null {
    const file = this.fresh(key, now) ?? (this.#checking.has(key) ? this.stale(key) : null);
    if (file === null) this.#checking.add(key);
    return file;
  }

  /** Ends the check of `key` that {@linkcode FileCache.trusted} handed out. */
  checked(key: string): void {
    this.#checking.delete(key);
  }

  /** The entry for `key` however old, to reuse its bytes when the file did not change. */
  stale(key: string): ResolvedFile | null {
    return this.#entries.get(key)?.file ?? null;
  }

  /** Stores `file` as checked at `now`, evicting the least recently used past the budget. */
  set(key: string, file: ResolvedFile, now: number): void {
    this.delete(key);
    const entry: Entry = { key, file, checkedAt: now, older: null, newer: null };
    this.#entries.set(key, entry);
    this.#link(entry);
    this.#bytes += file.content?.length ?? 0;
    while (this.#bytes > this.#options.maxBytes || this.#entries.size > MAX_ENTRIES) {
      this.delete(this.#oldest!.key);
    }
  }

  /** Forgets `key`. */
  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#unlink(entry);
    this.#bytes -= entry.file.content?.length ?? 0;
  }

  /** Puts `entry` at the most recently used end. */
  #link(entry: Entry): void {
    entry.older = this.#newest;
    entry.newer = null;
    if (this.#newest !== null) this.#newest.newer = entry;
    else this.#oldest = entry;
    this.#newest = entry;
  }

  /** Takes `entry` out of the use order. */
  #unlink(entry: Entry): void {
    if (entry.older !== null) entry.older.newer = entry.newer;
    else this.#oldest = entry.newer;
    if (entry.newer !== null) entry.newer.older = entry.older;
    else this.#newest = entry.older;
    entry.older = entry.newer = null;
  }
}
