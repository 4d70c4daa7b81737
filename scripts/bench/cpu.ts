/**
 * Load from elsewhere during a measurement: the CPU time the whole machine
 * spent (`/proc/stat`) minus what the benchmark's own processes spent
 * (`/proc/<pid>/stat`, and wrk's own count), in cores. The benchmark shares
 * its cores with whatever else runs; a run with much of this is re-done.
 * @module
 */

/** A snapshot of CPU time, in clock ticks (USER_HZ, 100 on Linux). */
export interface CpuSample {
  at: number;
  /**
   * user, nice, system, irq, softirq and steal of all CPUs: the loopback
   * traffic's softirq work is charged to the processes that cause it, so it
   * belongs on this side too (measured: about 0 left on a quiet machine).
   */
  machine: number;
  /** user + system of the given processes and of this one. */
  ours: number;
}

const TICKS_PER_SECOND = 100;

/**
 * Reads the machine's and the processes' CPU time now.
 *
 * @example
 * ```ts
 * import { sampleCpu } from "./cpu.ts";
 * const before = sampleCpu([]);
 * ```
 */
export function sampleCpu(pids: number[]): CpuSample {
  const stat = Deno.readTextFileSync("/proc/stat");
  const f = stat.split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const machine = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0);
  let ours = 0;
  for (const pid of [Deno.pid, ...pids]) {
    try {
      const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
      ours += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited
    }
  }
  return { at: performance.now(), machine, ours };
}

/**
 * Cores' worth of CPU used by others between two samples, `extraSeconds`
 * (a child's own CPU time, e.g. wrk's) counted as ours.
 *
 * @example
 * ```ts
 * import { foreignCores, sampleCpu } from "./cpu.ts";
 * const before = sampleCpu([]);
 * foreignCores(before, sampleCpu([]), 0); // about 0 on a quiet machine
 * ```
 */
export function foreignCores(before: CpuSample, after: CpuSample, extraSeconds: number): number {
  const seconds = (after.at - before.at) / 1000;
  if (seconds <= 0) return 0;
  const ticks = after.machine - before.machine - (after.ours - before.ours) -
    extraSeconds * TICKS_PER_SECOND;
  return Math.max(0, ticks / TICKS_PER_SECOND / seconds);
}

/**
 * How busy the CPUs are over `ms` (0–1), from `/proc/stat`: before the run,
 * anything above zero is someone else's load sharing the cores.
 *
 * @example
 * ```ts ignore
 * const busy = await cpuBusy(1000); // 0.02
 * ```
 */
export async function cpuBusy(ms: number): Promise<number> {
  const before = await _cpuTimes();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = await _cpuTimes();
  const total = after.total - before.total;
  return total > 0 ? 1 - (after.idle - before.idle) / total : 0;
}

async function _cpuTimes(): Promise<{ total: number; idle: number }> {
  const stat = await Deno.readTextFile("/proc/stat");
  const fields = stat.split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  return { total: fields.reduce((a, b) => a + b, 0), idle: fields[3] + (fields[4] ?? 0) };
}

/**
 * Waits, up to `maxMs`, until other processes use less than `cores` cores
 * (nothing of the benchmark runs meanwhile). True when it got quiet.
 *
 * @example
 * ```ts ignore
 * await waitQuiet(0.2, 30_000);
 * ```
 */
export async function waitQuiet(cores: number, maxMs: number): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  const all = navigator.hardwareConcurrency;
  while (Date.now() < deadline) {
    if (await cpuBusy(1000) * all < cores) return true;
  }
  return false;
}
