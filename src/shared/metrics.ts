/**
 * Counters for `/metrics` (`docs/deployment.md`), kept in a SharedArrayBuffer so that all
 * workers add to one set (Atomics.add, no double counting), and rendered in
 * the Prometheus text exposition format 0.0.4.
 * @module
 */

import { SECURITY_REASONS } from "../http/http_error.ts";
import { STATUS_TEXT } from "../http/status.ts";

const METHODS = ["GET", "HEAD", "POST", "OPTIONS", "OTHER"] as const;
const STATUSES = Object.keys(STATUS_TEXT).map(Number);
/** Reasons a request or connection was refused. */
export const REJECTION_REASONS = [...SECURITY_REASONS, "busy"] as const;
/** Histogram bucket bounds in seconds. */
const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const OFFSET = {
  requests: 0,
  bytes: METHODS.length * STATUSES.length,
  connections: METHODS.length * STATUSES.length + 1,
  uploads: METHODS.length * STATUSES.length + 2,
  rejections: METHODS.length * STATUSES.length + 3,
  buckets: METHODS.length * STATUSES.length + 3 + REJECTION_REASONS.length,
};
const DURATION_SUM = OFFSET.buckets + BUCKETS.length + 1;
const DURATION_COUNT = DURATION_SUM + 1;
const SLOTS = DURATION_COUNT + 1;

/**
 * Shared counters.
 *
 * @example
 * ```ts
 * import { Metrics } from "./metrics.ts";
 * const metrics = Metrics.create();
 * metrics.request("GET", 200, 2048, 1.5);
 * metrics.render({ connectionsOpen: 1 }).includes("bastion_requests_total"); // true
 * ```
 */
export class Metrics {
  #counts: BigInt64Array;
  readonly buffer: SharedArrayBuffer;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#counts = new BigInt64Array(buffer);
  }

  /** A new, zeroed set of counters. */
  static create(): Metrics {
    return new Metrics(new SharedArrayBuffer(SLOTS * 8));
  }

  /** The same counters seen from another thread. */
  static attach(buffer: SharedArrayBuffer): Metrics {
    return new Metrics(buffer);
  }

  /** Counts one answered request. */
  request(method: string, status: number, bytes: number, durationMs: number): void {
    const m = METHODS.indexOf(method as typeof METHODS[number]);
    const s = STATUSES.indexOf(status);
    if (s >= 0) {
      Atomics.add(this.#counts, (m < 0 ? METHODS.length - 1 : m) * STATUSES.length + s, 1n);
    }
    Atomics.add(this.#counts, OFFSET.bytes, BigInt(bytes));
    const seconds = durationMs / 1000;
    const bucket = BUCKETS.findIndex((bound) => seconds <= bound);
    Atomics.add(this.#counts, OFFSET.buckets + (bucket < 0 ? BUCKETS.length : bucket), 1n);
    Atomics.add(this.#counts, DURATION_SUM, BigInt(Math.round(durationMs * 1000)));
    Atomics.add(this.#counts, DURATION_COUNT, 1n);
  }

  /** Counts one accepted connection. */
  connection(): void {
    Atomics.add(this.#counts, OFFSET.connections, 1n);
  }

  /** Counts one stored upload. */
  upload(): void {
    Atomics.add(this.#counts, OFFSET.uploads, 1n);
  }

  /** Counts one refusal for `reason`. */
  rejection(reason: typeof REJECTION_REASONS[number]): void {
    Atomics.add(this.#counts, OFFSET.rejections + REJECTION_REASONS.indexOf(reason), 1n);
  }

  /** The exposition text, with the open-connections gauge given by the caller. */
  render(gauges: { connectionsOpen: number }): string {
    const c = (i: number) => Atomics.load(this.#counts, i).toString();
    const lines = [
      "# HELP bastion_requests_total Requests answered, by method and status.",
      "# TYPE bastion_requests_total counter",
    ];
    METHODS.forEach((method, m) =>
      STATUSES.forEach((status, s) => {
        const value = c(m * STATUSES.length + s);
        if (value !== "0") {
          lines.push(`bastion_requests_total{method="${method}",status="${status}"} ${value}`);
        }
      })
    );
    lines.push(
      ..._single("response_bytes_total", "counter", "Response body bytes sent.", c(OFFSET.bytes)),
      ..._single(
        "connections_open",
        "gauge",
        "Open connections over all workers.",
        String(gauges.connectionsOpen),
      ),
      ..._single("connections_total", "counter", "Connections accepted.", c(OFFSET.connections)),
      "# HELP bastion_rejections_total Requests and connections refused, by reason.",
      "# TYPE bastion_rejections_total counter",
      ...REJECTION_REASONS.map((reason, r) =>
        `bastion_rejections_total{reason="${reason}"} ${c(OFFSET.rejections + r)}`
      ),
      ..._single("uploads_total", "counter", "Uploads stored.", c(OFFSET.uploads)),
      ...this.#histogram(c),
    );
    return lines.join("\n") + "\n";
  }

  #histogram(c: (i: number) => string): string[] {
    const name = "bastion_request_duration_seconds";
    const lines = [
      `# HELP ${name} Time from a complete head to the end of the response.`,
      `# TYPE ${name} histogram`,
    ];
    let cumulative = 0n;
    [...BUCKETS, Infinity].forEach((bound, i) => {
      cumulative += Atomics.load(this.#counts, OFFSET.buckets + i);
      lines.push(`${name}_bucket{le="${bound === Infinity ? "+Inf" : bound}"} ${cumulative}`);
    });
    const sumSeconds = Number(Atomics.load(this.#counts, DURATION_SUM)) / 1e6;
    lines.push(`${name}_sum ${sumSeconds}`, `${name}_count ${c(DURATION_COUNT)}`);
    return lines;
  }
}

function _single(name: string, type: string, help: string, value: string): string[] {
  return [
    `# HELP bastion_${name} ${help}`,
    `# TYPE bastion_${name} ${type}`,
    `bastion_${name} ${value}`,
  ];
}
