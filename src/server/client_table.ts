/**
 * Per-client-address state shared by every worker thread: open connections,
 * the rate-limit token bucket, the rejection window and the ban. It lives in
 * one SharedArrayBuffer; every operation runs under one spin lock, so each is
 * atomic as a whole (no lost updates, no check-then-act window) whichever
 * thread calls it. Critical sections are a hash and a few probes.
 * @module
 */

/** Slot fields, as Float64Array offsets within a slot. */
const F = {
  key1: 0,
  key2: 1,
  conns: 2,
  tokens: 3,
  tokensAt: 4,
  banUntil: 5,
  windowStart: 6,
  windowCount: 7,
  previousCount: 8,
  lastSeen: 9,
} as const;
const SLOT_FIELDS = 10;
/** Header fields (Float64Array offsets before the slots). */
const H = { open: 0, used: 1, poolLevel: 2, seed: 3 } as const;
const HEADER_FIELDS = 4;
const LOCK_BYTES = 8;
const PROBES = 32;

/** A token bucket: `rate` tokens per second, at most `burst` stored. */
export interface Bucket {
  rate: number;
  burst: number;
}

/** `count` rejections within `windowMs` ban for `banMs`. */
export interface Strikes {
  count: number;
  windowMs: number;
  banMs: number;
}

/** Why a connection was not admitted. */
export type Refusal = "banned" | "per-ip" | "global";

/**
 * The shared table of client addresses.
 *
 * @example
 * ```ts
 * import { ClientTable } from "./client_table.ts";
 * const table = ClientTable.create(1024);
 * table.open("127.0.0.1", { perIp: 256, global: 4096 }, Date.now()); // null: admitted
 * ```
 */
export class ClientTable {
  #lock: Int32Array;
  #data: Float64Array;
  #capacity: number;
  readonly buffer: SharedArrayBuffer;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#lock = new Int32Array(buffer, 0, 1);
    this.#data = new Float64Array(buffer, LOCK_BYTES);
    this.#capacity = (this.#data.length - HEADER_FIELDS) / SLOT_FIELDS;
  }

  /** A new table for about `capacity` addresses (rounded up to a power of two). */
  static create(capacity: number): ClientTable {
    const slots = 2 ** Math.ceil(Math.log2(Math.max(capacity, PROBES)));
    const bytes = LOCK_BYTES + (HEADER_FIELDS + slots * SLOT_FIELDS) * 8;
    const table = new ClientTable(new SharedArrayBuffer(bytes));
    // A secret hash seed: nobody can pick addresses that crowd out a victim's slot.
    table.#data[H.seed] = crypto.getRandomValues(new Uint32Array(1))[0];
    return table;
  }

  /** The same table seen from another thread. */
  static attach(buffer: SharedArrayBuffer): ClientTable {
    return new ClientTable(buffer);
  }

  /** Open connections over all threads. */
  get openConnections(): number {
    return this.#locked(() => this.#data[H.open]);
  }

  /** Addresses with state. */
  get size(): number {
    return this.#locked(() => this.#data[H.used]);
  }

  /**
   * Admits a connection from `ip` unless it is banned or over a cap; returns
   * `null` when admitted (then call {@linkcode release} when it closes).
   */
  open(ip: string, caps: { perIp: number; global: number }, now: number): Refusal | null {
    return this.#locked(() => {
      const slot = this.#slot(ip, now, true);
      const d = this.#data;
      if (slot < 0) {
        // No room for this address: fail open on per-address state, keep the global cap.
        if (d[H.open] >= caps.global) return "global";
        d[H.open]++;
        return null;
      }
      if (d[slot + F.banUntil] > now) return "banned";
      if (d[slot + F.conns] >= caps.perIp) return "per-ip";
      if (d[H.open] >= caps.global) return "global";
      d[slot + F.conns]++;
      d[H.open]++;
      return null;
    });
  }

  /** Whether `ip` is banned now. */
  banned(ip: string, now: number): boolean {
    return this.#locked(() => {
      const slot = this.#slot(ip, now, false);
      return slot >= 0 && this.#data[slot + F.banUntil] > now;
    });
  }

  /** Counts a global slot taken by a connection admitted from the queue. */
  reserveGlobal(global: number): boolean {
    return this.#locked(() => {
      if (this.#data[H.open] >= global) return false;
      this.#data[H.open]++;
      return true;
    });
  }

  /** Stores the pool status level seen by all workers; returns the one before. */
  swapPoolLevel(level: number): number {
    return this.#locked(() => {
      const previous = this.#data[H.poolLevel];
      this.#data[H.poolLevel] = level;
      return previous;
    });
  }

  /** Records that a connection from `ip` closed. */
  release(ip: string, now: number): void {
    this.#locked(() => {
      const slot = this.#slot(ip, now, false);
      if (slot >= 0 && this.#data[slot + F.conns] > 0) this.#data[slot + F.conns]--;
      if (this.#data[H.open] > 0) this.#data[H.open]--;
    });
  }

  /**
   * Takes one token from `ip`'s bucket. Returns 0 when taken, else the
   * milliseconds until the next token (a refused request takes none).
   */
  take(ip: string, bucket: Bucket, now: number): number {
    return this.#locked(() => {
      const slot = this.#slot(ip, now, true);
      if (slot < 0) return 0;
      const d = this.#data;
      const elapsed = Math.max(0, now - d[slot + F.tokensAt]);
      const tokens = Math.min(bucket.burst, d[slot + F.tokens] + (elapsed * bucket.rate) / 1000);
      d[slot + F.tokensAt] = now;
      if (tokens >= 1) {
        d[slot + F.tokens] = tokens - 1;
        return 0;
      }
      d[slot + F.tokens] = tokens;
      return Math.ceil(((1 - tokens) * 1000) / bucket.rate);
    });
  }

  /**
   * Counts a security rejection for `ip` in a sliding window (the current
   * window plus the previous one, weighted by overlap). Returns true for the
   * rejection that starts a ban; a ban clears the count.
   */
  strike(ip: string, rule: Strikes, now: number): boolean {
    return this.#locked(() => {
      const slot = this.#slot(ip, now, true);
      if (slot < 0) return false;
      const d = this.#data;
      if (d[slot + F.banUntil] > now) return false;
      let start = d[slot + F.windowStart];
      if (now - start >= rule.windowMs) {
        const windows = Math.floor((now - start) / rule.windowMs);
        d[slot + F.previousCount] = windows === 1 ? d[slot + F.windowCount] : 0;
        d[slot + F.windowCount] = 0;
        start = d[slot + F.windowStart] = start + windows * rule.windowMs;
      }
      d[slot + F.windowCount]++;
      const overlap = 1 - (now - start) / rule.windowMs;
      const count = d[slot + F.windowCount] + d[slot + F.previousCount] * overlap;
      if (count < rule.count) return false;
      d[slot + F.banUntil] = now + rule.banMs;
      d[slot + F.windowCount] = d[slot + F.previousCount] = 0;
      return true;
    });
  }

  #locked<T>(fn: () => T): T {
    while (Atomics.compareExchange(this.#lock, 0, 0, 1) !== 0) { /* spin: sections are tiny */ }
    try {
      return fn();
    } finally {
      Atomics.store(this.#lock, 0, 0);
    }
  }

  /**
   * The slot offset for `ip`, creating it when asked: in an empty slot, else
   * one idle past the eviction age, else the least recently seen one that has
   * no connection and no ban. -1 when none can be had.
   */
  #slot(ip: string, now: number, create: boolean): number {
    const [key1, key2] = _keys(ip, this.#data[H.seed]);
    const d = this.#data;
    const mask = this.#capacity - 1;
    let empty = -1;
    let oldest = -1;
    for (let probe = 0; probe < PROBES; probe++) {
      const slot = HEADER_FIELDS + ((key1 + probe) & mask) * SLOT_FIELDS;
      const seen = d[slot + F.lastSeen];
      if (d[slot + F.key1] === 0) {
        if (empty < 0) empty = slot;
      } else if (d[slot + F.key1] === key1 && d[slot + F.key2] === key2) {
        d[slot + F.lastSeen] = now;
        return slot;
      } else if (
        d[slot + F.conns] === 0 && d[slot + F.banUntil] <= now &&
        (oldest < 0 || seen < d[oldest + F.lastSeen])
      ) {
        oldest = slot;
      }
    }
    const free = empty >= 0 ? empty : oldest;
    if (!create || free < 0) return -1;
    if (free === empty) d[H.used]++;
    d.fill(0, free, free + SLOT_FIELDS);
    d[free + F.key1] = key1;
    d[free + F.key2] = key2;
    d[free + F.tokens] = Infinity;
    d[free + F.tokensAt] = now;
    d[free + F.windowStart] = now;
    d[free + F.lastSeen] = now;
    return free;
  }
}

/** Two independent 31-bit hashes of `text` (FNV-1a and djb2). */
function _keys(text: string, seed: number): [number, number] {
  let fnv = (0x811c9dc5 ^ seed) >>> 0;
  let djb = (5381 + seed) | 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    fnv = Math.imul(fnv ^ code, 0x01000193);
    djb = (Math.imul(djb, 33) + code) | 0;
  }
  return [(fnv >>> 1) + 1, (djb >>> 1) + 1];
}
