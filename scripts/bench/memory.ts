/**
 * Memory of a server from `/proc/<pid>/status`: VmRSS (now) and VmHWM (peak),
 * summed over the server's processes (nginx: master and workers).
 * @module
 */

/** Resident memory in KiB. */
export interface Memory {
  rssKiB: number;
  hwmKiB: number;
}

/**
 * VmRSS and VmHWM summed over `pids` (a process that is gone counts 0).
 *
 * @example
 * ```ts
 * import { readMemory } from "./memory.ts";
 * const { rssKiB } = readMemory([Deno.pid]);
 * ```
 */
export function readMemory(pids: number[]): Memory {
  let rssKiB = 0;
  let hwmKiB = 0;
  for (const pid of pids) {
    let text: string;
    try {
      text = Deno.readTextFileSync(`/proc/${pid}/status`);
    } catch {
      continue;
    }
    rssKiB += _field(text, "VmRSS");
    hwmKiB += _field(text, "VmHWM");
  }
  return { rssKiB, hwmKiB };
}

/**
 * Resets VmHWM to the current RSS (`echo 5 > /proc/<pid>/clear_refs`), so the
 * next VmHWM is the peak of what follows. False when the kernel refuses.
 *
 * @example
 * ```ts
 * import { resetPeak } from "./memory.ts";
 * resetPeak([Deno.pid]);
 * ```
 */
export function resetPeak(pids: number[]): boolean {
  let ok = true;
  for (const pid of pids) {
    try {
      Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
    } catch {
      ok = false;
    }
  }
  return ok;
}

/**
 * The direct children of `pid` (nginx's workers).
 *
 * @example
 * ```ts
 * import { childPids } from "./memory.ts";
 * childPids(Deno.pid); // []
 * ```
 */
export function childPids(pid: number): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) found.push(Number(entry.name));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

function _field(status: string, name: string): number {
  const match = status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"));
  return match === null ? 0 : Number(match[1]);
}
