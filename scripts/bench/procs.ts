/**
 * Every process the benchmark starts goes through a {@linkcode ProcessSet}, so
 * each one can be stopped by its PID: at the end of its phase, in `finally`
 * blocks, and on SIGINT/SIGTERM.
 * @module
 */

import { childPids } from "./memory.ts";

/** Options of {@linkcode ProcessSet.spawn}. */
export interface SpawnOptions {
  /** stdout and stderr appended to this file (through the shell's `exec`). */
  logFile?: string;
  /** Raise the soft open-files limit first (as far as the hard limit allows). */
  manyFiles?: boolean;
  /** @default "null" */
  stdin?: "piped" | "null";
  /** Ignored with `logFile`. @default "null" */
  stdout?: "piped" | "null";
  /** More environment variables. @default {} */
  env?: Record<string, string>;
}

/** A started process. */
export interface Started {
  name: string;
  pid: number;
  child: Deno.ChildProcess;
  /** Settles when the process has exited. */
  status: Promise<Deno.CommandStatus>;
}

const TERM_GRACE_MS = 5000;
/** The shell line that raises the soft open-files limit as far as it may go. */
export const RAISE_FILES = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"';

/**
 * The processes started by the benchmark.
 *
 * @example
 * ```ts ignore
 * const procs = new ProcessSet();
 * const p = procs.spawn("sleep", "sleep", ["10"]);
 * await procs.stop(p);
 * ```
 */
export class ProcessSet {
  #live = new Map<number, Started>();
  #closed = false;

  /** Starts `cmd args`; with `logFile` or `manyFiles` through `bash -c '… exec'` (same PID). */
  spawn(name: string, cmd: string, args: string[], options: SpawnOptions = {}): Started {
    this.#refuseIfClosed(name);
    let program = cmd;
    let argv = args;
    if (options.logFile !== undefined || options.manyFiles) {
      const limit = options.manyFiles ? `${RAISE_FILES}; ` : "";
      const redirect = options.logFile !== undefined ? ' >>"$BENCH_LOG" 2>&1' : "";
      program = "bash";
      argv = ["-c", `${limit}exec "$@"${redirect}`, "bench", cmd, ...args];
    }
    const child = new Deno.Command(program, {
      args: argv,
      stdin: options.stdin ?? "null",
      stdout: options.logFile !== undefined ? "null" : options.stdout ?? "null",
      stderr: options.logFile !== undefined ? "null" : "piped",
      env: {
        ...options.env,
        ...(options.logFile !== undefined ? { BENCH_LOG: options.logFile } : {}),
      },
    }).spawn();
    const started: Started = { name, pid: child.pid, child, status: child.status };
    this.#live.set(child.pid, started);
    started.status.finally(() => this.#live.delete(child.pid));
    if (options.logFile === undefined) _drain(child.stderr);
    return started;
  }

  /** Runs `cmd args` to completion (tracked, so SIGINT can stop it) and returns its stdout. */
  async run(name: string, cmd: string, args: string[]): Promise<{ code: number; out: string }> {
    this.#refuseIfClosed(name);
    const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).spawn();
    const started: Started = { name, pid: child.pid, child, status: child.status };
    this.#live.set(child.pid, started);
    started.status.finally(() => this.#live.delete(child.pid));
    try {
      const output = await child.output();
      const out = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
      return { code: output.code, out };
    } finally {
      this.#live.delete(child.pid);
    }
  }

  /**
   * SIGTERM, then SIGKILL after a grace period; its direct children (wrk under
   * bash, nginx's workers) and `extra` PIDs get the same.
   */
  async stop(started: Started, extra: number[] = []): Promise<void> {
    extra = [...new Set([...childPids(started.pid), ...extra])];
    _signal(started.pid, "SIGTERM");
    for (const pid of extra) _signal(pid, "SIGTERM");
    const timeout = new Promise<"late">((resolve) => {
      const timer = setTimeout(() => resolve("late"), TERM_GRACE_MS);
      started.status.finally(() => clearTimeout(timer));
    });
    if (await Promise.race([started.status.then(() => "done" as const), timeout]) === "late") {
      _signal(started.pid, "SIGKILL");
      await started.status;
    }
    for (const pid of extra) if (_alive(pid)) _signal(pid, "SIGKILL");
  }

  /** Stops everything still running, one PID at a time, and refuses to start more. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const started of [...this.#live.values()]) await this.stop(started);
  }

  #refuseIfClosed(name: string): void {
    if (this.#closed) throw new Error(`Not starting ${name}: the benchmark is stopping`);
  }
}

function _signal(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(pid, signal);
  } catch {
    // already gone
  }
}

function _alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

async function _drain(stream: ReadableStream<Uint8Array>): Promise<void> {
  try {
    for await (const _ of stream) { /* discarded */ }
  } catch {
    // the process was killed
  }
}
