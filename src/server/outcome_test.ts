// recordOutcome(), sendOutcome() and headOptions() in-process: a real context's
// logger writes into a string, the "connection" is a function that collects bytes.
import { testContext } from "./testdata/test_context.ts";
import {
  assertEquals,
  assertMatch,
  assertNotMatch,
  assertRejects,
  assertTrue,
} from "../../tests/_assert.ts";
import { type RequestHead } from "../http/head_parser.ts";
import { HttpError } from "../http/http_error.ts";
import type { BodyStream, HttpResponse } from "../http/response.ts";
import type { ServerContext } from "./context.ts";
import { headOptions, type Outcome, recordOutcome, sendOutcome } from "./outcome.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A context as `assemble.ts` makes one; `logged()` flushes its log and returns the lines. */
function context(): { ctx: ServerContext; logged: () => Promise<string> } {
  return testContext();
}

function head(method = "GET", target = "/a.txt", version: RequestHead["version"] = "HTTP/1.1") {
  return { method, target, version, fields: [["host", "a"]] } as RequestHead;
}

function outcome(response: HttpResponse, more: Partial<Outcome> = {}): Outcome {
  return {
    head: head(),
    request: null,
    response,
    error: null,
    close: false,
    requestId: "rid-7",
    started: performance.now(),
    client: "192.0.2.9",
    ...more,
  };
}

function text(body: string): HttpResponse {
  return { status: 200, headers: [["Content-Type", "text/plain"]], body: encoder.encode(body) };
}

/** A stream of `pieces`, then `failure` thrown if given; `closed` once closed. */
function stream(pieces: string[], failure: Error | null = null) {
  const state = { closed: false };
  const body: BodyStream = {
    length: pieces.join("").length + (failure === null ? 0 : 10),
    chunks: async function* () {
      for (const piece of pieces) yield encoder.encode(piece);
      if (failure !== null) throw failure;
    },
    close: () => void (state.closed = true),
  };
  return { body, state };
}

/** A write that collects bytes; from the `failAt`-th call on (1-based), it rejects. */
function collector(failAt = Infinity) {
  let calls = 0;
  const sink = { text: "" };
  const write = (bytes: Uint8Array): Promise<void> => {
    if (++calls >= failAt) return Promise.reject(new Deno.errors.BrokenPipe("peer left"));
    sink.text += decoder.decode(bytes);
    return Promise.resolve();
  };
  return { write, sink };
}

Deno.test("sendOutcome() writes the response and logs one access line with request line, status, bytes and request id", async () => {
  const { ctx, logged } = context();
  const { write, sink } = collector();
  await sendOutcome(ctx, "w1#c3", write, outcome(text("hello")), false);
  assertMatch(sink.text, /^HTTP\/1\.1 200 OK\r\n/);
  assertMatch(sink.text, /\r\nX-Request-Id: rid-7\r\n/);
  assertMatch(sink.text, /\r\nContent-Length: 5\r\n\r\nhello$/);
  assertNotMatch(sink.text, /Connection:/);
  const lines = (await logged()).trimEnd().split("\n");
  assertEquals(lines.length, 1, lines.join("\n"));
  assertMatch(
    lines[0],
    / INFO w1#c3 192\.0\.2\.9 "GET \/a\.txt HTTP\/1\.1" 200 5 [\d.]+ms rid=rid-7$/,
  );
  assertMatch(
    ctx.metrics.render({ connectionsOpen: 0 }),
    /requests_total\{method="GET",status="200"\} 1/,
  );
});

Deno.test("sendOutcome() with close sends Connection: close", async () => {
  const { ctx, logged } = context();
  const { write, sink } = collector();
  await sendOutcome(ctx, "w1#c3", write, outcome(text("x")), true);
  assertMatch(sink.text, /\r\nConnection: close\r\n/);
  await logged();
});

Deno.test("sendOutcome() logs a security event for an error with a reason, and counts the rejection", async () => {
  const { ctx, logged } = context();
  const error = new HttpError(403, "Host not allowed", { reason: "host" });
  const { write } = collector();
  await sendOutcome(ctx, "w1#c4", write, outcome(error.toResponse(), { error }), false);
  const lines = (await logged()).trimEnd().split("\n");
  assertEquals(lines.length, 2, lines.join("\n"));
  assertMatch(lines[0], / 403 /);
  assertMatch(
    lines[1],
    /WARN w1 security reason=host conn=w1#c4 client=192\.0\.2\.9 status=403 request="GET \/a\.txt HTTP\/1\.1" detail="Host not allowed" rid=rid-7$/,
  );
  assertMatch(ctx.metrics.render({ connectionsOpen: 0 }), /rejections_total\{reason="host"\} 1/);
});

Deno.test("sendOutcome() logs no security event for an error without a reason", async () => {
  const { ctx, logged } = context();
  const error = new HttpError(404);
  await sendOutcome(ctx, "w1#c4", collector().write, outcome(error.toResponse(), { error }), false);
  assertNotMatch(await logged(), /security/);
});

Deno.test("sendOutcome() marks the access line cut=body when the body stream fails midway, and closes it", async () => {
  const { ctx, logged } = context();
  const { body, state } = stream(["abc"], new Error("file shrank"));
  const { write } = collector();
  const response: HttpResponse = { status: 200, headers: [], body };
  await assertRejects(() => sendOutcome(ctx, "w1#c5", write, outcome(response), false));
  assertMatch(await logged(), / 200 3 [\d.]+ms rid=rid-7 cut=body\n$/);
  assertTrue(state.closed, "the stream was closed");
});

Deno.test("sendOutcome() marks the access line cut=conn when the write fails", async () => {
  const { ctx, logged } = context();
  const { body, state } = stream(["abc", "def"]);
  // The head goes out, then the first piece, then the connection fails.
  const { write } = collector(3);
  const response: HttpResponse = { status: 200, headers: [], body };
  const error = await assertRejects(() =>
    sendOutcome(ctx, "w1#c6", write, outcome(response), false)
  );
  assertTrue(error instanceof Deno.errors.BrokenPipe, String(error));
  assertMatch(await logged(), / 200 3 [\d.]+ms rid=rid-7 cut=conn\n$/);
  assertTrue(state.closed);
});

Deno.test("sendOutcome() sends no body for HEAD, with the length GET would have", async () => {
  const { ctx, logged } = context();
  const { write, sink } = collector();
  await sendOutcome(ctx, "w1#c7", write, outcome(text("hello"), { head: head("HEAD") }), false);
  assertMatch(sink.text, /\r\nContent-Length: 5\r\n\r\n$/);
  assertMatch(await logged(), /"HEAD \/a\.txt HTTP\/1\.1" 200 0 /);
});

Deno.test("recordOutcome() logs '-' for an outcome without a head and makes a request line safe for the log", async () => {
  const { ctx, logged } = context();
  recordOutcome(ctx, "w1#c8", outcome(text(""), { head: null }), { body: 0, cut: null });
  recordOutcome(ctx, "w1#c8", outcome(text(""), { head: head("GET", '/a"b\\') }), {
    body: 0,
    cut: null,
  });
  const lines = (await logged()).trimEnd().split("\n");
  assertMatch(lines[0], / 192\.0\.2\.9 "-" 200 0 /);
  assertMatch(lines[1], / "GET \/a\\x22b\\x5c HTTP\/1\.1" 200 /);
  assertMatch(ctx.metrics.render({ connectionsOpen: 0 }), /method="OTHER",status="200"\} 1/);
});

Deno.test("recordOutcome() leaves counting uploads to the handler: a 201 alone is none", async () => {
  const { ctx, logged } = context();
  const response: HttpResponse = { status: 201, headers: [], body: null };
  recordOutcome(ctx, "w1#c9", outcome(response, { head: head("POST", "/upload") }), {
    body: 0,
    cut: null,
  });
  assertMatch(ctx.metrics.render({ connectionsOpen: 0 }), /bastion_uploads_total 0\n/);
  await logged();
});

Deno.test("headOptions() answers in the request's version, HTTP/1.1 without a head, and no body only for HEAD", () => {
  const { ctx } = context();
  const old = headOptions(ctx, "rid-1", false, head("GET", "/", "HTTP/1.0"));
  assertEquals([old.version, old.head, old.close], ["HTTP/1.0", false, false]);
  const none = headOptions(ctx, "rid-2", true, null);
  assertEquals([none.version, none.head, none.close], ["HTTP/1.1", false, true]);
  assertEquals(headOptions(ctx, "rid-3", false, head("HEAD")).head, true);
  assertTrue(none.common.some(([name, value]) => name === "X-Request-Id" && value === "rid-2"));
  assertTrue(none.common.some(([name]) => name === "Date"));
  assertMatch(decoder.decode(none.fixed), /^Server: bastion\r\n/);
});
