/**
 * What one thread's admission did since the fleet last heard of it: tokens
 * taken and rejections counted per client, and bans it started. Each thread
 * keeps its own and sends it every {@linkcode FLEET_FLUSH_MS} on a
 * BroadcastChannel to the thread that syncs with the shared store
 * (`fleet_sync.ts`), so no request ever waits for the store.
 * @module
 */

import { clientKey } from "./client_key.ts";

/** How often a thread sends what it counted. */
export const FLEET_FLUSH_MS = 50;
/** Clients one batch counts at most; more are left out (the store would fall behind anyway). */
export const MAX_BATCH_CLIENTS = 50_000;
/** The channel's name. */
export const FLEET_CHANNEL = "bastion-fleet";

/** Per client key: tokens taken, rejections counted. */
export interface ClientDelta {
  tokens: number;
  strikes: number;
}

/** One thread's counts since its last flush. */
export interface FleetBatch {
  clients: [key: string, delta: ClientDelta][];
  /** Bans started here: client key, end (ms since the epoch). */
  bans: [key: string, until: number][];
}

/**
 * Adds `delta` to `key`'s counts in `counts`; a key not there yet is left
 * out once `counts` holds {@linkcode MAX_BATCH_CLIENTS}.
 *
 * @example
 * ```ts
 * import { addCounts, type ClientDelta } from "./fleet_deltas.ts";
 * const counts = new Map<string, ClientDelta>();
 * addCounts(counts, "192.0.2.7", { tokens: 2, strikes: 0 });
 * addCounts(counts, "192.0.2.7", { tokens: 1, strikes: 1 });
 * counts.get("192.0.2.7"); // { tokens: 3, strikes: 1 }
 * ```
 */
export function addCounts(counts: Map<string, ClientDelta>, key: string, delta: ClientDelta) {
  const sum = counts.get(key);
  if (sum !== undefined) {
    sum.tokens += delta.tokens;
    sum.strikes += delta.strikes;
  } else if (counts.size < MAX_BATCH_CLIENTS) {
    counts.set(key, { ...delta });
  }
}

/**
 * Counts of one thread, sent in batches.
 *
 * @example
 * ```ts
 * import { FleetDeltas } from "./fleet_deltas.ts";
 * const deltas = new FleetDeltas();
 * deltas.token("192.0.2.7");
 * deltas.drain().clients; // [["192.0.2.7", { tokens: 1, strikes: 0 }]]
 * ```
 */
export class FleetDeltas {
  #clients = new Map<string, ClientDelta>();
  #bans: [string, number][] = [];
  #channel: BroadcastChannel | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;

  /** A token taken by `ip`. */
  token(ip: string): void {
    const delta = this.#delta(ip);
    if (delta !== null) delta.tokens++;
  }

  /** A rejection counted against `ip`. */
  strike(ip: string): void {
    const delta = this.#delta(ip);
    if (delta !== null) delta.strikes++;
  }

  /** A ban of `ip` started here, until `until`. */
  ban(ip: string, until: number): void {
    this.#bans.push([clientKey(ip), until]);
  }

  /** Everything counted since the last drain, per client key, and a fresh start. */
  drain(): FleetBatch {
    const clients = new Map<string, ClientDelta>();
    for (const [ip, delta] of this.#clients) addCounts(clients, clientKey(ip), delta);
    const batch: FleetBatch = { clients: [...clients], bans: this.#bans };
    this.#clients = new Map();
    this.#bans = [];
    return batch;
  }

  /** Sends a batch on {@linkcode FLEET_CHANNEL} every {@linkcode FLEET_FLUSH_MS} while there is one. */
  startSending(): void {
    this.#channel ??= new BroadcastChannel(FLEET_CHANNEL);
    this.#timer ??= setInterval(() => this.flush(), FLEET_FLUSH_MS);
    Deno.unrefTimer(this.#timer);
  }

  /** Sends what is counted now, if anything. */
  flush(): void {
    if (this.#channel === null || (this.#clients.size === 0 && this.#bans.length === 0)) return;
    this.#channel.postMessage(this.drain());
  }

  /** Sends the last batch and stops. */
  stop(): void {
    this.flush();
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#channel?.close();
    this.#channel = null;
  }

  /** The counts of `ip` as given (keyed per client only at the drain: no work per request). */
  #delta(ip: string): ClientDelta | null {
    let delta = this.#clients.get(ip);
    if (delta === undefined) {
      if (this.#clients.size >= MAX_BATCH_CLIENTS) return null;
      delta = { tokens: 0, strikes: 0 };
      this.#clients.set(ip, delta);
    }
    return delta;
  }
}
