/**
 * Admission control (`docs/security.md`): connection caps with a bounded FIFO wait queue,
 * the per-client rate limit, and bans after repeated security rejections, all
 * on the {@linkcode ClientTable} that every worker shares.
 * @module
 */

import type { BanRule, RateLimit } from "../config.ts";
import type { SecurityReason } from "../http/http_error.ts";
import { ClientTable, type Refusal } from "../shared/client_table.ts";
import type { FleetDeltas } from "../shared/fleet_deltas.ts";

/** Options of {@linkcode Admission}. */
export interface AdmissionOptions {
  table: ClientTable;
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** Connections allowed to wait for a global slot (in this worker). */
  queue: number;
  queueTimeoutMs: number;
  rateLimit: RateLimit | null;
  ban: BanRule | null;
  /** Called once when a rejection starts a ban. */
  onBan?: (ip: string) => void;
  /** In a fleet: where tokens taken, rejections and bans are counted for the others. */
  fleet?: FleetDeltas;
}

/** Security reasons that count towards a ban (`docs/security.md`). */
const STRIKE_REASONS: ReadonlySet<SecurityReason> = new Set([
  "parse",
  "traversal",
  "host",
  "auth",
  "limit",
  "timeout",
]);
const QUEUE_POLL_MS = 10;

interface Waiter {
  ip: string;
  /** From an address that is not crowding the server: waits ahead of the others. */
  first: boolean;
  resolve(refusal: Refusal | null): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Decides who gets in.
 *
 * @example
 * ```ts
 * import { Admission } from "./admission.ts";
 * import { ClientTable } from "../shared/client_table.ts";
 * const admission = new Admission({
 *   table: ClientTable.create(1024), maxConnections: 4096, maxConnectionsPerIp: 256,
 *   queue: 128, queueTimeoutMs: 5000, rateLimit: { rate: 1000, burst: 2000 }, ban: null,
 * });
 * await admission.admit("127.0.0.1"); // null: admitted
 * ```
 */
export class Admission {
  #options: AdmissionOptions;
  #waiters: Waiter[] = [];
  #poll: ReturnType<typeof setInterval> | null = null;

  constructor(options: AdmissionOptions) {
    this.#options = options;
  }

  /** Connections waiting here for a global slot. */
  get queued(): number {
    return this.#waiters.length;
  }

  /** Open connections over all workers. */
  get open(): number {
    return this.#options.table.openConnections;
  }

  /**
   * Admits a new connection from `ip`, waiting in the queue when the global
   * cap is reached. Resolves `null` when admitted, else why not. A `first`
   * connection (from an address not crowding the server) waits ahead of the
   * others and, when the queue is full, takes the place of the last of them.
   */
  admit(ip: string, first = false): Promise<Refusal | null> {
    const refusal = this.#tryOpen(ip);
    if (refusal !== "global") return Promise.resolve(refusal);
    if (this.#waiters.length >= this.#options.queue && !(first && this.#dropLastOrdinary())) {
      return Promise.resolve("global");
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        ip,
        first,
        resolve,
        timer: setTimeout(() => {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          resolve("global");
        }, this.#options.queueTimeoutMs),
      };
      const behind = first ? this.#waiters.findIndex((other) => !other.first) : -1;
      if (behind < 0) this.#waiters.push(waiter);
      else this.#waiters.splice(behind, 0, waiter);
      this.#poll ??= setInterval(() => this.#pump(), QUEUE_POLL_MS);
    });
  }

  /** Records that an admitted connection from `ip` closed, and lets a waiter in. */
  release(ip: string): void {
    this.#options.table.release(ip, Date.now());
    this.#pump();
  }

  /**
   * Takes a request token for `ip`: 0 when allowed, else the whole seconds
   * to put in `Retry-After` (at least 1).
   */
  takeToken(ip: string): number {
    const { rateLimit, table } = this.#options;
    if (rateLimit === null) return 0;
    const waitMs = table.take(ip, rateLimit, Date.now());
    if (waitMs === 0) this.#options.fleet?.token(ip);
    return waitMs === 0 ? 0 : Math.max(1, Math.ceil(waitMs / 1000));
  }

  /** Whether `ip` is banned now. */
  banned(ip: string): boolean {
    return this.#options.ban !== null && this.#options.table.banned(ip, Date.now());
  }

  /**
   * Counts a rejection with `reason` against `ip`; returns true when it
   * started a ban (reported once through `onBan`).
   */
  strike(ip: string, reason: SecurityReason): boolean {
    const { ban, table, onBan, fleet } = this.#options;
    if (ban === null || !STRIKE_REASONS.has(reason)) return false;
    const now = Date.now();
    const banned = table.strike(ip, ban, now);
    fleet?.strike(ip);
    if (banned) {
      fleet?.ban(ip, now + ban.banMs);
      onBan?.(ip);
    }
    return banned;
  }

  #tryOpen(ip: string): Refusal | null {
    const { table, maxConnections, maxConnectionsPerIp } = this.#options;
    return table.open(ip, { perIp: maxConnectionsPerIp, global: maxConnections }, Date.now());
  }

  /** Refuses the last waiter that is not `first`, to make room; false when there is none. */
  #dropLastOrdinary(): boolean {
    const last = this.#waiters.findLastIndex((waiter) => !waiter.first);
    if (last < 0) return false;
    const [dropped] = this.#waiters.splice(last, 1);
    clearTimeout(dropped.timer);
    dropped.resolve("global");
    return true;
  }

  #pump(): void {
    while (this.#waiters.length > 0) {
      const waiter = this.#waiters[0];
      const refusal = this.#tryOpen(waiter.ip);
      if (refusal === "global") break;
      this.#waiters.shift();
      clearTimeout(waiter.timer);
      waiter.resolve(refusal);
    }
    if (this.#waiters.length === 0 && this.#poll !== null) {
      clearInterval(this.#poll);
      this.#poll = null;
    }
  }
}
