/**
 * `GET /healthz` and `GET /metrics` (`docs/deployment.md`).
 * @module
 */

import { HttpError } from "../http/http_error.ts";
import { STATUS_CODE } from "../http/status.ts";
import type { HttpResponse } from "../http/response.ts";
import type { Metrics } from "../shared/metrics.ts";

/** What the health and metrics endpoints report on. */
export interface Observed {
  metrics: Metrics;
  /** Open connections over all workers. */
  openConnections(): number;
  workers: number;
  /** When the process started (ms since the epoch). */
  startedAt: number;
  /** Serve /metrics to non-loopback clients too. */
  metricsPublic: boolean;
}

const encoder = new TextEncoder();

/**
 * The `/healthz` answer.
 *
 * @example
 * ```ts
 * import { healthz } from "./health.ts";
 * import type { Observed } from "./health.ts";
 * declare const observed: Observed;
 * healthz(observed); // 200 {"status":"ok","uptime_s":…,"connections":…,"workers":…}
 * ```
 */
export function healthz(observed: Observed): HttpResponse {
  const body = JSON.stringify({
    status: "ok",
    uptime_s: Math.floor((Date.now() - observed.startedAt) / 1000),
    connections: observed.openConnections(),
    workers: observed.workers,
  });
  return {
    status: 200,
    headers: [["Content-Type", "application/json"], ["Cache-Control", "no-store"]],
    body: encoder.encode(body),
  };
}

/**
 * The `/metrics` answer, for loopback clients unless `metricsPublic` (others get 404).
 *
 * @example
 * ```ts
 * import { metrics } from "./health.ts";
 * import type { Observed } from "./health.ts";
 * declare const observed: Observed;
 * metrics(observed, "127.0.0.1");
 * ```
 */
export function metrics(observed: Observed, client: string): HttpResponse {
  if (!observed.metricsPublic && !isLoopback(client)) {
    throw new HttpError(STATUS_CODE.NotFound, "Not found");
  }
  return {
    status: 200,
    headers: [
      ["Content-Type", "text/plain; version=0.0.4; charset=utf-8"],
      ["Cache-Control", "no-store"],
    ],
    body: encoder.encode(observed.metrics.render({ connectionsOpen: observed.openConnections() })),
  };
}

/**
 * Whether `address` is a loopback address (127.0.0.0/8, ::1, or IPv4-mapped loopback).
 *
 * @example
 * ```ts
 * import { isLoopback } from "./health.ts";
 * isLoopback("127.0.0.5"); // true
 * ```
 */
export function isLoopback(address: string): boolean {
  return /^(::ffff:)?127\.\d+\.\d+\.\d+$/i.test(address) || address === "::1";
}
