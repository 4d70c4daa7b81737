/**
 * The tools the benchmark needs (wrk, nginx, Caddy and Redis from Debian packages,
 * python3, curl) and a description of the machine it runs on.
 * @module
 */

import type { ProcessSet } from "./procs.ts";

/** Paths of the tools found (null: missing). */
export interface Tools {
  wrk: string;
  nginx: string | null;
  caddy: string | null;
  redis: string | null;
  python: string | null;
  versions: string[];
}

const EXTRA_PATH = ["/usr/local/sbin", "/usr/sbin", "/sbin"];
/** The Debian packages installed when one of their programs is missing. */
const PACKAGES = ["wrk", "nginx", "caddy", "redis-server"];

/**
 * Finds wrk, nginx and Caddy, installing the Debian packages when one is
 * missing (`apt-get update`, then `apt-get install -y wrk nginx caddy redis-server`).
 * Throws without wrk.
 *
 * @example
 * ```ts ignore
 * const tools = await ensureTools(procs, console.error);
 * ```
 */
export async function ensureTools(procs: ProcessSet, say: (line: string) => void): Promise<Tools> {
  if (PACKAGES.some((program) => which(program) === null)) {
    say(
      `${PACKAGES.join(", ")}: one missing: apt-get update && apt-get install -y ${
        PACKAGES.join(" ")
      }`,
    );
    for (const args of [["update"], ["install", "-y", ...PACKAGES]]) {
      const { code, out } = await procs.run("apt-get", "env", [
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get",
        ...args,
      ]);
      if (code !== 0) say(`apt-get ${args[0]} failed: ${out.trim().split("\n").pop()}`);
    }
  }
  const wrk = which("wrk");
  if (wrk === null) throw new Error("wrk is not installed and apt-get could not install it");
  const nginx = which("nginx");
  const caddy = which("caddy");
  const redis = which("redis-server");
  const python = await _python(procs);
  const versions = [
    `Deno ${Deno.version.deno}`,
    _first(await procs.run("wrk", wrk, ["-v"]), /wrk \S+/),
    nginx ? _first(await procs.run("nginx", nginx, ["-v"]), /nginx\/[\d.]+/) : "nginx missing",
    caddy
      ? `Caddy ${_first(await procs.run("caddy", caddy, ["version"]), /v?[\d.]+/)}`
      : "caddy missing",
    python ? _first(await procs.run("python", python, ["--version"]), /Python [\d.]+/) : "",
    which("curl") ? _first(await procs.run("curl", "curl", ["--version"]), /curl [\d.]+/) : "",
  ].filter((v) => v !== "");
  return { wrk, nginx, caddy, redis, python, versions };
}

/**
 * `nproc`, the CPU model and the RAM, e.g. `2 cores (nproc), AMD EPYC, 23.5 GiB RAM, Linux 6.1`.
 *
 * @example
 * ```ts ignore
 * const { cores, text } = await describeMachine(procs);
 * ```
 */
export async function describeMachine(
  procs: ProcessSet,
): Promise<{ cores: number; text: string }> {
  const nproc = await procs.run("nproc", "nproc", []).catch(() => ({ code: 1, out: "" }));
  const cores = Number(nproc.out.trim()) || navigator.hardwareConcurrency;
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const model = cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? "unknown CPU";
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const memKiB = Number(meminfo.match(/^MemTotal:\s+(\d+)/m)?.[1] ?? 0);
  const ram = `${(memKiB / 1024 / 1024).toFixed(1)} GiB RAM`;
  return { cores, text: `${cores} cores (nproc), ${model}, ${ram}, Linux ${Deno.osRelease()}` };
}

/**
 * The path of `program` on PATH (and the sbin directories), or null.
 *
 * @example
 * ```ts
 * import { which } from "./machine.ts";
 * which("no-such-program"); // null
 * ```
 */
export function which(program: string): string | null {
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":"), ...EXTRA_PATH];
  for (const dir of dirs) {
    try {
      if (dir && Deno.statSync(`${dir}/${program}`).isFile) return `${dir}/${program}`;
    } catch {
      // not here
    }
  }
  return null;
}

/** The real interpreter behind `python3` (not a pyenv shim), so its PID is the server's. */
async function _python(procs: ProcessSet): Promise<string | null> {
  const python = which("python3");
  if (python === null) return null;
  const { code, out } = await procs.run("python", python, [
    "-c",
    "import sys; print(sys.executable)",
  ]);
  return code === 0 && out.trim() ? out.trim().split("\n")[0] : python;
}

function _first(result: { out: string }, pattern: RegExp): string {
  return result.out.match(pattern)?.[0] ?? result.out.trim().split("\n")[0];
}
