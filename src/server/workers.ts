/**
 * Every core (`docs/configuration.md`): N Deno Workers, each accepting on the same port with
 * `reusePort`, sharing the client table and the upload quota through
 * SharedArrayBuffers. The main thread starts them, restarts one that dies,
 * and drains them all on shutdown.
 * @module
 */

import type { Config } from "../config.ts";
import { Logger } from "../log.ts";
import {
  attachShared,
  type SharedBuffers,
  sharedBuffers,
  type SharedState,
} from "../shared/shared_state.ts";
import type { Prepared } from "../types.ts";
import type { RunningServer, ServeOptions } from "./server.ts";

/** What a worker is started with. */
export interface WorkerInit {
  config: Config;
  prepared: Prepared;
  workerId: number;
  shared: SharedBuffers;
  startedAt: number;
}

type WorkerMessage =
  | { kind: "listening"; addr: Deno.NetAddr }
  | { kind: "failed"; name: string; message: string }
  | { kind: "stopped" };

const RESTART_DELAY_MS = 200;

/** The worker's global scope, as far as this module uses it. */
interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkerInit | { kind: "shutdown" }>) => void) | null;
  postMessage(message: WorkerMessage): void;
  addEventListener(type: "error" | "unhandledrejection", listener: () => void): void;
}

/**
 * Whether this code runs inside a worker thread.
 *
 * @example
 * ```ts
 * import { inWorker } from "./workers.ts";
 * inWorker(); // false on the main thread
 * ```
 */
export function inWorker(): boolean {
  return typeof (globalThis as Record<string, unknown>).WorkerGlobalScope === "function" &&
    typeof (globalThis as Record<string, unknown>).window === "undefined";
}

/**
 * Whether `Deno.listen({ reusePort })` can share a port between threads here:
 * `null` when it can, else why not.
 *
 * @example
 * ```ts
 * import { reusePortUnavailable } from "./workers.ts";
 * reusePortUnavailable(); // null on Linux with --unstable-net
 * ```
 */
export function reusePortUnavailable(): string | null {
  if (Deno.build.os !== "linux") {
    return `--workers above 1 needs SO_REUSEPORT load balancing, which ${Deno.build.os} lacks`;
  }
  // Unstable network APIs exist only under --unstable-net, which reusePort needs.
  if (typeof (Deno as unknown as Record<string, unknown>).listenDatagram !== "function") {
    return "--workers above 1 needs Deno's --unstable-net flag";
  }
  return null;
}

/**
 * Runs inside a worker thread: waits for its {@linkcode WorkerInit}, serves
 * through `serve` (the entry module's, which builds the server), and drains
 * when asked to shut down.
 */
export function runWorker(serve: (options: ServeOptions) => Promise<RunningServer>): void {
  const scope = globalThis as unknown as WorkerScope;
  let server: RunningServer | null = null;
  let log: Logger | null = null;
  // An error nothing caught ends the worker (the main thread starts another):
  // its connections are taken off the shared table before it goes.
  const dying = () => server?.forgetConnections();
  scope.addEventListener("error", dying);
  scope.addEventListener("unhandledrejection", dying);
  scope.onmessage = async (event) => {
    const data = event.data;
    if ("kind" in data) {
      await server?.shutdown();
      await log?.flush();
      scope.postMessage({ kind: "stopped" });
      return;
    }
    const { config } = data;
    log = new Logger({ format: config.logFormat, level: config.logLevel, worker: data.workerId });
    try {
      server = await serve({
        config,
        log,
        prepared: data.prepared,
        workerId: data.workerId,
        shared: attachShared(data.shared, config),
        startedAt: data.startedAt,
      });
      scope.postMessage({ kind: "listening", addr: server.addr });
    } catch (error) {
      const { name, message } = error as Error;
      scope.postMessage({ kind: "failed", name, message });
    }
  };
}

/** Options of {@linkcode WorkerPool}. */
export interface WorkerPoolOptions {
  /** The module that calls {@linkcode runWorker} when loaded in a worker. */
  module: URL;
  config: Config;
  prepared: Prepared;
  shared: SharedState;
  /** When the process started (ms since the epoch). */
  startedAt: number;
  log: Logger;
}

/**
 * The main thread's view of the workers.
 *
 * @example
 * ```ts
 * import { WorkerPool } from "./workers.ts";
 * import type { Config } from "../config.ts";
 * import type { Logger } from "../log.ts";
 * import type { SharedState } from "../shared/shared_state.ts";
 * import type { Prepared } from "../types.ts";
 * declare const config: Config, log: Logger, prepared: Prepared, shared: SharedState;
 * const pool = new WorkerPool({
 *   module: new URL(import.meta.url), config, prepared, shared, log, startedAt: Date.now(),
 * });
 * const addr = await pool.start();
 * await pool.shutdown();
 * ```
 */
export class WorkerPool {
  #options: WorkerPoolOptions;
  #workers = new Map<number, Worker>();
  #stopping = false;

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
  }

  /** Starts every worker; resolves with the address once all listen. */
  async start(): Promise<Deno.NetAddr> {
    const ids = Array.from({ length: this.#options.config.workers }, (_, i) => i + 1);
    const addrs = await Promise.all(ids.map((id) => this.#spawn(id)));
    return addrs[0];
  }

  /** Asks every worker to drain and waits (at most the grace period and a second). */
  async shutdown(): Promise<void> {
    this.#stopping = true;
    const grace = this.#options.config.shutdownTimeoutMs + 1000;
    const stopped = [...this.#workers.values()].map((worker) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, grace);
        worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
          if (event.data.kind !== "stopped") return;
          clearTimeout(timer);
          resolve();
        };
        worker.postMessage({ kind: "shutdown" });
      })
    );
    await Promise.all(stopped);
    for (const worker of this.#workers.values()) worker.terminate();
  }

  #spawn(id: number): Promise<Deno.NetAddr> {
    const { module, config, prepared, shared } = this.#options;
    const worker = new Worker(module, { type: "module", name: `w${id}` });
    this.#workers.set(id, worker);
    return new Promise((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
        const message = event.data;
        if (message.kind === "listening") resolve(message.addr);
        if (message.kind === "failed") {
          const error = new Error(message.message);
          error.name = message.name;
          reject(error);
        }
      };
      worker.onerror = (event) => {
        event.preventDefault();
        worker.terminate();
        reject(new Error(event.message));
        this.#died(id, event.message);
      };
      const init: WorkerInit = {
        config,
        prepared,
        workerId: id,
        shared: sharedBuffers(shared),
        startedAt: this.#options.startedAt,
      };
      worker.postMessage(init);
    });
  }

  #died(id: number, message: string): void {
    if (this.#stopping) return;
    this.#options.log.error("worker died, restarting", { worker: id, error: message });
    setTimeout(() => {
      if (this.#stopping) return;
      this.#spawn(id).then(
        () => this.#options.log.info("worker restarted", { worker: id }),
        () => {},
      );
    }, RESTART_DELAY_MS);
  }
}
