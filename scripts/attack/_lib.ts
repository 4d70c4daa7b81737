/**
 * What every attack script under `scripts/attack/` shares: a bastion started
 * from a given checkout on loopback over a temporary web root, and the honest
 * client that watches it from another loopback address (GET / every 0.5 s,
 * "served" = 200 within 1 s). Everything is bounded and stops by itself.
 * @module
 */

import { join } from "node:path";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { RUNTIME_FLAGS } from "../../src/permissions.ts";
import type { ProbeReport } from "./probe.ts";

export { PROBE_FROM, type ProbeReport } from "./probe.ts";

/** This checkout; `BASTION_REPO` names another one (a `git worktree` of an older commit). */
export const REPO = Deno.env.get("BASTION_REPO") ??
  fileURLToPath(new URL("../..", import.meta.url));

/** A shell prefix raising the open-files limit as far as it may go. */
export const RAISE_FILES = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)";';

/** A running bastion. */
export interface Target {
  port: number;
  pid: number;
  root: string;
  /** Its stdout and stderr so far. */
  log(): string;
  /** Resident memory in KiB, from `/proc`. */
  rssKiB(): number;
  stop(): Promise<void>;
}

/** Options of {@linkcode startTarget}. */
export interface TargetOptions {
  /** bastion's flags. @default [] */
  args?: string[];
  /** Files to add to the web root, path → content. @default {} */
  files?: Record<string, string | Uint8Array>;
  /** More `deno run` flags. @default [] */
  denoFlags?: string[];
  /** More paths to read besides the root (the modules workers load, say). @default [] */
  extraRead?: string[];
  /** A shell prefix such as `ulimit -n 1024;`. @default "" */
  shell?: string;
}

/**
 * Starts bastion from {@linkcode REPO} with the least permissions, on a free
 * port of 127.0.0.1, over a fresh web root with `index.html`.
 */
export async function startTarget(options: TargetOptions = {}): Promise<Target> {
  const base = await Deno.makeTempDir({ prefix: "bastion-attack-" });
  const root = join(base, "www");
  await Deno.mkdir(join(root, "uploads"), { recursive: true });
  await Deno.writeTextFile(join(root, "index.html"), "<h1>honest page</h1>\n");
  for (const [path, content] of Object.entries(options.files ?? {})) {
    await Deno.mkdir(join(root, path, ".."), { recursive: true });
    if (typeof content === "string") await Deno.writeTextFile(join(root, path), content);
    else await Deno.writeFile(join(root, path), content);
  }
  const words = [
    Deno.execPath(),
    "run",
    ...RUNTIME_FLAGS,
    "--allow-net",
    `--allow-read=${[root, ...(options.extraRead ?? [])].join(",")}`,
    `--allow-write=${root}/uploads`,
    ...(options.denoFlags ?? []),
    join(REPO, "main.ts"),
    "--root",
    root,
    "--port",
    "0",
    ...(options.args ?? []),
  ].map((word) => `'${word.replaceAll("'", `'\\''`)}'`);
  const child = new Deno.Command("bash", {
    args: ["-c", `${options.shell ?? ""} exec ${words.join(" ")}`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  for (const stream of [child.stdout, child.stderr]) {
    (async () => {
      for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
    })();
  }
  const deadline = Date.now() + 20_000;
  let match: RegExpMatchArray | null = null;
  while ((match = text.match(/listening on https?:\/\/[^ ]*:(\d+)\//)) === null) {
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`bastion did not start: ${text}`);
    }
    await sleep(50);
  }
  return {
    port: Number(match[1]),
    pid: child.pid,
    root,
    log: () => text,
    rssKiB: () => rssKiB(child.pid),
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone already */ }
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await child.status;
      clearTimeout(timer);
      await Deno.remove(base, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Starts the honest client ({@linkcode PROBE_FROM}, `GET /` every 500 ms) in a
 * process of its own (`probe.ts`), so that the attacker's busy event loop is
 * not counted as the server's latency.
 *
 * @example
 * ```ts ignore
 * const probe = honestProbe(target.port);
 * // ... attack ...
 * console.log(describeProbe(await probe.stop()));
 * ```
 */
export function honestProbe(port: number): { stop(): Promise<ProbeReport> } {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", fileURLToPath(new URL("probe.ts", import.meta.url)), String(port)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  return {
    async stop() {
      await child.stdin.close();
      const { stdout } = await child.output();
      return JSON.parse(new TextDecoder().decode(stdout)) as ProbeReport;
    },
  };
}

/** One line for a probe report: served/sent, median and worst latency, the rest. */
export function describeProbe(report: ProbeReport): string {
  const sorted = [...report.latencies].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const worst = sorted.at(-1) ?? 0;
  const share = report.sent === 0 ? 0 : (100 * report.served) / report.sent;
  const other = Object.entries(report.other).map(([key, count]) => `${count} × ${key}`);
  return `honest probe served ${report.served}/${report.sent} (${share.toFixed(0)} %), ` +
    `p50 ${median.toFixed(0)} ms, max ${worst.toFixed(0)} ms` +
    (other.length > 0 ? `; ${other.join(", ")}` : "");
}

/** Options of {@linkcode holdConnections}. */
export interface HoldOptions {
  /** Connections kept open in all, spread over the addresses. */
  connections: number;
  /** Source addresses, 127.0.1.1 on (the probe's 127.0.0.2 is never one). */
  addresses: number;
  /** When to stop (`Date.now()` time); every socket is destroyed then. */
  until: number;
  /** Sets up each new socket (what it sends); by default it stays silent. */
  start?: (socket: net.Socket) => void;
}

/**
 * Keeps the attacker's connections open until `until`, opening a new one
 * whenever the server closes one, as a real attacker would; returns how many
 * were opened in all.
 */
export async function holdConnections(port: number, options: HoldOptions): Promise<number> {
  const perAddress = Math.ceil(options.connections / options.addresses);
  const counts = await Promise.all(
    Array.from(
      { length: options.addresses },
      (_, i) => _hold(port, `127.0.1.${i + 1}`, perAddress, options),
    ),
  );
  return counts.reduce((sum, count) => sum + count, 0);
}

async function _hold(port: number, from: string, perAddress: number, options: HoldOptions) {
  const { until } = options;
  let open = 0;
  let opened = 0;
  while (Date.now() < until) {
    while (open < perAddress && Date.now() < until) {
      open++;
      opened++;
      const socket = net.connect({ host: "127.0.0.1", port, localAddress: from });
      socket.on("error", () => {});
      socket.on("close", () => open--);
      options.start?.(socket);
      setTimeout(() => socket.destroy(), until - Date.now());
      if (opened % 50 === 0) await sleep(5);
    }
    await sleep(200);
  }
  return opened;
}

/** Resident memory of `pid` in KiB (0 once it is gone). */
export function rssKiB(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * Runs the calling script again under a raised open-files limit (it holds
 * thousands of sockets); returns at once in the re-run.
 */
export async function raisedLimit(script: string): Promise<void> {
  if (Deno.env.get("ATTACK_RAISED") === "1") return;
  const words = [Deno.execPath(), "run", "-A", new URL(script).pathname, ...Deno.args]
    .map((word) => `'${word.replaceAll("'", `'\\''`)}'`);
  const { code } = await new Deno.Command("bash", {
    args: [
      "-c",
      `ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec ${words.join(" ")}`,
    ],
    env: { ATTACK_RAISED: "1" },
  }).spawn().status;
  Deno.exit(code);
}

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Only loopback may be attacked: throws for any other address. */
export function assertLoopback(host: string): void {
  if (!/^127\.\d+\.\d+\.\d+$/.test(host) && host !== "::1" && host !== "localhost") {
    throw new Error(`Refusing to attack ${host}: loopback only`);
  }
}
