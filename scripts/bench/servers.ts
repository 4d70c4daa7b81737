/**
 * The servers under test, each started on 127.0.0.1 with the same web root:
 * bastion (1 and 2 workers), the `Deno.serve` peer, Caddy, nginx, Python's
 * `http.server`, and a bare `Deno.listen` loop answering a constant response
 * (the runtime's floor).
 * @module
 */

import { REDIS_CLIENT_VARIABLE, RUNTIME_FLAGS } from "../../src/permissions.ts";
import { childPids } from "./memory.ts";
import type { ProcessSet, SpawnOptions, Started } from "./procs.ts";

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
  caddy: string | null;
  redis: string | null;
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
  key: "b1" | "b1r" | "b1s" | "b2" | "deno" | "caddy" | "nginx" | "python" | "floor";
  title: string;
  /** Whether the server keeps connections open (HTTP/1.1 keep-alive). */
  keepAlive: boolean;
  /** Whether it serves the web root's files (the floor answers one constant response). */
  files: boolean;
  /** Whether the memory rows run on it. @default true */
  memoryRows?: boolean;
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

/** A rate limit no client here reaches, so that every request is counted (and, in a fleet, synced). */
const COUNTING_RATE_LIMIT = ["--rate-limit", "1000000/s:1000000"] as const;

/** The servers, in table order. */
export const PEERS: PeerSpec[] = [
  {
    key: "b1",
    files: true,
    title: "bastion 1 worker",
    keepAlive: true,
    start: (env) => _bastion(env, 1),
  },
  {
    key: "b1r",
    files: true,
    memoryRows: false,
    title: "bastion 1 worker, rate limit counting",
    keepAlive: true,
    start: (env) => _bastion(env, 1, [...COUNTING_RATE_LIMIT]),
  },
  {
    key: "b1s",
    files: true,
    memoryRows: false,
    title: "bastion 1 worker, --shared-state",
    keepAlive: true,
    start: _bastionShared,
  },
  {
    key: "b2",
    files: true,
    title: "bastion 2 workers",
    keepAlive: true,
    start: (env) => _bastion(env, 2),
  },
  { key: "deno", files: true, title: "Deno.serve", keepAlive: true, start: _denoServe },
  { key: "caddy", files: true, title: "Caddy", keepAlive: true, start: _caddy },
  { key: "nginx", files: true, title: "nginx (2 workers)", keepAlive: true, start: _nginx },
  { key: "python", files: true, title: "Python http.server", keepAlive: false, start: _python },
  { key: "floor", files: false, title: "Deno.listen floor", keepAlive: true, start: _floor },
];

/**
 * bastion with 1 worker in a fleet of one, on a redis-server of its own: a
 * rate limit too high to refuse anything, so that every request is counted
 * and synced.
 */
async function _bastionShared(env: BenchEnv): Promise<RunningPeer | string> {
  if (env.redis === null) return "redis-server not found";
  const redisPort = _freePort();
  const redis = env.procs.spawn("redis-server", env.redis, [
    "--port",
    String(redisPort),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
  ], { logFile: `${env.tmp}/redis.log` });
  const running = await _bastion(env, 1, [
    "--shared-state",
    `redis://127.0.0.1:${redisPort}`,
    ...COUNTING_RATE_LIMIT,
  ]);
  if (typeof running === "string") {
    await env.procs.stop(redis);
    return running;
  }
  return { ...running, stop: async () => (await running.stop(), await env.procs.stop(redis)) };
}

async function _bastion(
  env: BenchEnv,
  workers: number,
  more: string[] = [],
): Promise<RunningPeer | string> {
  const port = _freePort();
  const log = `${env.tmp}/bastion-${workers}w${more.length > 0 ? `-${more[0].slice(2)}` : ""}.log`;
  const read = workers > 1 ? `${env.root},${env.repo}` : env.root;
  const args = [
    "run",
    // Measured as it ships: the runtime flags of deno task serve and the binary.
    ...RUNTIME_FLAGS,
    "--allow-net",
    `--allow-read=${read}`,
    `--allow-write=${env.root}/uploads`,
    ...(more.includes("--shared-state") ? [`--allow-env=${REDIS_CLIENT_VARIABLE}`] : []),
    `${env.repo}/main.ts`,
    "--root",
    env.root,
    "--port",
    String(port),
    ...(workers > 1 ? ["--workers", String(workers)] : []),
    ...BASTION_FLAGS,
    // Later flags win: the fleet's own rate limit replaces "off".
    ...more,
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

function _denoServe(env: BenchEnv): Promise<RunningPeer | string> {
  return _startOne(env, "Deno.serve", Deno.execPath(), `${env.tmp}/deno-serve.log`, (port) => [
    "run",
    "--allow-net=127.0.0.1",
    `--allow-read=${env.root}`,
    `${env.repo}/scripts/bench/deno_serve_peer.ts`,
    env.root,
    String(port),
  ]);
}

function _floor(env: BenchEnv): Promise<RunningPeer | string> {
  return _startOne(env, "Deno.listen floor", Deno.execPath(), `${env.tmp}/listen-floor.log`, (
    port,
  ) => [
    "run",
    "--allow-net=127.0.0.1",
    `${env.repo}/scripts/bench/listen_floor_peer.ts`,
    String(port),
  ]);
}

/** `caddy file-server`: its defaults (no access log, no admin endpoint), data kept in `tmp`. */
async function _caddy(env: BenchEnv): Promise<RunningPeer | string> {
  if (env.caddy === null) return "caddy not found";
  const home = `${env.tmp}/caddy`;
  await Deno.mkdir(home, { recursive: true });
  const args = (
    port: number,
  ) => ["file-server", "--listen", `127.0.0.1:${port}`, "--root", env.root];
  return await _startOne(env, "caddy", env.caddy, `${home}/caddy.log`, args, {
    env: { HOME: home, XDG_DATA_HOME: home, XDG_CONFIG_HOME: home },
  });
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
  const args = (port: number) => [
    "-m",
    "http.server",
    "--bind",
    "127.0.0.1",
    String(port),
    "--directory",
    env.root,
  ];
  return await _startOne(env, "http.server", env.python, `${env.tmp}/python.log`, args, {
    manyFiles: false,
  });
}

/**
 * Starts one process of `program` listening on a free port given to `args`,
 * its output in `log`; the server once it answers, or why not.
 */
async function _startOne(
  env: BenchEnv,
  name: string,
  program: string,
  log: string,
  args: (port: number) => string[],
  options: Pick<SpawnOptions, "manyFiles" | "env"> = {},
): Promise<RunningPeer | string> {
  const port = _freePort();
  const started = env.procs.spawn(name, program, args(port), {
    logFile: log,
    manyFiles: options.manyFiles ?? true,
    env: options.env,
  });
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
    let text = "";
    // Up to the end of the body: a server that keeps the connection open anyway does not hang it.
    for (let reads = 0; reads < 1000; reads++) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder("latin1").decode(buffer.subarray(0, n));
      const end = text.indexOf("\r\n\r\n");
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end));
      if (end >= 0 && length !== null && text.length >= end + 4 + Number(length[1])) break;
    }
    const match = text.match(/^HTTP\/1\.[01] (\d{3})/);
    return match === null ? 0 : Number(match[1]);
  } catch {
    return 0;
  } finally {
    conn?.close();
  }
}
