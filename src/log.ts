/**
 * The one logger: access lines, security events, start-up banner and alerts,
 * as text or JSON lines. Writes are batched and asynchronous so a slow log
 * reader can never stall the event loop; past a bound, lines are dropped and
 * the drop is counted in the next line written.
 * @module
 */

/** Log levels in increasing severity. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVELS: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const MAX_PENDING_BYTES = 4 * 1024 * 1024;
const FLUSH_DELAY_MS = 20;
/** Writes up to this size reach a pipe in one piece (POSIX PIPE_BUF on Linux). */
const PIPE_BUF = 4096;

/** One line in the access log. */
export interface AccessEntry {
  /** `w1#c42`: worker and connection. */
  tag: string;
  client: string;
  /** The request line, or `-` when none could be parsed. */
  requestLine: string;
  status: number;
  bytes: number;
  durationMs: number;
  requestId: string;
  /**
   * Set when the response was cut short: `body` when its body failed (a file
   * that shrank, vanished or could not be read), `conn` when the connection
   * did (the client left or was too slow). The line then ends in `cut=…`.
   * @default null
   */
  cut?: "body" | "conn" | null;
}

/** Options of {@linkcode Logger}. */
export interface LoggerOptions {
  /** @default "text" */
  format?: "text" | "json";
  /** @default "info" */
  level?: LogLevel;
  /** Worker id, part of every JSON line. @default 1 */
  worker?: number;
  /** Where lines go. @default Deno.stdout */
  out?: { write(bytes: Uint8Array): Promise<number> };
}

/**
 * Writes log lines.
 *
 * @example
 * ```ts
 * import { Logger } from "./log.ts";
 * const log = new Logger({ format: "json" });
 * log.info("started", { port: 8080 });
 * await log.flush();
 * ```
 */
export class Logger {
  #format: "text" | "json";
  #level: number;
  #worker: number;
  #out: { write(bytes: Uint8Array): Promise<number> };
  #pending: string[] = [];
  #pendingBytes = 0;
  #dropped = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #writing: Promise<void> = Promise.resolve();
  #encoder = new TextEncoder();
  #stampMs = -1;
  #stamp = "";

  constructor(options: LoggerOptions = {}) {
    this.#format = options.format ?? "text";
    this.#level = LEVELS[options.level ?? "info"];
    this.#worker = options.worker ?? 1;
    this.#out = options.out ?? Deno.stdout;
  }

  /** Logs one served request at `info`. */
  access(entry: AccessEntry): void {
    if (this.#level > LEVELS.info) return;
    const duration = Math.round(entry.durationMs * 10) / 10;
    if (this.#format === "json") {
      this.#jsonLine("info", {
        event: "access",
        conn: entry.tag,
        client: entry.client,
        request: entry.requestLine,
        status: entry.status,
        bytes: entry.bytes,
        duration_ms: duration,
        rid: entry.requestId,
        ...(entry.cut ? { cut: entry.cut } : {}),
      });
      return;
    }
    this.#push(
      `${this.#now()} INFO ${entry.tag} ${entry.client} "${entry.requestLine}" ` +
        `${entry.status} ${entry.bytes} ${duration}ms rid=${entry.requestId}` +
        (entry.cut ? ` cut=${entry.cut}` : ""),
    );
  }

  /** Logs a security event at `warn` with its reason code. */
  security(reason: string, fields: Record<string, string | number>): void {
    this.#log("warn", "security", { reason, ...fields });
  }

  /** Logs at `info` whatever the level: the start-up banner and the stop line. */
  always(message: string, fields: Record<string, unknown> = {}): void {
    this.#line("info", message, fields);
  }

  /** Logs at `debug`. */
  debug(message: string, fields: Record<string, unknown> = {}): void {
    this.#log("debug", message, fields);
  }

  /** Logs at `info`. */
  info(message: string, fields: Record<string, unknown> = {}): void {
    this.#log("info", message, fields);
  }

  /** Logs at `warn`. */
  warn(message: string, fields: Record<string, unknown> = {}): void {
    this.#log("warn", message, fields);
  }

  /** Logs at `error`. */
  error(message: string, fields: Record<string, unknown> = {}): void {
    this.#log("error", message, fields);
  }

  /** The time as ISO 8601, formatted once per millisecond however many lines share it. */
  #now(): string {
    const ms = Date.now();
    if (ms !== this.#stampMs) {
      this.#stampMs = ms;
      this.#stamp = new Date(ms).toISOString();
    }
    return this.#stamp;
  }

  /** Writes everything pending; resolves once written. */
  flush(): Promise<void> {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#pending.length > 0) {
      const chunks = _atomicChunks(this.#pending).map((text) => this.#encoder.encode(text));
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#writing = this.#writing.then(async () => {
        for (const bytes of chunks) await _writeAll(this.#out, bytes);
      }).catch(() => {});
    }
    return this.#writing;
  }

  #log(level: LogLevel, message: string, fields: Record<string, unknown>): void {
    if (LEVELS[level] >= this.#level) this.#line(level, message, fields);
  }

  /** Writes one line, whatever the level. */
  #line(level: LogLevel, message: string, fields: Record<string, unknown>): void {
    if (this.#format === "json") {
      this.#jsonLine(level, { msg: message, ...fields });
      return;
    }
    const details = Object.entries(fields)
      .map(([key, value]) => `${key}=${_textValue(value)}`)
      .join(" ");
    const worker = `w${this.#worker}`;
    this.#push(
      `${this.#now()} ${level.toUpperCase()} ${worker} ${message}${details ? " " + details : ""}`,
    );
  }

  #jsonLine(level: LogLevel, fields: Record<string, unknown>): void {
    this.#push(
      JSON.stringify({ time: this.#now(), level, worker: this.#worker, ...fields }),
    );
  }

  #push(line: string): void {
    if (this.#pendingBytes + line.length > MAX_PENDING_BYTES) {
      this.#dropped++;
      return;
    }
    if (this.#dropped > 0) {
      const note = `${this.#now()} WARN w${this.#worker} log lines dropped=${this.#dropped}`;
      this.#dropped = 0;
      this.#pending.push(note);
    }
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    this.#timer ??= setTimeout(() => {
      this.#timer = null;
      this.flush();
    }, FLUSH_DELAY_MS);
  }
}

/**
 * Makes untrusted text safe for one log line: control characters, quotes,
 * backslashes and non-ASCII become `\xNN`; long text is cut.
 *
 * @example
 * ```ts
 * import { sanitizeForLog } from "./log.ts";
 * sanitizeForLog('GET /"\n HTTP/1.1'); // 'GET /\\x22\\x0a HTTP/1.1'
 * ```
 */
export function sanitizeForLog(text: string, max = 512): string {
  if (text.length <= max && _safeForLog(text)) return text;
  const cut = text.length > max ? text.slice(0, max) : text;
  const safe = cut.replace(
    /[^\x20-\x21\x23-\x5b\x5d-\x7e]/g,
    (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return text.length > max ? safe + "..." : safe;
}

/** Whether `text` has only the characters {@linkcode sanitizeForLog} keeps (most request lines). */
function _safeForLog(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code > 0x7e || code === 0x22 || code === 0x5c) return false;
  }
  return true;
}

/**
 * Joins lines into writes of at most PIPE_BUF (4 KiB) bytes, split at line
 * ends: writes that small reach a pipe whole, so lines from several worker
 * threads never interleave mid-line.
 */
function _atomicChunks(lines: string[]): string[] {
  const chunks: string[] = [];
  let chunk = "";
  for (const line of lines) {
    if (chunk !== "" && chunk.length + line.length + 1 > PIPE_BUF) {
      chunks.push(chunk);
      chunk = "";
    }
    chunk += line + "\n";
  }
  if (chunk !== "") chunks.push(chunk);
  return chunks;
}

function _textValue(value: unknown): string {
  if (typeof value === "string" && /^[\x21\x23-\x7e]*$/.test(value)) return value;
  return JSON.stringify(value);
}

/**
 * Escapes control characters (`\n` → `\x0a`) so that text stays on one line;
 * everything else is kept.
 *
 * @example
 * ```ts
 * import { escapeControl } from "./log.ts";
 * escapeControl("a\nb"); // "a\\x0ab"
 * ```
 */
export function escapeControl(text: string): string {
  let out = "";
  for (const char of text) {
    const code = char.charCodeAt(0);
    out += code < 32 || code === 127 ? `\\x${code.toString(16).padStart(2, "0")}` : char;
  }
  return out;
}

async function _writeAll(
  out: { write(bytes: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await out.write(bytes.subarray(offset));
}
