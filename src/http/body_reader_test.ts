import { assertEquals, assertRejects, assertThrows, assertTrue } from "../../tests/_assert.ts";
import { type BodyLimits, BodyReader, type ByteSource } from "./body_reader.ts";
import { HttpError } from "./http_error.ts";
import type { BodyFraming } from "./request.ts";

const LIMITS: BodyLimits = { maxBody: 1024, maxTrailer: 256, maxTrailerFields: 8 };
const encoder = new TextEncoder();
const text = new TextDecoder();
const NEXT = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";

/**
 * A connection's read buffer over `wire`: each `fill()` delivers the next
 * piece (sizes cycle through `pieces`). Like a real socket buffer it reuses
 * its storage, so views it handed out may be overwritten by a later fill.
 */
class FakeSource implements ByteSource {
  fills = 0;
  #wire: Uint8Array;
  #pieces: number[];
  #delivered = 0;
  #buffer = new Uint8Array(64);
  #start = 0;
  #end = 0;

  constructor(wire: string | Uint8Array, pieces: number[] = [Infinity], preload = 0) {
    this.#wire = typeof wire === "string" ? encoder.encode(wire) : wire;
    this.#pieces = pieces;
    if (preload > 0) this.#append(preload);
  }

  buffered(): Uint8Array {
    return this.#buffer.subarray(this.#start, this.#end);
  }

  consume(n: number): void {
    if (n < 0 || n > this.#end - this.#start) throw new Error(`Bad consume(${n})`);
    this.#start += n;
  }

  fill(): Promise<boolean> {
    if (this.#delivered >= this.#wire.length) return Promise.resolve(false);
    this.#append(this.#pieces[this.fills++ % this.#pieces.length]);
    return Promise.resolve(true);
  }

  /** Everything not consumed: buffered bytes and bytes still on the wire. */
  rest(): string {
    return text.decode(this.buffered()) + text.decode(this.#wire.subarray(this.#delivered));
  }

  #append(size: number): void {
    const piece = this.#wire.subarray(this.#delivered, this.#delivered + size);
    this.#delivered += piece.length;
    const kept = this.#buffer.subarray(this.#start, this.#end).slice();
    const needed = kept.length + piece.length;
    if (needed > this.#buffer.length) this.#buffer = new Uint8Array(needed * 2);
    // Rewrite in place, as a compacting socket buffer does.
    this.#buffer.fill(0x2a);
    this.#buffer.set(kept, 0);
    this.#buffer.set(piece, kept.length);
    this.#start = 0;
    this.#end = needed;
  }
}

function length(n: number): BodyFraming {
  return { kind: "length", length: n };
}

const CHUNKED: BodyFraming = { kind: "chunked" };
const PIECES = [[Infinity], [1], [2, 3], [5, 1, 7], [13]];

Deno.test("BodyReader reads a Content-Length body delivered in odd-sized pieces", async () => {
  const body = "hello, pipelined world";
  for (const pieces of PIECES) {
    const source = new FakeSource(body + NEXT, pieces);
    const reader: BodyReader = new BodyReader(source, length(body.length), LIMITS);
    assertEquals(text.decode(await reader.readAll()), body, `pieces ${pieces}`);
    assertEquals(source.rest(), NEXT, `pieces ${pieces}`);
    assertTrue(reader.finished);
    assertEquals(reader.pending, false);
  }
});

Deno.test("BodyReader reads a chunked body delivered in odd-sized pieces", async () => {
  const wire = "5;ext=1\r\nhello\r\n1\r\n,\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n";
  for (const pieces of PIECES) {
    const source = new FakeSource(wire + NEXT, pieces);
    const reader: BodyReader = new BodyReader(source, CHUNKED, LIMITS);
    assertEquals(text.decode(await reader.readAll()), "hello, world", `pieces ${pieces}`);
    assertEquals(source.rest(), NEXT, `pieces ${pieces}`);
  }
});

Deno.test("BodyReader next() yields pieces that add up to the body", async () => {
  const body = "0123456789abcdefghij";
  const source = new FakeSource(body + NEXT, [3]);
  const reader: BodyReader = new BodyReader(source, length(body.length), LIMITS);
  let joined = "";
  let count = 0;
  for (let piece = await reader.next(); piece !== null; piece = await reader.next()) {
    assertTrue(piece.length > 0);
    joined += text.decode(piece);
    count++;
  }
  assertEquals(joined, body);
  assertTrue(count >= 7);
  assertEquals(await reader.next(), null);
  assertEquals(source.rest(), NEXT);
});

Deno.test("BodyReader copies pieces in readAll() though the buffer is rewritten", async () => {
  const body = "abcdefghijklmnopqrstuvwxyz".repeat(4);
  const wire = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  const source = new FakeSource(wire, [7]);
  const reader: BodyReader = new BodyReader(source, CHUNKED, LIMITS);
  assertEquals(text.decode(await reader.readAll()), body);
});

Deno.test("BodyReader does not fill when the whole body is already buffered", async () => {
  const source = new FakeSource("abc" + NEXT, [Infinity], Infinity);
  const reader: BodyReader = new BodyReader(source, length(3), LIMITS);
  assertEquals(text.decode(await reader.readAll()), "abc");
  assertEquals(source.fills, 0);
  assertEquals(source.rest(), NEXT);
});

Deno.test("BodyReader reads nothing for a request without body", async () => {
  const source = new FakeSource(NEXT, [Infinity], Infinity);
  const reader: BodyReader = new BodyReader(source, { kind: "none" }, LIMITS);
  assertEquals(reader.finished, true);
  assertEquals(reader.pending, false);
  assertEquals(await reader.next(), null);
  assertEquals((await reader.readAll()).length, 0);
  assertEquals(source.fills, 0);
  assertEquals(source.rest(), NEXT);
});

Deno.test("BodyReader discard() drops the body and leaves the next request", async () => {
  const wire = "3\r\nabc\r\n0\r\n\r\n";
  for (const pieces of PIECES) {
    const chunked = new FakeSource(wire + NEXT, pieces);
    await new BodyReader(chunked, CHUNKED, LIMITS).discard();
    assertEquals(chunked.rest(), NEXT);
    const sized = new FakeSource("abcdef" + NEXT, pieces);
    await new BodyReader(sized, length(6), LIMITS).discard();
    assertEquals(sized.rest(), NEXT);
  }
});

async function rejection(promise: () => Promise<unknown>): Promise<HttpError> {
  const error = await assertRejects(promise);
  assertTrue(error instanceof HttpError, `not an HttpError: ${error}`);
  return error;
}

Deno.test("BodyReader answers 400 when a Content-Length body ends early, without a security reason", async () => {
  for (const pieces of PIECES) {
    const reader: BodyReader = new BodyReader(new FakeSource("abc", pieces), length(10), LIMITS);
    const error = await rejection(() => reader.readAll());
    assertEquals([error.status, error.close, error.reason], [400, true, undefined]);
  }
});

Deno.test("BodyReader answers 400 when the stream ends before any body byte", async () => {
  const reader: BodyReader = new BodyReader(new FakeSource(""), length(1), LIMITS);
  assertEquals((await rejection(() => reader.next())).status, 400);
});

Deno.test("BodyReader answers 400 when a chunked body ends early", async () => {
  const cuts = ["", "3", "3\r\n", "3\r\nab", "3\r\nabc\r\n", "3\r\nabc\r\n0\r\n", "0\r\nX: 1\r\n"];
  for (const wire of cuts) {
    for (const pieces of PIECES) {
      const reader: BodyReader = new BodyReader(new FakeSource(wire, pieces), CHUNKED, LIMITS);
      const error = await rejection(() => reader.readAll());
      assertEquals(error.status, 400, JSON.stringify(wire));
    }
  }
});

Deno.test("BodyReader answers 400 to bad chunked framing", async () => {
  const reader: BodyReader = new BodyReader(
    new FakeSource("3\r\nabcX\r\n0\r\n\r\n", [2]),
    CHUNKED,
    LIMITS,
  );
  assertEquals((await rejection(() => reader.readAll())).status, 400);
});

Deno.test("BodyReader answers 413 at once to a declared length over the limit", () => {
  const source = new FakeSource("x".repeat(2000), [Infinity], Infinity);
  const error = assertThrows(() => new BodyReader(source, length(1025), LIMITS));
  assertTrue(error instanceof HttpError);
  assertEquals([error.status, error.close, error.reason], [413, true, "limit"]);
  assertEquals(source.rest().length, 2000);
  assertEquals(source.fills, 0);
});

Deno.test("BodyReader answers 413 to the largest declared length", () => {
  const error = assertThrows(() =>
    new BodyReader(new FakeSource(""), length(Number.MAX_SAFE_INTEGER), LIMITS)
  );
  assertEquals((error as HttpError).status, 413);
});

Deno.test("BodyReader accepts a body of exactly the limit", async () => {
  const body = "y".repeat(LIMITS.maxBody);
  const sized = new BodyReader(new FakeSource(body, [100]), length(body.length), LIMITS);
  assertEquals((await sized.readAll()).length, LIMITS.maxBody);
  const wire = `400\r\n${body}\r\n0\r\n\r\n`;
  const chunked = new BodyReader(new FakeSource(wire, [100]), CHUNKED, LIMITS);
  assertEquals((await chunked.readAll()).length, LIMITS.maxBody);
});

Deno.test("BodyReader answers 413 while counting chunks past the limit", async () => {
  const wire = "200\r\n" + "a".repeat(512) + "\r\n201\r\n" + "b".repeat(513) + "\r\n0\r\n\r\n";
  const source = new FakeSource(wire, [64]);
  const reader: BodyReader = new BodyReader(source, CHUNKED, LIMITS);
  const error = await rejection(() => reader.readAll());
  assertEquals([error.status, error.close], [413, true]);
  assertTrue(source.rest().length >= 513, "the oversized chunk's data was not read");
});

Deno.test("BodyReader stays pending until the last byte is read", async () => {
  const source = new FakeSource("abcd", [2]);
  const reader: BodyReader = new BodyReader(source, length(4), LIMITS);
  assertEquals(reader.pending, true);
  await reader.next();
  assertEquals(reader.pending, true);
  await reader.next();
  assertEquals([reader.pending, reader.finished], [false, true]);
});
