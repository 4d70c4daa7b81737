/**
 * The upload quota (`docs/protocol.md`): total bytes of stored uploads, reserved before a
 * file is written and given back if writing fails. The counter sits in a
 * SharedArrayBuffer so that every worker thread sees one total.
 * @module
 */

import { join } from "node:path";

const UPLOAD_NAME = /^upload_\d{8}_\d{6}_[0-9a-f]{12}\.json$/;

/**
 * A shared byte budget.
 *
 * @example
 * ```ts
 * import { UploadQuota } from "./upload_quota.ts";
 * const quota = UploadQuota.create(1024, 0);
 * quota.reserve(100); // true
 * ```
 */
export class UploadQuota {
  /** Bytes stored through this process, then bytes stored elsewhere in a fleet. */
  #cells: BigInt64Array;
  #limit: bigint;
  readonly buffer: SharedArrayBuffer;

  private constructor(buffer: SharedArrayBuffer, limit: number) {
    this.buffer = buffer;
    this.#cells = new BigInt64Array(buffer);
    this.#limit = BigInt(limit);
  }

  /** A new quota of `limit` bytes of which `used` are taken. */
  static create(limit: number, used: number): UploadQuota {
    const quota = new UploadQuota(new SharedArrayBuffer(16), limit);
    Atomics.store(quota.#cells, 0, BigInt(used));
    return quota;
  }

  /** The same quota seen from another thread. */
  static attach(buffer: SharedArrayBuffer, limit: number): UploadQuota {
    return new UploadQuota(buffer, limit);
  }

  /** Bytes in all. */
  get limit(): number {
    return Number(this.#limit);
  }

  /** Bytes in use through this process. */
  get used(): number {
    return Number(Atomics.load(this.#cells, 0));
  }

  /** Bytes a fleet's other instances use (0 alone), counted against the same limit. */
  get elsewhere(): number {
    return Number(Atomics.load(this.#cells, 1));
  }

  set elsewhere(bytes: number) {
    Atomics.store(this.#cells, 1, BigInt(Math.max(0, Math.round(bytes))));
  }

  /** Takes `bytes` from the budget; false (and nothing taken) when they do not fit. */
  reserve(bytes: number): boolean {
    const size = BigInt(bytes);
    for (;;) {
      const used = Atomics.load(this.#cells, 0);
      if (used + Atomics.load(this.#cells, 1) + size > this.#limit) return false;
      if (Atomics.compareExchange(this.#cells, 0, used, used + size) === used) return true;
    }
  }

  /** Gives `bytes` back. */
  release(bytes: number): void {
    Atomics.sub(this.#cells, 0, BigInt(bytes));
  }
}

/**
 * Total size of the stored uploads in `dir` (temporaries excluded).
 *
 * @example
 * ```ts
 * import { storedUploadBytes } from "./upload_quota.ts";
 * await storedUploadBytes(await Deno.makeTempDir()); // 0
 * ```
 */
export async function storedUploadBytes(dir: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !UPLOAD_NAME.test(entry.name)) continue;
    const info = await Deno.stat(join(dir, entry.name)).catch(() => null);
    total += info?.size ?? 0;
  }
  return total;
}
