/**
 * What every connection of one server shares.
 * @module
 */

import type { Config } from "../config.ts";
import type { BodyLimits } from "../http/body_reader.ts";
import type { Handler } from "../http/handler.ts";
import type { HeadParser } from "../http/head_parser.ts";
import type { TrustedProxies } from "../guard/trust_proxy.ts";
import type { ProxyWarning } from "../guard/proxy_warning.ts";
import type { Logger } from "../log.ts";
import type { Admission } from "./admission.ts";
import type { Metrics } from "../shared/metrics.ts";
import type { CommonHeaders } from "./common_headers.ts";
import type { DeadlineSweeper } from "./deadlines.ts";
import type { FairTurns } from "./fair_turn.ts";

/** Shared by the connections of one listener. */
export interface ServerContext {
  config: Config;
  /** Answers the requests. */
  app: Handler;
  log: Logger;
  /** Parses request heads, keeping the texts clients repeat. */
  parser: HeadParser;
  sweeper: DeadlineSweeper;
  /** The turns its connections take under heavy concurrency. */
  turns: FairTurns;
  common: CommonHeaders;
  bodyLimits: BodyLimits;
  workerId: number;
  /** Caps, rate limit and bans, shared by all workers. */
  admission: Admission;
  /** Who the client is behind a trusted proxy. */
  proxies: TrustedProxies;
  /** Warns about forwarded headers from an untrusted peer (per worker). */
  proxyWarning: ProxyWarning;
  /** Counters shared by all workers. */
  metrics: Metrics;
  /** True once shutdown began: responses then carry `Connection: close`. */
  draining(): boolean;
}
