/**
 * The state every worker shares, in one place: the client table (caps, rate
 * limits, bans), the metrics, and the upload quota, each over a
 * SharedArrayBuffer that the main thread creates and each worker attaches to.
 * @module
 */

import type { Config } from "../config.ts";
import { ClientTable } from "./client_table.ts";
import { Metrics } from "./metrics.ts";
import { UploadQuota } from "./upload_quota.ts";

/** The state shared by every worker. */
export interface SharedState {
  readonly quota: UploadQuota;
  readonly clients: ClientTable;
  readonly metrics: Metrics;
}

/** The buffers behind a {@linkcode SharedState}, as sent to a worker. */
export interface SharedBuffers {
  readonly quota: SharedArrayBuffer;
  readonly clients: SharedArrayBuffer;
  readonly metrics: SharedArrayBuffer;
}

/** Client table slots: room for four times the connection cap, 16 384 at least. */
function _tableSlots(config: Pick<Config, "maxConnections">): number {
  return Math.max(16_384, 4 * config.maxConnections);
}

/**
 * New shared state for a process whose uploads already hold `uploadBytes`.
 *
 * @example
 * ```ts
 * import { createShared } from "./shared_state.ts";
 * const shared = createShared({ maxConnections: 4096, uploadQuota: 1 << 30 }, 0);
 * shared.clients.openConnections; // 0
 * ```
 */
export function createShared(
  config: Pick<Config, "maxConnections" | "uploadQuota">,
  uploadBytes: number,
): SharedState {
  return {
    quota: UploadQuota.create(config.uploadQuota, uploadBytes),
    clients: ClientTable.create(_tableSlots(config)),
    metrics: Metrics.create(),
  };
}

/**
 * The buffers of `shared`, to send to a worker.
 *
 * @example
 * ```ts
 * import { createShared, sharedBuffers } from "./shared_state.ts";
 * sharedBuffers(createShared({ maxConnections: 64, uploadQuota: 1024 }, 0)).quota.byteLength > 0; // true
 * ```
 */
export function sharedBuffers(shared: SharedState): SharedBuffers {
  return {
    quota: shared.quota.buffer,
    clients: shared.clients.buffer,
    metrics: shared.metrics.buffer,
  };
}

/**
 * The state behind `buffers`, in a worker.
 *
 * @example
 * ```ts
 * import { attachShared, createShared, sharedBuffers } from "./shared_state.ts";
 * const config = { maxConnections: 64, uploadQuota: 1024 };
 * attachShared(sharedBuffers(createShared(config, 0)), config).quota.used; // 0
 * ```
 */
export function attachShared(
  buffers: SharedBuffers,
  config: Pick<Config, "uploadQuota">,
): SharedState {
  return {
    quota: UploadQuota.attach(buffers.quota, config.uploadQuota),
    clients: ClientTable.attach(buffers.clients),
    metrics: Metrics.attach(buffers.metrics),
  };
}
