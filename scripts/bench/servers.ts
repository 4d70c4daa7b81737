/**
 * The servers under test, each started on 127.0.0.1 with the same web root:
 * bastion (1 and 2 workers), the `Deno.serve` peer, nginx and Python's
 * `http.server`.
 * @module
 */

import { RUNTIME_FLAGS } from "../../src/permissions.ts";
import { childPids } from "./memory.ts";
import type { ProcessSet, Started } from "./procs.ts";

/** What every server start needs. */
export interface BenchEnv {
  procs: ProcessSet;
  /** The repository (main.ts, scripts/bench/). */
  repo: string;
  /** The temp dir: logs, nginx prefix. */
  tmp: string;
  /** The web root (page.html, big1m.html, big1g.html, uploads/). */
  root: string;
  nginx: string | null;
  python: string | null;
}

/** A running server. */
export interface RunningPeer {
  port: number;
  log: string;
  /** The processes whose memory counts (nginx: master and workers). */
  pids(): number[];
  stop(): Promise<void>;
}

/** A server of the benchmark. */
export interface PeerSpec {
  key: "b1" | "b2" | "deno" | "nginx" | "python";
  title: string;
  /** Whether the server keeps connections open (HTTP/1.1 keep-alive). */
  keepAlive: boolean;
  /** The running server, or why it could not start (shown as n/a). */
  start(env: BenchEnv): Promise<RunningPeer | string>;
}

const READY_TIMEOUT_MS = 20_000;

/** The bastion flags of every run: SPEC checks on, rate limit and per-address cap off. */
export const BASTION_FLAGS = [
  "--rate-limit",
  "off",
  "--max-connections-per-ip",
  "100000",
  "--max-connections",
  "20000",
];

/** The five servers, in table order. */
export const PEERS: PeerSpec[] = [
  { key: "b1", title: "bastion 1 worker", keepAlive: true, start: (env) => _bastion(env, 1) },
  { key: "b2", title: "bastion 2 workers", keepAlive: true, start: (env) => _bastion(env, 2) },
  { key: "deno", title: "Deno.serve", keepAlive: true, start: _denoServe },
  { key: "nginx", title: "nginx (2 workers)", keepAlive: true, start: _nginx },
  { key: "python", title: "Python http.server", keepAlive: false, start: _python },
];

async function _bastion(env: BenchEnv, workers: number): Promise<RunningPeer | string> {
  const port = _freePort();
  const log = `${env.tmp}/bastion-${workers}w.log`;
  const read = workers > 1 ? `${env.root},${env.repo}` : env.root;
  const args = [
    "run",
    // Measured as it ships: the runtime flags of deno task serve and the binary.
    ...RUNTIME_FLAGS,
    "--allow-net",
    `--allow-read=${read}`,
    `--allow-write=${env.root}/uploads`,
    `${env.repo}/main.ts`,
    "--root",
    env.root,
    "--port",
    String(port),
    ...(workers > 1 ? ["--workers", String(workers)] : []),
    ...BASTION_FLAGS,
  ];
  const started = env.procs.spawn(`bastion ${workers}w`, Deno.execPath(), args, {
    logFile: log,
    manyFiles: true,
  });
  const failure = await _ready(started, port, log);
  if (failure !== null) {
    if (/worker/i.test(failure)) return `workers not available: ${failure}`;
    return `did not start: ${failure}`;
  }
  return _single(env, started, port, log);
}

async function _denoServe(env: BenchEnv): Promise<RunningPeer | string> {
  const port = _freePort();
  const log = `${env.tmp}/deno-serve.log`;
  const args = [
    "run",
    "--allow-net=127.0.0.1",
    `--allow-read=${env.root}`,
    `${env.repo}/scripts/bench/deno_serve_peer.ts`,
    env.root,
    String(port),
  ];
  const started = env.procs.spawn("Deno.serve", Deno.execPath(), args, {
    logFile: log,
    manyFiles: true,
  });
  const failure = await _ready(started, port, log);
  return failure ?? _single(env, started, port, log);
}

async function _nginx(env: BenchEnv): Promise<RunningPeer | string> {
  if (env.nginx === null) return "nginx not found";
  const port = _freePort();
  const prefix = `${env.tmp}/nginx`;
  await Deno.mkdir(prefix, { recursive: true });
  const conf = `${prefix}/nginx.conf`;
  await Deno.writeTextFile(conf, nginxConf(prefix, env.root, port));
  const log = `${prefix}/error.log`;
  const started = env.procs.spawn("nginx", env.nginx, ["-c", conf, "-p", prefix, "-e", log], {
    logFile: `${prefix}/stdout.log`,
    manyFiles: true,
  });
  const failure = await _ready(started, port, log);
  if (failure !== null) return failure;
  const workers = childPids(started.pid);
  return {
    port,
    log,
    pids: () => [started.pid, ...workers],
    stop: () => env.procs.stop(started, workers),
  };
}

async function _python(env: BenchEnv): Promise<RunningPeer | string> {
  if (env.python === null) return "python3 not found";
  const port = _freePort();
  const log = `${env.tmp}/python.log`;
  const args = ["-m", "http.server", "--bind", "127.0.0.1", String(port), "--directory", env.root];
  const started = env.procs.spawn("http.server", env.python, args, { logFile: log });
  const failure = await _ready(started, port, log);
  return failure ?? _single(env, started, port, log);
}

/**
 * The nginx configuration: 2 workers, sendfile, long keep-alive, no access
 * log, every path inside `prefix`.
 *
 * @example
 * ```ts
 * import { nginxConf } from "./servers.ts";
 * nginxConf("/tmp/n", "/tmp/root", 8080).includes("listen 127.0.0.1:8080;"); // true
 * ```
 */
export function nginxConf(prefix: string, root: string, port: number): string {
  return `worker_processes 2;
worker_rlimit_nofile 20000;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
daemon off;
events { worker_connections 16384; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  types { text/html html; }
  default_type application/octet-stream;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`;
}

function _single(env: BenchEnv, started: Started, port: number, log: string): RunningPeer {
  return { port, log, pids: () => [started.pid], stop: () => env.procs.stop(started) };
}

function _freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Null once `GET /page.html` answers 200; else why not (the process's last log line). */
async function _ready(started: Started, port: number, log: string): Promise<string | null> {
  let exited = false;
  started.status.then(() => exited = true);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && !exited) {
    if (await probe(port, "/page.html") === 200) return null;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  const text = await Deno.readTextFile(log).catch(() => "");
  const last = text.trim().split("\n").pop() || "no output";
  return exited ? `exited: ${last}` : `not ready after ${READY_TIMEOUT_MS / 1000} s: ${last}`;
}

/**
 * The status code of one `GET path` with `Connection: close`, or 0.
 *
 * @example
 * ```ts ignore
 * await probe(8080, "/page.html"); // 200
 * ```
 */
export async function probe(port: number, path: string): Promise<number> {
  let conn: Deno.Conn | null = null;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(request));
    const buffer = new Uint8Array(16 * 1024);
    const n = await conn.read(buffer);
    const line = new TextDecoder().decode(buffer.subarray(0, n ?? 0));
    while (await conn.read(buffer) !== null) { /* the rest, until the server closes */ }
    const match = line.match(/^HTTP\/1\.[01] (\d{3})/);
    return match === null ? 0 : Number(match[1]);
  } catch {
    return 0;
  } finally {
    conn?.close();
  }
}
