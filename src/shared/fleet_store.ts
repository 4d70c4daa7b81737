/**
 * The fleet's shared store, Redis, through `@redis/client` (loaded only when
 * `--shared-state` is given): one connection for the sync script, one for
 * the ban channel. Commands fail at once while Redis is away (no offline
 * queue) and the client reconnects by itself. Keys hold hashes of client
 * addresses, never the request's text; a ban's value and message carry the
 * address it bans, for every instance to enforce.
 * @module
 */

import { createHash } from "node:crypto";
import type { SharedStateConfig } from "../config_shared_state.ts";
import type { BanRule } from "../config_values.ts";
import { SYNC_SCRIPT } from "./fleet_script.ts";

/** One sync: what this instance did, per client. */
export interface SyncRequest {
  instance: string;
  /** Milliseconds a client's rate-limit counts live after their last change. */
  rateTtlMs: number;
  /** The ban rule, or `null` when bans are off. */
  ban: BanRule | null;
  /** Upload bytes stored through this instance, and the change since the last sync. */
  quota: { used: number; change: number; first: boolean } | null;
  clients: { key: string; tokens: number; strikes: number }[];
  bans: { key: string; until: number }[];
}

/** What the fleet did, as the store saw it. */
export interface SyncReply {
  /** Upload bytes stored by the whole fleet; -1 when not asked. */
  quotaTotal: number;
  /** Per client of the request, in order: tokens the other instances took, in all. */
  others: number[];
}

/** A ban in force: the client key and its end (ms since the epoch). */
export interface StoredBan {
  key: string;
  until: number;
}

/** What {@linkcode FleetSync} needs of a store (a fake in unit tests). */
export interface FleetStore {
  /** Connects in the background; `onBan` gets every ban published. */
  start(onBan: (ban: StoredBan) => void, onError: (error: unknown) => void): void;
  sync(request: SyncRequest): Promise<SyncReply>;
  /** Every ban in force now. */
  bans(): Promise<StoredBan[]>;
  close(): Promise<void>;
}

/** Thrown by a sync or a read while no connection to the store is up. */
export class NotConnected extends Error {
  override name = "NotConnected";

  constructor() {
    super("not connected");
  }
}

/** The key part standing for a client: 16 hex digits of a SHA-256 of its key. */
export function clientHash(key: string): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 16);
}

type RedisClient = Awaited<ReturnType<typeof _newClient>>;

/** Reconnection backoff: 100 ms more per attempt, 2 s at most. */
const RECONNECT_MAX_MS = 2000;
const CONNECT_TIMEOUT_MS = 1000;

/**
 * The store on a Redis server.
 *
 * @example
 * ```ts
 * import { RedisStore } from "./fleet_store.ts";
 * import { sharedState } from "../config_shared_state.ts";
 * const store = new RedisStore(sharedState("redis://127.0.0.1:6379", null, "bastion:")!, null);
 * store.start(() => {}, () => {});
 * await store.close();
 * ```
 */
export class RedisStore implements FleetStore {
  #config: SharedStateConfig;
  #password: string | null;
  #client: RedisClient | null = null;
  #subscriber: RedisClient | null = null;
  #closed = false;

  constructor(config: SharedStateConfig, password: string | null) {
    this.#config = config;
    this.#password = password;
  }

  start(onBan: (ban: StoredBan) => void, onError: (error: unknown) => void): void {
    this.#connect(onBan, onError).catch(onError);
  }

  async sync(request: SyncRequest): Promise<SyncReply> {
    if (this.#client === null || !this.#client.isReady) throw new NotConnected();
    const args = [
      this.#config.prefix,
      request.instance,
      String(request.rateTtlMs),
      String(request.ban?.count ?? 0),
      String(request.ban?.windowMs ?? 0),
      String(request.ban?.banMs ?? 0),
      request.quota === null ? "" : String(request.quota.used),
      String(request.quota?.change ?? 0),
      request.quota?.first ? "1" : "0",
      String(request.clients.length),
    ];
    for (const { key, tokens, strikes } of request.clients) {
      args.push(clientHash(key), key, String(tokens), String(strikes));
    }
    for (const { key, until } of request.bans) args.push(clientHash(key), key, String(until));
    const reply = await this.#client.eval(SYNC_SCRIPT, { keys: [], arguments: args });
    const [quotaTotal, others] = reply as unknown as [number, number[]];
    return { quotaTotal: Number(quotaTotal), others: others.map(Number) };
  }

  async bans(): Promise<StoredBan[]> {
    if (this.#client === null || !this.#client.isReady) throw new NotConnected();
    const found: StoredBan[] = [];
    const now = Date.now();
    for await (
      const keys of this.#client.scanIterator({ MATCH: `${this.#config.prefix}ban:*`, COUNT: 1000 })
    ) {
      for (const banKey of keys as string[]) {
        const [key, left] = await Promise.all([
          this.#client.get(banKey),
          this.#client.pTTL(banKey),
        ]);
        if (typeof key === "string" && Number(left) > 0) {
          found.push({ key, until: now + Number(left) });
        }
      }
    }
    return found;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const client of [this.#subscriber, this.#client]) {
      if (client === null) continue;
      try {
        await client.close();
      } catch {
        client.destroy?.();
      }
    }
  }

  async #connect(onBan: (ban: StoredBan) => void, onError: (error: unknown) => void) {
    const client = await _newClient(this.#config, this.#password);
    client.on("error", onError);
    this.#client = client;
    const subscriber = client.duplicate();
    subscriber.on("error", onError);
    this.#subscriber = subscriber;
    if (this.#closed) return;
    await Promise.all([client.connect(), subscriber.connect()]);
    await subscriber.subscribe(`${this.#config.prefix}bans`, (message: string) => {
      const space = message.lastIndexOf(" ");
      const until = Number(message.slice(space + 1));
      if (space > 0 && Number.isFinite(until)) onBan({ key: message.slice(0, space), until });
    });
  }
}

/**
 * A client for `config`, the package imported now: a server without
 * `--shared-state` never loads (or downloads) it.
 */
async function _newClient(config: SharedStateConfig, password: string | null) {
  const { createClient } = await import("@redis/client");
  const { host, port, tls, user, db } = config;
  const socket = {
    host,
    port,
    connectTimeout: CONNECT_TIMEOUT_MS,
    reconnectStrategy: (retries: number) => Math.min((retries + 1) * 100, RECONNECT_MAX_MS),
  };
  return createClient({
    socket: tls ? { ...socket, tls: true } : socket,
    username: user ?? undefined,
    password: password ?? undefined,
    database: db,
    disableOfflineQueue: true,
  });
}
