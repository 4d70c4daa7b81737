// The gate over a real context: the client behind a trusted proxy, bans,
// rate-limit tokens, request ids, and who a rejection strikes.
import { testContext } from "./testdata/test_context.ts";
import { assertEquals, assertTrue } from "../../tests/_assert.ts";
import { HeadParser } from "../http/head_parser.ts";
import { TextCache } from "../http/text_cache.ts";
import { admitRequest, strike } from "./request_gate.ts";

const parser = new HeadParser(new TextCache());

function head(fields = "") {
  const text = `GET / HTTP/1.1\r\nHost: a\r\n${fields}\r\n`;
  const bytes = new TextEncoder().encode(text);
  return parser.parse(bytes, 0, bytes.length);
}

Deno.test("request gate: a client is admitted with a token and a request id", () => {
  const { ctx } = testContext({ flags: ["--rate-limit", "1/s:2"] });
  const first = admitRequest(ctx, "192.0.2.7", head("X-Request-Id: abc-123\r\n"));
  assertEquals(first, { client: "192.0.2.7", refusal: null, requestId: "abc-123" });
  assertEquals(admitRequest(ctx, "192.0.2.7", head())?.refusal, null);
  const limited = admitRequest(ctx, "192.0.2.7", head())?.refusal;
  assertEquals(
    [limited?.status, limited?.headers],
    [429, [["Retry-After", "1"]]],
    "over the burst",
  );
  assertEquals(admitRequest(ctx, "192.0.2.8", head())?.refusal, null, "another client");
});

Deno.test("request gate: a banned client gets null, a strike counts against it", () => {
  const { ctx } = testContext({ flags: ["--ban", "2/60s:60s"] });
  assertEquals(strike(ctx, "192.0.2.7", "192.0.2.7", "parse"), false);
  assertEquals(strike(ctx, "192.0.2.7", "192.0.2.7", "parse"), true, "the second strike bans");
  assertEquals(admitRequest(ctx, "192.0.2.7", head()), null);
  assertTrue(admitRequest(ctx, "192.0.2.8", head()) !== null);
});

Deno.test("request gate: behind a trusted proxy the forwarded client is the one struck", () => {
  const { ctx } = testContext({ flags: ["--trust-proxy", "10.0.0.1", "--ban", "1/60s:60s"] });
  const forwarded = head("X-Forwarded-For: 198.51.100.9\r\n");
  assertEquals(admitRequest(ctx, "10.0.0.1", forwarded)?.client, "198.51.100.9");
  assertEquals(strike(ctx, "10.0.0.1", "10.0.0.1", "parse"), false, "the proxy itself is spared");
  assertEquals(strike(ctx, "10.0.0.1", "198.51.100.9", "parse"), true);
  // The proxy's connection carries other clients: the banned one gets a 403, not a close.
  const banned = admitRequest(ctx, "10.0.0.1", forwarded)?.refusal;
  assertEquals([banned?.status, banned?.reason], [403, "ban"]);
  assertEquals(
    admitRequest(ctx, "10.0.0.1", head())?.client,
    "10.0.0.1",
    "the proxy still gets in",
  );
});
