/**
 * Per-client-address state shared by every worker thread: open connections,
 * the rate-limit token bucket, the rejection window and the ban. It lives in
 * one SharedArrayBuffer; every operation that changes it runs under one lock,
 * so each is atomic as a whole (no lost updates, no check-then-act window)
 * whichever thread calls it. Critical sections are a hash and a few probes.
 *
 * Three things are read without the lock, from Int32 cells kept by Atomics:
 * the open-connection count and the pool level (read on every connection)
 * and the end of the latest ban (read on every request: while no ban is in
 * force, nobody is banned and the lock is not taken).
 *
 * The table has a fixed size, so a flood of addresses cannot grow it. A new
 * address takes an empty slot, else the least recently seen entry without
 * connections, banned ones last (a ban given up is better than no limit for
 * the newcomer). When every candidate has connections, the address goes
 * untracked: it shares one overflow bucket with every other untracked
 * address, so the worst case is one rate limit for all of them, never none.
 * Addresses are keyed by {@linkcode clientKey}: IPv6 per /64.
 * @module
 */

import type { BanRule, RateLimit } from "../config_values.ts";
import { clientKey } from "./client_key.ts";
import { SharedLock } from "./shared_lock.ts";
import { chargeTokens, drawToken } from "./token_bucket.ts";

/** Slot fields, as Float64Array offsets within a slot (a bucket's time follows its tokens). */
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
/** Header fields (Float64Array offsets before the slots); the overflow bucket is shaped as a slot's. */
const H = { used: 0, seed: 1, createdAt: 2, overflowTokens: 3, overflowTokensAt: 4 } as const;
const HEADER_FIELDS = 5;
/** Int32 cells before the Float64 fields. */
const I = { lock: 0, open: 1, poolLevel: 2, latestBanEnd: 3 } as const;
const INT_BYTES = 16;
const PROBES = 32;
/** Eviction tiers of a slot, see `_tier`. */
const EMPTY = 0;
const IDLE = 1;
const BANNED = 2;
const NEVER = 3;

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
  #ints: Int32Array;
  #lock: SharedLock;
  #data: Float64Array;
  #capacity: number;
  readonly buffer: SharedArrayBuffer;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#ints = new Int32Array(buffer, 0, INT_BYTES / 4);
    this.#lock = new SharedLock(this.#ints, I.lock);
    this.#data = new Float64Array(buffer, INT_BYTES);
    this.#capacity = (this.#data.length - HEADER_FIELDS) / SLOT_FIELDS;
  }

  /** A new table for about `capacity` addresses (rounded up to a power of two). */
  static create(capacity: number): ClientTable {
    const slots = 2 ** Math.ceil(Math.log2(Math.max(capacity, PROBES)));
    const bytes = INT_BYTES + (HEADER_FIELDS + slots * SLOT_FIELDS) * 8;
    const table = new ClientTable(new SharedArrayBuffer(bytes));
    // A secret hash seed: nobody can pick addresses that crowd out a victim's slot.
    table.#data[H.seed] = crypto.getRandomValues(new Uint32Array(1))[0];
    table.#data[H.createdAt] = Date.now();
    table.#data[H.overflowTokens] = Infinity;
    return table;
  }

  /** The same table seen from another thread. */
  static attach(buffer: SharedArrayBuffer): ClientTable {
    return new ClientTable(buffer);
  }

  /** Open connections over all threads. */
  get openConnections(): number {
    return Atomics.load(this.#ints, I.open);
  }

  /** Addresses with state. */
  get size(): number {
    return this.#lock.run(() => this.#data[H.used]);
  }

  /**
   * Admits a connection from `ip` unless it is banned or over a cap; returns
   * `null` when admitted (then call {@linkcode release} when it closes).
   */
  open(ip: string, caps: { perIp: number; global: number }, now: number): Refusal | null {
    return this.#lock.run(() => {
      const slot = this.#slot(ip, now, true);
      const d = this.#data;
      const open = Atomics.load(this.#ints, I.open);
      if (slot < 0) {
        // Every candidate slot has connections: no per-address cap, the global one holds.
        if (open >= caps.global) return "global";
        Atomics.add(this.#ints, I.open, 1);
        return null;
      }
      if (d[slot + F.banUntil] > now) return "banned";
      if (d[slot + F.conns] >= caps.perIp) return "per-ip";
      if (open >= caps.global) return "global";
      d[slot + F.conns]++;
      Atomics.add(this.#ints, I.open, 1);
      return null;
    });
  }

  /** Whether `ip` is banned now. */
  banned(ip: string, now: number): boolean {
    const latestBanEnd = this.#data[H.createdAt] + Atomics.load(this.#ints, I.latestBanEnd) * 1000;
    if (now >= latestBanEnd) return false;
    return this.#lock.run(() => {
      const slot = this.#slot(ip, now, false);
      return slot >= 0 && this.#data[slot + F.banUntil] > now;
    });
  }

  /** Counts a global slot taken by a connection admitted from the queue. */
  reserveGlobal(global: number): boolean {
    return this.#lock.run(() => {
      if (Atomics.load(this.#ints, I.open) >= global) return false;
      Atomics.add(this.#ints, I.open, 1);
      return true;
    });
  }

  /** Stores the pool status level seen by all workers; returns the one before. */
  swapPoolLevel(level: number): number {
    return Atomics.exchange(this.#ints, I.poolLevel, level);
  }

  /** Records that a connection from `ip` closed. */
  release(ip: string, now: number): void {
    this.#lock.run(() => {
      const slot = this.#slot(ip, now, false);
      if (slot >= 0 && this.#data[slot + F.conns] > 0) this.#data[slot + F.conns]--;
      if (Atomics.load(this.#ints, I.open) > 0) Atomics.sub(this.#ints, I.open, 1);
    });
  }

  /**
   * Takes one token from `ip`'s bucket (the shared overflow bucket when `ip`
   * cannot be tracked). Returns 0 when taken, else the milliseconds until the
   * next token (a refused request takes none).
   */
  take(ip: string, bucket: RateLimit, now: number): number {
    return this.#lock.run(() => {
      const slot = this.#slot(ip, now, true);
      return drawToken(this.#data, slot < 0 ? H.overflowTokens : slot + F.tokens, bucket, now);
    });
  }

  /**
   * Counts a security rejection for `ip` in a sliding window (the current
   * window plus the previous one, weighted by overlap). Returns true for the
   * rejection that starts a ban; a ban clears the count.
   */
  strike(ip: string, rule: BanRule, now: number): boolean {
    return this.#lock.run(() => {
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
      this.#noteBanEnd(now + rule.banMs);
      return true;
    });
  }

  /**
   * Takes `count` tokens that `ip` spent elsewhere (other instances of a
   * fleet) from its bucket, which may go into debt down to minus the burst:
   * the client then waits until the fleet's use is paid back.
   */
  charge(ip: string, count: number, bucket: RateLimit, now: number): void {
    this.#lock.run(() => {
      const slot = this.#slot(ip, now, true);
      chargeTokens(this.#data, slot < 0 ? H.overflowTokens : slot + F.tokens, count, bucket, now);
    });
  }

  /** Bans `ip` until `until` (ms since the epoch), unless a longer ban is in force. */
  banUntil(ip: string, until: number, now: number): void {
    this.#lock.run(() => {
      const slot = this.#slot(ip, now, true);
      if (slot < 0 || this.#data[slot + F.banUntil] >= until) return;
      this.#data[slot + F.banUntil] = until;
      this.#noteBanEnd(until);
    });
  }

  /** Raises the end of the latest ban to `until` if it is later. */
  #noteBanEnd(until: number): void {
    // Whole seconds since the table was made, rounded up: an Int32 lasts 68 years.
    const end = Math.ceil((until - this.#data[H.createdAt]) / 1000);
    if (end > Atomics.load(this.#ints, I.latestBanEnd)) {
      Atomics.store(this.#ints, I.latestBanEnd, end);
    }
  }

  /**
   * The slot offset for `ip`'s key, creating it when asked: in an empty
   * slot, else in place of the least recently seen entry without connections,
   * banned ones last. -1 when none can be had.
   */
  #slot(ip: string, now: number, create: boolean): number {
    const [key1, key2] = _keys(clientKey(ip), this.#data[H.seed]);
    const d = this.#data;
    const mask = this.#capacity - 1;
    let free = -1;
    let freeTier = NEVER;
    for (let probe = 0; probe < PROBES; probe++) {
      const slot = HEADER_FIELDS + ((key1 + probe) & mask) * SLOT_FIELDS;
      if (d[slot + F.key1] === key1 && d[slot + F.key2] === key2) {
        d[slot + F.lastSeen] = now;
        return slot;
      }
      const tier = _tier(d, slot, now);
      if (tier === NEVER) continue;
      if (tier < freeTier || (tier === freeTier && d[slot + F.lastSeen] < d[free + F.lastSeen])) {
        free = slot;
        freeTier = tier;
      }
    }
    if (!create || free < 0) return -1;
    if (freeTier === EMPTY) d[H.used]++;
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

/**
 * How readily the entry at `slot` is given up for a new address, lower
 * first: an empty slot, an idle entry, a banned one; one with connections
 * never (its count must stay until they close).
 */
function _tier(d: Float64Array, slot: number, now: number): number {
  if (d[slot + F.key1] === 0) return EMPTY;
  if (d[slot + F.conns] > 0) return NEVER;
  return d[slot + F.banUntil] > now ? BANNED : IDLE;
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
