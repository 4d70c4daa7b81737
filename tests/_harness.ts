/**
 * Integration-test harness: starts the real server as a child process under
 * the real least-privilege permission flags, on a fresh copy of a web root,
 * and talks raw bytes to it over TCP.
 * @module
 */

import net from "node:net";
import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const MAIN = fromFileUrl(new URL("../main.ts", import.meta.url));
/** The repository, where `deno task` runs. */
export const REPO = fromFileUrl(new URL("..", import.meta.url));
const RESOURCES = fromFileUrl(new URL("../resources", import.meta.url));
/** The banner line; its port is group 1 (text) or 2 (JSON). */
export const BANNER = /listening on https?:\/\/[^ ]*:(\d+)\/|"url":"https?:\/\/[^"]*:(\d+)\//;
/** Switches bans and the rate limit off, so rejection-heavy tests trip neither (SPEC §6). */
export const NO_LIMITS: readonly string[] = ["--ban", "off", "--rate-limit", "off"];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Options of {@linkcode startBastion}. */
export interface StartOptions {
  /** Extra command-line arguments for bastion. @default [] */
  args?: readonly string[];
  /** Files to add to the web root, path → content. @default {} */
  files?: Record<string, string | Uint8Array>;
  /** Permission flags; by default exactly those of `deno task serve` for the temp root. */
  permissions?: string[];
  /** Copy the shipped `resources/` into the root first. @default true */
  copyResources?: boolean;
  /** Environment variables. @default {} */
  env?: Record<string, string>;
  /** More paths for the default `--allow-read` (token or TLS files). @default [] */
  extraRead?: string[];
  /** More permission flags besides the default ones. @default [] */
  extraPermissions?: string[];
}

/** A running bastion process. */
export interface Bastion {
  port: number;
  /** The server process's id (for /proc/<pid>/status). */
  pid: number;
  /** The temporary web root. */
  root: string;
  /** `<root>/uploads`. */
  uploads: string;
  /** Everything the process printed to stdout so far. */
  stdout(): string;
  /** Everything the process printed to stderr so far. */
  stderr(): string;
  /** Sends `signal` (default SIGTERM) and waits for exit. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  /** Resolves when the process exits. */
  status: Promise<Deno.CommandStatus>;
  /** Waits until stdout matches `pattern` (or fails after `timeoutMs`). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** Makes a temp web root: a copy of `resources/` plus `files`. */
export async function makeRoot(options: Pick<StartOptions, "files" | "copyResources"> = {}) {
  const base = await Deno.makeTempDir({ prefix: "bastion-test-" });
  const root = join(base, "www");
  await Deno.mkdir(join(root, "uploads"), { recursive: true });
  if (options.copyResources ?? true) {
    for await (const entry of Deno.readDir(RESOURCES)) {
      if (entry.isFile) await Deno.copyFile(join(RESOURCES, entry.name), join(root, entry.name));
    }
  }
  for (const [path, content] of Object.entries(options.files ?? {})) {
    const full = join(root, path);
    await Deno.mkdir(join(full, ".."), { recursive: true });
    if (typeof content === "string") await Deno.writeTextFile(full, content);
    else await Deno.writeFile(full, content);
  }
  return { base, root, uploads: join(root, "uploads") };
}

/**
 * Spawns `main.ts` with `deno run` and the given flags; resolves once the
 * banner shows the bound port.
 */
export async function startBastion(options: StartOptions = {}): Promise<Bastion> {
  const { base, root, uploads } = await makeRoot(options);
  const permissions = options.permissions ?? [
    "--allow-net",
    `--allow-read=${[root, ...(options.extraRead ?? [])].join(",")}`,
    `--allow-write=${uploads}`,
    ...(options.extraPermissions ?? []),
  ];
  const process = await launchBastion([...permissions], [
    "--root",
    root,
    "--port",
    "0",
    ...(options.args ?? []),
  ], options.env);
  const stop = async (signal?: Deno.Signal) => {
    const status = await process.stop(signal);
    await Deno.remove(base, { recursive: true }).catch(() => {});
    return status;
  };
  return { ...process, stop, root, uploads };
}

/** Starts bastion with `options`, runs `body` with it, and stops it whatever happens. */
export function withBastion<T>(
  options: StartOptions,
  body: (server: Bastion) => T | Promise<T>,
): Promise<T>;
/** Starts bastion with the default options, runs `body` with it, and stops it whatever happens. */
export function withBastion<T>(body: (server: Bastion) => T | Promise<T>): Promise<T>;
export async function withBastion<T>(
  options: StartOptions | ((server: Bastion) => T | Promise<T>),
  body?: (server: Bastion) => T | Promise<T>,
): Promise<T> {
  if (typeof options === "function") return await withBastion({}, options);
  const server = await startBastion(options);
  try {
    return await body!(server);
  } finally {
    await server.stop();
  }
}

/**
 * Spawns bastion with exactly these permission flags (and any other `deno run`
 * flags among them) and arguments; resolves with the port once the banner shows.
 */
export async function launchBastion(
  flags: string[],
  args: string[],
  env: Record<string, string> = {},
): Promise<Omit<Bastion, "root" | "uploads">> {
  const process = spawnBastion(flags, args, env);
  const banner = (await process.waitForLog(BANNER)).match(BANNER)!;
  return { ...process, port: Number(banner[1] ?? banner[2]) };
}

/** Spawns bastion without waiting for anything (for start-up error tests). */
export function spawnBastion(
  permissions: string[],
  args: string[],
  env: Record<string, string> = {},
  module: string = MAIN,
): Omit<Bastion, "port" | "root" | "uploads"> {
  return spawnDeno(["run", "--quiet", "--no-prompt", ...permissions, module, ...args], env);
}

/**
 * Runs `deno task NAME -- ARGS` from the repository, as the README tells a
 * user to; resolves with the port once the banner shows.
 */
export async function launchTask(
  task: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Omit<Bastion, "root" | "uploads">> {
  const process = spawnTask(task, args, env);
  const banner = (await process.waitForLog(BANNER)).match(BANNER)!;
  return { ...process, port: Number(banner[1] ?? banner[2]) };
}

/** Spawns `deno task NAME -- ARGS` from the repository without waiting. */
export function spawnTask(
  task: string,
  args: string[],
  env: Record<string, string> = {},
): Omit<Bastion, "port" | "root" | "uploads"> {
  return spawnDeno(["task", "--quiet", task, "--", ...args], env, REPO);
}

/** Spawns `deno ARGS`, collecting its output. */
export function spawnDeno(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Omit<Bastion, "port" | "root" | "uploads"> {
  return spawnProgram(Deno.execPath(), args, env, cwd);
}

/** Spawns `program ARGS` (a compiled bastion, say), collecting its output. */
export function spawnProgram(
  program: string,
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Omit<Bastion, "port" | "root" | "uploads"> {
  const child = new Deno.Command(program, {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env,
  }).spawn();
  let out = "";
  let err = "";
  const waiters = new Set<() => void>();
  const pump = async (stream: ReadableStream<Uint8Array>, append: (text: string) => void) => {
    for await (const chunk of stream) {
      append(decoder.decode(chunk, { stream: true }));
      for (const wake of waiters) wake();
    }
  };
  const pumped = Promise.all([
    pump(child.stdout, (text) => out += text),
    pump(child.stderr, (text) => err += text),
  ]);
  const status = child.status.then(async (status) => {
    await pumped;
    for (const wake of waiters) wake();
    return status;
  });
  let exited = false;
  status.then(() => exited = true);
  return {
    pid: child.pid,
    stdout: () => out,
    stderr: () => err,
    status,
    async stop(signal: Deno.Signal = "SIGTERM") {
      if (!exited) {
        try {
          child.kill(signal);
        } catch { /* already gone */ }
      }
      return await status;
    },
    waitForLog(pattern: RegExp, timeoutMs = 15_000) {
      return new Promise<string>((resolve, reject) => {
        const check = () => {
          const match = out.match(pattern);
          if (match) {
            done();
            resolve(match[0]);
          } else if (exited) {
            done();
            reject(new Error(`bastion exited before ${pattern}; stderr: ${err}; stdout: ${out}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`Timed out waiting for ${pattern}; stdout: ${out.slice(-2000)}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** What workers must be allowed to read to load the server: `main.ts` and `src/`. */
export const WORKER_MODULES: readonly string[] = [
  MAIN,
  fromFileUrl(new URL("../src", import.meta.url)),
];

/** One parsed HTTP response. */
export interface RawResponse {
  status: number;
  reason: string;
  /** Header names lowercased, in order. */
  headers: [string, string][];
  body: Uint8Array;
  /** The raw head text. */
  head: string;
  header(name: string): string | undefined;
  text(): string;
}

/** A raw TCP client that reads responses incrementally. */
export class RawClient {
  conn: Deno.TcpConn;
  #buffer: Uint8Array = new Uint8Array(0);
  #eof = false;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  static async connect(port: number, hostname = "127.0.0.1"): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname, port }));
  }

  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let offset = 0;
    while (offset < bytes.length) offset += await this.conn.write(bytes.subarray(offset));
  }

  /** Reads one response; `head` for a HEAD request (no body expected). */
  async response(options: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    let end: number;
    while ((end = _indexOf(this.#buffer, "\r\n\r\n")) < 0) await this.#more(deadline);
    const head = new TextDecoder("latin1").decode(this.#buffer.subarray(0, end));
    this.#buffer = this.#buffer.subarray(end + 4);
    const [statusLine, ...lines] = head.split("\r\n");
    const match = /^HTTP\/1\.1 (\d{3}) (.*)$/.exec(statusLine);
    if (!match) throw new Error(`Bad status line: ${statusLine}`);
    const headers = lines.map((line) => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as [string, string];
    });
    const get = (name: string) => headers.find(([key]) => key === name)?.[1];
    const status = Number(match[1]);
    let body: Uint8Array = new Uint8Array(0);
    if (!options.head && status >= 200 && status !== 204 && status !== 304) {
      body = await this.#readBody(get("content-length"), get("transfer-encoding"), deadline);
    }
    return {
      status,
      reason: match[2],
      headers,
      body,
      head,
      header: get,
      text: () => decoder.decode(body),
    };
  }

  /** Resolves true when the server closes the connection within `timeoutMs`. */
  async closed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    try {
      while (!this.#eof) await this.#more(deadline);
      return true;
    } catch (error) {
      if ((error as Error).message === "read timeout") return false;
      return true; // reset by peer counts as closed
    }
  }

  /** Bytes received and not yet parsed. */
  get pending(): Uint8Array {
    return this.#buffer;
  }

  close(): void {
    this.#pendingRead?.catch(() => {});
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }

  async #readBody(length: string | undefined, encoding: string | undefined, deadline: number) {
    if (encoding === "chunked") return await this.#readChunked(deadline);
    if (length !== undefined) {
      const size = Number(length);
      while (this.#buffer.length < size) await this.#more(deadline);
      const body = this.#buffer.slice(0, size);
      this.#buffer = this.#buffer.subarray(size);
      return body;
    }
    while (!this.#eof) await this.#more(deadline);
    const body = this.#buffer;
    this.#buffer = new Uint8Array(0);
    return body;
  }

  async #readChunked(deadline: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for (;;) {
      let lineEnd: number;
      while ((lineEnd = _indexOf(this.#buffer, "\r\n")) < 0) await this.#more(deadline);
      const size = parseInt(decoder.decode(this.#buffer.subarray(0, lineEnd)), 16);
      this.#buffer = this.#buffer.subarray(lineEnd + 2);
      while (this.#buffer.length < size + 2) await this.#more(deadline);
      if (size === 0) {
        this.#buffer = this.#buffer.subarray(2);
        return concat(...parts);
      }
      parts.push(this.#buffer.slice(0, size));
      this.#buffer = this.#buffer.subarray(size + 2);
    }
  }

  async #more(deadline: number): Promise<void> {
    if (this.#eof) throw new Error("connection closed");
    const chunk = new Uint8Array(65536);
    const wait = deadline - Date.now();
    if (wait <= 0) throw new Error("read timeout");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) =>
      timer = setTimeout(() => resolve("timeout"), wait)
    );
    const read = this.#pendingRead ??= this.conn.read(chunk).then((n) => ({ n, chunk }));
    const result = await Promise.race([read, timeout]);
    clearTimeout(timer);
    if (result === "timeout") throw new Error("read timeout");
    this.#pendingRead = null;
    if (result.n === null) {
      this.#eof = true;
      return;
    }
    this.#buffer = concat(this.#buffer, result.chunk.subarray(0, result.n));
  }

  #pendingRead: Promise<{ n: number | null; chunk: Uint8Array }> | null = null;
}

/** Sends `data` on a new connection and reads one response. */
export async function roundTrip(
  port: number,
  data: string | Uint8Array,
  options: { head?: boolean } = {},
): Promise<RawResponse> {
  const client = await RawClient.connect(port);
  try {
    await client.send(data);
    return await client.response(options);
  } finally {
    client.close();
  }
}

/** A minimal GET request for `path`. */
export function get(path: string, extra = ""): string {
  return `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`;
}

function _indexOf(buffer: Uint8Array, text: string): number {
  const needle = encoder.encode(text);
  outer: for (let i = 0; i + needle.length <= buffer.length; i++) {
    for (let j = 0; j < needle.length; j++) if (buffer[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** The bytes of `parts` one after another, strings as UTF-8. */
export function concat(...parts: (string | Uint8Array)[]): Uint8Array {
  const bytes = parts.map((part) => typeof part === "string" ? encoder.encode(part) : part);
  const out = new Uint8Array(bytes.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of bytes) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Why no compiled binary can be built here, or `null` when a denort runtime
 * can be had (`DENORT_BIN`, or the one `deno compile` caches).
 */
export function denortUnavailable(): string | null {
  if (Deno.env.get("DENORT_BIN")) return null;
  const dir = Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache", "deno");
  const zip = join(
    dir,
    "dl",
    "release",
    `v${Deno.version.deno}`,
    `denort-${Deno.build.target}.zip`,
  );
  try {
    Deno.statSync(zip);
    return null;
  } catch {
    return `no denort runtime: set DENORT_BIN, or let Deno cache ${zip}`;
  }
}

/**
 * Sends `request` from `localAddress` (any of 127.0.0.0/8) and returns
 * everything until the server closes (5 s at most).
 */
export function fromAddress(port: number, localAddress: string, request: string): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    const socket = net.connect(
      { host: "127.0.0.1", port, localAddress },
      () => socket.write(request),
    );
    socket.setTimeout(5000, () => socket.destroy());
    socket.on("data", (chunk) => text += chunk.toString("latin1"));
    socket.on("close", () => resolve(text));
    socket.on("error", () => {});
  });
}
