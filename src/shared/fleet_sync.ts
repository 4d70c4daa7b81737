/**
 * A fleet's shared state (`docs/deployment.md`, "A fleet"): every
 * {@linkcode SYNC_MS}, the main thread sends what this instance's threads
 * counted (`fleet_deltas.ts`) to the store in one atomic script and applies
 * what the other instances did: the tokens they took from each client's
 * rate limit are taken here too, bans arrive on the store's channel, and the
 * upload quota counts the bytes stored elsewhere. Requests never wait for
 * the store: when it is away, bastion serves on its local state, logs one
 * warning, keeps what it counted, and sends it when the store is back.
 * @module
 */

import type { BanRule, RateLimit } from "../config_values.ts";
import type { SharedStateConfig } from "../config_shared_state.ts";
import { shownSharedState } from "../config_shared_state.ts";
import type { Logger } from "../log.ts";
import type { ClientTable } from "./client_table.ts";
import { addCounts, type ClientDelta, FLEET_CHANNEL, type FleetBatch } from "./fleet_deltas.ts";
import {
  type FleetStore,
  NotConnected,
  RedisStore,
  type StoredBan,
  type SyncRequest,
} from "./fleet_store.ts";
import type { UploadQuota } from "./upload_quota.ts";

/** How often the instance syncs with the store. */
export const SYNC_MS = 100;
/** A sync that takes longer counts as a failure (the store is slow or away). */
export const SYNC_TIMEOUT_MS = 1000;
/** How long the first connection may take before a failed sync is warned about. */
const FIRST_CONNECT_MS = 2000;
/** Clients whose totals are remembered between syncs, at most. */
const MAX_REMEMBERED = 200_000;

/** Options of {@linkcode FleetSync}. */
export interface FleetSyncOptions {
  store: FleetStore;
  /** Shown in log lines. */
  name: string;
  table: ClientTable;
  /** `null` when the instance takes no uploads. */
  quota: UploadQuota | null;
  rateLimit: RateLimit | null;
  ban: BanRule | null;
  log: Logger;
  /** @default SYNC_MS */
  intervalMs?: number;
}

/**
 * Syncs one instance with its fleet.
 *
 * @example
 * ```ts
 * import { FleetSync } from "./fleet_sync.ts";
 * import type { FleetSyncOptions } from "./fleet_sync.ts";
 * declare const options: FleetSyncOptions;
 * const fleet = new FleetSync(options);
 * fleet.start();
 * await fleet.stop();
 * ```
 */
export class FleetSync {
  readonly instance = crypto.randomUUID().slice(0, 13);
  #options: FleetSyncOptions;
  #pending = new Map<string, ClientDelta>();
  #pendingBans: [string, number][] = [];
  /** Per client: the tokens the other instances had taken in all, at the last sync. */
  #others = new Map<string, number>();
  /** Upload bytes reported at the last sync; `null` before the first. */
  #reported: number | null = null;
  /** Whether the store answered the last sync; `null` before the first. */
  #up: boolean | null = null;
  #busy: Promise<void> | null = null;
  #channel: BroadcastChannel | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #startedAt = Date.now();

  constructor(options: FleetSyncOptions) {
    this.#options = options;
  }

  /** Listens to this instance's threads, connects, and syncs every interval. */
  start(): void {
    this.#startedAt = Date.now();
    this.#channel = new BroadcastChannel(FLEET_CHANNEL);
    this.#channel.onmessage = (event: MessageEvent<FleetBatch>) => this.add(event.data);
    this.#options.store.start((ban) => this.#ban(ban), (error) => this.#down(error));
    this.#timer = setInterval(() => this.syncNow(), this.#options.intervalMs ?? SYNC_MS);
  }

  /** Adds a thread's counts to the next sync. */
  add(batch: FleetBatch): void {
    for (const [key, delta] of batch.clients) addCounts(this.#pending, key, delta);
    this.#pendingBans.push(...batch.bans);
  }

  /** Syncs now unless a sync is under way (then that one's promise). */
  syncNow(): Promise<void> {
    this.#busy ??= this.#sync().finally(() => this.#busy = null);
    return this.#busy;
  }

  /** A last sync, then closes the store. */
  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#channel?.close();
    await this.syncNow();
    await this.#options.store.close();
  }

  async #sync(): Promise<void> {
    const taken: FleetBatch = { clients: [...this.#pending], bans: this.#pendingBans };
    this.#pending = new Map();
    this.#pendingBans = [];
    const { quota, rateLimit, ban } = this.#options;
    const used = quota?.used ?? 0;
    const request: SyncRequest = {
      instance: this.instance,
      rateTtlMs: rateLimit === null
        ? 10_000
        : Math.max(10_000, (2000 * rateLimit.burst) / rateLimit.rate),
      ban,
      quota: quota === null
        ? null
        : { used, change: used - (this.#reported ?? used), first: this.#reported === null },
      clients: taken.clients.map(([key, { tokens, strikes }]) => ({ key, tokens, strikes })),
      bans: taken.bans.map(([key, until]) => ({ key, until })),
    };
    try {
      const reply = await _within(this.#options.store.sync(request), SYNC_TIMEOUT_MS);
      if (quota !== null) {
        this.#reported = used;
        if (reply.quotaTotal >= 0) quota.elsewhere = reply.quotaTotal - used;
      }
      this.#charge(taken.clients.map(([key]) => key), reply.others);
      await this.#reachable();
    } catch (error) {
      // Kept for the next sync: counts are only lost if the store never comes back.
      this.add(taken);
      const connecting = this.#up === null && error instanceof NotConnected &&
        Date.now() - this.#startedAt < FIRST_CONNECT_MS;
      if (!connecting) this.#down(error);
    }
  }

  /** Takes from each client's bucket what the other instances took since the last sync. */
  #charge(keys: string[], totals: number[]): void {
    const { table, rateLimit } = this.#options;
    const now = Date.now();
    keys.forEach((key, i) => {
      const total = totals[i];
      const last = this.#others.get(key);
      // A client first seen here starts from what the others took by now.
      if (last !== undefined && total > last && rateLimit !== null) {
        table.charge(key, total - last, rateLimit, now);
      }
      this.#others.delete(key);
      this.#others.set(key, total);
    });
    // Oldest first: the map keeps insertion order, and each sync moves its clients to the end.
    for (const key of this.#others.keys()) {
      if (this.#others.size <= MAX_REMEMBERED) break;
      this.#others.delete(key);
    }
  }

  #ban({ key, until }: StoredBan): void {
    if (this.#options.ban !== null) this.#options.table.banUntil(key, until, Date.now());
  }

  async #reachable(): Promise<void> {
    if (this.#up === true) return;
    const first = this.#up === null;
    this.#up = true;
    // Bans set while this instance was away (or before it started) are in force here too.
    let bans: StoredBan[] = [];
    try {
      bans = await this.#options.store.bans();
      for (const ban of bans) this.#ban(ban);
    } catch { /* the next reconnect loads them */ }
    const line = first ? "shared state connected" : "shared state reachable again, re-synced";
    this.#options.log.info(line, { store: this.#options.name, bans: bans.length });
  }

  #down(error: unknown): void {
    if (this.#up === false) return;
    this.#up = false;
    this.#options.log.warn("shared state unreachable: serving on local state", {
      store: this.#options.name,
      error: String(error),
    });
  }
}

/**
 * Starts the fleet sync for `--shared-state`, with its password (or `null`).
 *
 * @example
 * ```ts
 * import { startFleet } from "./fleet_sync.ts";
 * import type { FleetSyncOptions } from "./fleet_sync.ts";
 * import type { SharedStateConfig } from "../config_shared_state.ts";
 * declare const config: SharedStateConfig, options: Omit<FleetSyncOptions, "store" | "name">;
 * const fleet = startFleet(config, null, options);
 * await fleet.stop();
 * ```
 */
export function startFleet(
  config: SharedStateConfig,
  password: string | null,
  options: Omit<FleetSyncOptions, "store" | "name">,
): FleetSync {
  const fleet = new FleetSync({
    ...options,
    store: new RedisStore(config, password),
    name: shownSharedState(config),
  });
  fleet.start();
  return fleet;
}

function _within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
