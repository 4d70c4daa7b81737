// A ServerContext for tests, made as src/assemble.ts makes one, with no
// listener: a handler, a log that keeps its lines, and small limits. The
// flags' rate limit, ban rule and trusted proxies apply.
import { parseCommand } from "../../config.ts";
import { ProxyWarning } from "../../guard/proxy_warning.ts";
import { TrustedProxies } from "../../guard/trust_proxy.ts";
import type { Handler } from "../../http/handler.ts";
import { HeadParser } from "../../http/head_parser.ts";
import { TextCache } from "../../http/text_cache.ts";
import { Logger } from "../../log.ts";
import { ClientTable } from "../../shared/client_table.ts";
import { Metrics } from "../../shared/metrics.ts";
import { Admission } from "../admission.ts";
import { CommonHeaders } from "../common_headers.ts";
import type { ServerContext } from "../context.ts";
import { DeadlineSweeper } from "../deadlines.ts";
import { FairTurns } from "../fair_turn.ts";

/** Options of {@linkcode testContext}. */
export interface TestContextOptions {
  /** @default a handler that refuses every request with an Error */
  app?: Handler;
  /** More bastion flags. @default [] */
  flags?: string[];
  /** The body limit. @default 1024 */
  maxBody?: number;
}

/** A context, and `logged()`: its log flushed, as text. */
export function testContext(
  options: TestContextOptions = {},
): { ctx: ServerContext; logged: () => Promise<string> } {
  const command = parseCommand(["--root", "/nonexistent", ...(options.flags ?? [])]);
  if (command.kind !== "run") throw new Error("Unexpected command");
  const decoder = new TextDecoder();
  const out: string[] = [];
  const log = new Logger({
    out: { write: (bytes) => (out.push(decoder.decode(bytes)), Promise.resolve(bytes.length)) },
  });
  const { config } = command;
  const proxies = new TrustedProxies(config.trustProxy);
  const ctx: ServerContext = {
    config,
    app: options.app ?? {
      handle: () => Promise.reject(new Error("unused")),
      errorResponse: (error) => error.toResponse(),
    },
    log,
    parser: new HeadParser(new TextCache()),
    // Nothing here waits for the sweep: tests call expire() themselves.
    sweeper: new DeadlineSweeper(60_000),
    turns: new FairTurns(),
    common: new CommonHeaders({}),
    bodyLimits: { maxBody: options.maxBody ?? 1024, maxTrailer: 1024, maxTrailerFields: 10 },
    workerId: 1,
    admission: new Admission({
      table: ClientTable.create(16),
      maxConnections: 10,
      maxConnectionsPerIp: 10,
      queue: 0,
      queueTimeoutMs: 1000,
      rateLimit: config.rateLimit,
      ban: config.ban,
    }),
    proxies,
    proxyWarning: new ProxyWarning({ proxies, warn: () => {} }),
    metrics: Metrics.create(),
    draining: () => false,
  };
  return { ctx, logged: async () => (await log.flush(), out.join("")) };
}
