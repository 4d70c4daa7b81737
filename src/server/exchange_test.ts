// exchange() in-process: a ByteSource over fixed bytes, a Responder over a
// fake conn, a PhaseClock and a tiny Handler; no socket, no server.
import { testContext } from "./testdata/test_context.ts";
import { assertEquals, assertMatch, assertRejects, assertTrue } from "../../tests/_assert.ts";
import type { ByteSource } from "../http/body_reader.ts";
import type { Exchange, Handler } from "../http/handler.ts";
import { parseHead } from "../http/head_parser.ts";
import { HttpError } from "../http/http_error.ts";
import type { HttpResponse } from "../http/response.ts";
import type { ServerContext } from "./context.ts";
import { exchange, type ExchangeIo } from "./exchange.ts";
import type { Outcome } from "./outcome.ts";
import { PhaseClock } from "./phase_clock.ts";
import { Responder } from "./responder.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NEXT = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";

/** A handler answering with `answer` (200 "ok" by default), or throwing what it throws. */
function handler(answer: (exchange: Exchange) => Promise<HttpResponse> = ok): Handler {
  return {
    handle: answer,
    errorResponse: (error, target) => error.toResponse(target === "/json"),
  };
}

function ok(): Promise<HttpResponse> {
  return Promise.resolve({ status: 200, headers: [], body: encoder.encode("ok") });
}

/** Bytes after the head, read from a fixed buffer; `fill` reports the end (or does `onFill`). */
function source(text: string, onFill = () => Promise.resolve(false)) {
  const bytes = encoder.encode(text);
  let offset = 0;
  const bytesSource: ByteSource = {
    buffered: () => bytes.subarray(offset),
    consume: (n) => void (offset += n),
    fill: onFill,
  };
  return { source: bytesSource, rest: () => decoder.decode(bytes.subarray(offset)) };
}

/** A context as `assemble.ts` makes one, for `app`, logging into `out`. */
function context(app: Handler): { ctx: ServerContext; logged: () => Promise<string> } {
  return testContext({ app, maxBody: 64 });
}

/** Runs one exchange of `head` + `rest` through `app`; what was written and what is left. */
async function run(
  head: string,
  rest: string,
  options: {
    app?: Handler;
    /** The request gate's refusal (`request_gate.ts`). */
    refusal?: HttpError;
    onFill?: (clock: PhaseClock) => Promise<boolean>;
  } = {},
) {
  const app = options.app ?? handler();
  const { ctx, logged } = context(app);
  const clock = new PhaseClock(ctx.config);
  let written = "";
  const conn = {
    write: (bytes: Uint8Array) => (written += decoder.decode(bytes), Promise.resolve(bytes.length)),
  };
  const responder = new Responder({ conn, clock, ctx, tag: "w1#c1", peer: "127.0.0.1" });
  const onFill = options.onFill;
  const body = source(rest, onFill && (() => onFill(clock)));
  const io: ExchangeIo = {
    handler: app,
    bodyLimits: ctx.bodyLimits,
    body: body.source,
    responder,
    local: "127.0.0.1",
  };
  const headBytes = encoder.encode(head);
  const origin = {
    head: parseHead(headBytes, 0, headBytes.length),
    requestId: "rid-1",
    started: performance.now(),
    client: "127.0.0.1",
  };
  const settle = async () => {
    return { written: () => written, rest: body.rest, logged: await logged(), clock };
  };
  try {
    const outcome = await exchange(io, origin, options.refusal ?? null);
    return { outcome, ...(await settle()) };
  } catch (error) {
    await settle();
    throw error;
  }
}

/** The 429 the request gate makes when the rate limit refuses a request. */
function tooMany(seconds: number): HttpError {
  return new HttpError(429, "Too many requests", {
    reason: "rate",
    headers: [["Retry-After", String(seconds)]],
  });
}

function post(length: number, extra = ""): string {
  return `POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: ${length}\r\n${extra}\r\n`;
}

const CHUNKED = "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

function statusOf(outcome: Outcome): [number, boolean] {
  return [outcome.response.status, outcome.close];
}

Deno.test("exchange() answers 429 with Retry-After and still drains the body", async () => {
  let called = false;
  const app = handler(() => (called = true, ok()));
  const { outcome, rest } = await run(post(5), "hello" + NEXT, { app, refusal: tooMany(3) });
  assertEquals(statusOf(outcome), [429, false]);
  assertTrue(outcome.response.headers.some(([n, v]) => n === "Retry-After" && v === "3"));
  assertEquals(outcome.error?.reason, "rate");
  assertEquals(outcome.request?.method, "POST");
  assertEquals(called, false, "the handler is not asked");
  assertEquals(rest(), NEXT, "the body is read, the next request is left");
});

Deno.test("exchange() answers 429 and marks the connection to close when the body awaits a 100 Continue", async () => {
  const { outcome, rest, written } = await run(post(5, "Expect: 100-continue\r\n"), "hello", {
    refusal: tooMany(1),
  });
  assertEquals(statusOf(outcome), [429, true]);
  assertEquals(written(), "", "no 100 Continue was sent");
  assertEquals(rest(), "hello", "a body never asked for is not read");
});

Deno.test("exchange() makes a handler's HttpError its outcome, in the handler's error look", async () => {
  const refusal = new HttpError(404, "Not found");
  const app = handler(() => Promise.reject(refusal));
  const { outcome } = await run("GET /json HTTP/1.1\r\nHost: a\r\n\r\n", NEXT, { app });
  assertEquals(statusOf(outcome), [404, false]);
  assertTrue(outcome.error === refusal, "the handler's own error");
  assertEquals(outcome.request?.path, "/json");
  assertEquals(
    decoder.decode(outcome.response.body as Uint8Array),
    '{"status":"error","message":"Not found"}',
  );
});

Deno.test("exchange() makes a handler's other failure a logged 500 that closes", async () => {
  const app = handler(() => Promise.reject(new TypeError("oops at /secret/path")));
  const { outcome, logged } = await run("GET / HTTP/1.1\r\nHost: a\r\n\r\n", "", { app });
  assertEquals(statusOf(outcome), [500, true]);
  const text = decoder.decode(outcome.response.body as Uint8Array);
  assertMatch(text, /^Internal Server Error/);
  assertTrue(!text.includes("oops") && !text.includes("/secret"), "the failure is not shown");
  assertMatch(logged, /ERROR w1 request failed conn=w1#c1 error="TypeError: oops/);
});

Deno.test("exchange() discards a body the handler left unread and keeps the connection", async () => {
  const { outcome, rest } = await run(post(5), "hello" + NEXT);
  assertEquals(statusOf(outcome), [200, false]);
  assertEquals(outcome.error, null);
  assertEquals(rest(), NEXT);
});

Deno.test("exchange() marks the connection to close rather than read a body whose 100 Continue was not sent", async () => {
  const { outcome, rest, written } = await run(post(5, "Expect: 100-continue\r\n"), "hello");
  assertEquals(statusOf(outcome), [200, true]);
  assertEquals(written(), "");
  assertEquals(rest(), "hello");
});

Deno.test("exchange() sends 100 Continue once when the handler asks, and keeps the connection", async () => {
  const app = handler(async ({ body, sendContinue }) => {
    await sendContinue();
    await sendContinue();
    return { status: 200, headers: [], body: await body.readAll() };
  });
  const { outcome, written } = await run(post(5, "Expect: 100-continue\r\n"), "hello", { app });
  assertEquals(statusOf(outcome), [200, false]);
  assertEquals(decoder.decode(outcome.response.body as Uint8Array), "hello");
  assertEquals(written().match(/^HTTP\/1\.1 100 Continue\r\n/gm)?.length, 1, written());
});

Deno.test("exchange() answers a framing error in the rest of the body instead of the handler's answer, which it releases", async () => {
  let released = false;
  const app = handler(() =>
    Promise.resolve({
      status: 200,
      headers: [],
      body: { length: 2, chunks: async function* () {}, close: () => void (released = true) },
    })
  );
  const { outcome } = await run(CHUNKED, "zz\r\n", { app });
  assertEquals(statusOf(outcome), [400, true]);
  assertEquals(outcome.error?.reason, "parse");
  assertTrue(released, "the handler's stream was closed");
});

Deno.test("exchange() answers a framing error in the rest of the body instead of the handler's refusal", async () => {
  const app = handler(() => Promise.reject(new HttpError(404)));
  const { outcome } = await run(CHUNKED, "5\r\nhello\r\nzz\r\n", { app });
  assertEquals(statusOf(outcome), [400, true]);
  assertEquals(outcome.request?.method, "POST");
});

Deno.test("exchange() answers 413 for a Content-Length over the body limit without asking the handler", async () => {
  let called = false;
  const app = handler(() => (called = true, ok()));
  const { outcome } = await run(post(65), "x".repeat(65), { app });
  assertEquals(statusOf(outcome), [413, true]);
  assertEquals(outcome.error?.reason, "limit");
  assertEquals(called, false);
});

Deno.test("exchange() answers a head it cannot interpret (no Host) with 400 and no request", async () => {
  const { outcome } = await run("GET / HTTP/1.1\r\n\r\n", "");
  assertEquals(statusOf(outcome), [400, true]);
  assertEquals(outcome.request, null);
  assertEquals(outcome.requestId, "rid-1");
});

Deno.test("exchange() throws, answering nothing, when the connection closed while the body was read", async () => {
  const app = handler(async ({ body }) => {
    await body.readAll();
    return await ok();
  });
  const closed = new Deno.errors.BadResource("Connection closed");
  const error = await assertRejects(() =>
    run(post(10), "hel", {
      app,
      // As the connection's body feed does when the socket closes under it.
      onFill: (clock) => {
        clock.close();
        return Promise.reject(closed);
      },
    })
  );
  assertTrue(error === closed, String(error));
});
