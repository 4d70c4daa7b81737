import { assertEquals, assertTrue } from "../../tests/_assert.ts";
import { ProxyWarning, type ProxyWarningOptions } from "./proxy_warning.ts";
import { TrustedProxies } from "./trust_proxy.ts";

const XFF: [string, string][] = [["host", "localhost"], ["x-forwarded-for", "203.0.113.9"]];
const FORWARDED: [string, string][] = [["forwarded", "for=203.0.113.9"]];
const PLAIN: [string, string][] = [["host", "localhost"], ["accept", "*/*"]];

/** A warning on a clock the test moves, and the lines it wrote. */
function setup(options: Partial<ProxyWarningOptions> = {}) {
  const lines: string[] = [];
  const clock = { ms: 1_000_000 };
  const warning = new ProxyWarning({
    proxies: new TrustedProxies([]),
    warn: (message) => lines.push(message),
    now: () => clock.ms,
    ...options,
  });
  return { warning, lines, clock };
}

Deno.test("ProxyWarning warns once per untrusted peer that sends X-Forwarded-For or Forwarded", () => {
  const { warning, lines, clock } = setup();
  warning.notice("10.0.0.5", PLAIN);
  assertEquals(lines.length, 0);
  warning.notice("10.0.0.5", XFF);
  warning.notice("10.0.0.5", XFF);
  assertEquals(lines.length, 1);
  assertTrue(lines[0].includes("X-Forwarded-For from 10.0.0.5"), lines[0]);
  assertTrue(lines[0].includes("--trust-proxy 10.0.0.5"), lines[0]);
  assertTrue(lines[0].includes("one rate limit and one ban"), lines[0]);
  clock.ms += 120_000;
  warning.notice("10.0.0.5", FORWARDED);
  assertEquals(lines.length, 1, "a peer is told about once");
  warning.notice("10.0.0.6", FORWARDED);
  assertEquals(lines.length, 2);
  assertTrue(lines[1].startsWith("Forwarded from 10.0.0.6"), lines[1]);
});

Deno.test("ProxyWarning warns at most once a minute, and tells about a held-back peer later", () => {
  const { warning, lines, clock } = setup();
  warning.notice("10.0.0.1", XFF);
  clock.ms += 59_999;
  warning.notice("10.0.0.2", XFF);
  assertEquals(lines.length, 1);
  clock.ms += 1;
  warning.notice("10.0.0.2", XFF);
  assertEquals(lines.length, 2);
  assertTrue(lines[1].includes("10.0.0.2"));
});

Deno.test("ProxyWarning says nothing about a trusted proxy", () => {
  const { warning, lines } = setup({ proxies: new TrustedProxies(["10.0.0.0/8"]) });
  warning.notice("10.0.0.5", XFF);
  warning.notice("10.0.0.5", FORWARDED);
  assertEquals(lines.length, 0);
  warning.notice("192.0.2.1", XFF);
  assertEquals(lines.length, 1);
});

Deno.test("ProxyWarning remembers a bounded number of peers, forgetting the oldest first", () => {
  const { warning, lines, clock } = setup({ maxPeers: 2, intervalMs: 0 });
  for (const peer of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) warning.notice(peer, XFF);
  assertEquals(lines.length, 3);
  clock.ms += 1;
  warning.notice("10.0.0.3", XFF);
  assertEquals(lines.length, 3, "the newest is still remembered");
  warning.notice("10.0.0.1", XFF);
  assertEquals(lines.length, 4, "the oldest was forgotten");
});
