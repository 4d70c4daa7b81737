import { join } from "node:path";
import { assertEquals, assertTrue } from "../../tests/_assert.ts";
import { multipartStream } from "./file_body.ts";
import { type ByteRange, MAX_RANGES, multipartFraming, parseRange } from "./ranges.ts";

const encoder = new TextEncoder();

/** Bytes as a string of code points 0-255 (TextDecoder's "latin1" is windows-1252). */
function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return text;
}

function ranges(...list: [number, number][]) {
  return { kind: "ranges", ranges: list.map(([start, end]) => ({ start, end })) };
}

const FULL = { kind: "full" };
const UNSATISFIABLE = { kind: "unsatisfiable" };

Deno.test("parseRange(): no header means the full representation", () => {
  assertEquals(parseRange(undefined, 1000), FULL);
});

Deno.test("parseRange(): first-last, open-ended and suffix ranges", () => {
  assertEquals(parseRange("bytes=0-99", 1000), ranges([0, 99]));
  assertEquals(parseRange("bytes=0-1", 1000), ranges([0, 1]), "the Safari probe");
  assertEquals(parseRange("bytes=0-0", 1000), ranges([0, 0]));
  assertEquals(parseRange("bytes=999-999", 1000), ranges([999, 999]));
  assertEquals(parseRange("bytes=500-", 1000), ranges([500, 999]));
  assertEquals(parseRange("bytes=0-", 1000), ranges([0, 999]));
  assertEquals(parseRange("bytes=-500", 1000), ranges([500, 999]));
  assertEquals(parseRange("bytes=-1", 1000), ranges([999, 999]));
  assertEquals(parseRange("bytes=-1000", 1000), ranges([0, 999]));
  assertEquals(parseRange("Bytes=0-1", 1000), ranges([0, 1]), "the unit is case-insensitive");
  assertEquals(parseRange("  bytes=0-1  ", 1000), ranges([0, 1]));
});

Deno.test("parseRange(): an end past the size, or a suffix longer than it, is clamped", () => {
  assertEquals(parseRange("bytes=900-5000", 1000), ranges([900, 999]));
  assertEquals(parseRange("bytes=0-99999999999999999999", 1000), ranges([0, 999]));
  assertEquals(parseRange("bytes=-5000", 1000), ranges([0, 999]));
  assertEquals(parseRange("bytes=0-1", 1), ranges([0, 0]));
});

Deno.test("parseRange(): ranges starting at or past the end, and zero suffixes, are unsatisfiable", () => {
  assertEquals(parseRange("bytes=1000-1001", 1000), UNSATISFIABLE);
  assertEquals(parseRange("bytes=5000-6000", 1000), UNSATISFIABLE);
  assertEquals(parseRange("bytes=-0", 1000), UNSATISFIABLE);
  assertEquals(parseRange("bytes=0-0", 0), UNSATISFIABLE, "an empty file has no bytes");
  assertEquals(parseRange("bytes=2000-3000, 5000-6000", 1000), UNSATISFIABLE);
});

Deno.test("parseRange(): an open-ended range starting at or past the end is unsatisfiable, not ignored", () => {
  // A download manager resuming a complete file sends `bytes=<size>-` and needs 416, not the
  // whole file again (RFC 9110 §14.1.1: first-pos >= length is unsatisfiable).
  assertEquals(parseRange("bytes=1000-", 1000), UNSATISFIABLE);
  assertEquals(parseRange("bytes=1001-", 1000), UNSATISFIABLE);
  assertEquals(parseRange("bytes=99999999999999999999-", 1000), UNSATISFIABLE);
  assertEquals(parseRange("bytes=0-", 0), UNSATISFIABLE);
  assertEquals(parseRange("bytes=2000-3000, 4000-", 1000), UNSATISFIABLE);
  assertEquals(parseRange("bytes=0-1, 1000-", 1000), ranges([0, 1]));
});

Deno.test("parseRange(): a syntactically invalid header is ignored (full), not an error", () => {
  const invalid = [
    "bytes=5-2",
    "bytes=abc",
    "bytes=",
    "bytes=-",
    "bytes=1-2-3",
    "bytes=0x10-20",
    "bytes=1.5-2",
    "bytes=+1-2",
    "bytes=--1",
    "bytes=1 -2",
    "items=0-1",
    "bytes 0-1",
    "0-1",
    "bytes=0-1;x",
    "",
    "bytes=0-1, 5-2",
    "bytes=0-1, x",
  ];
  for (const header of invalid) assertEquals(parseRange(header, 1000), FULL, header);
});

Deno.test("parseRange(): several ranges keep their order; unsatisfiable members are dropped", () => {
  assertEquals(parseRange("bytes=0-1,5-6", 1000), ranges([0, 1], [5, 6]));
  assertEquals(parseRange("bytes=0-1, 5-6,\t-10", 1000), ranges([0, 1], [5, 6], [990, 999]));
  assertEquals(parseRange("bytes=500-599,0-99", 1000), ranges([500, 599], [0, 99]));
  assertEquals(parseRange("bytes=0-1,2000-3000", 1000), ranges([0, 1]));
  assertEquals(parseRange("bytes=0-1,,5-6", 1000), ranges([0, 1], [5, 6]), "empty list members");
});

Deno.test("parseRange(): more than MAX_RANGES ranges are ignored (full)", () => {
  assertEquals(MAX_RANGES, 16);
  const spec = (count: number) =>
    "bytes=" + Array.from({ length: count }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(",");
  const atLimit = parseRange(spec(MAX_RANGES), 1000);
  assertEquals(atLimit.kind, "ranges");
  assertEquals(atLimit.kind === "ranges" ? atLimit.ranges.length : 0, MAX_RANGES);
  assertEquals(parseRange(spec(MAX_RANGES + 1), 1000), FULL);
  assertEquals(parseRange(spec(1000), 100_000), FULL);
});

Deno.test("multipartFraming(): heads, delimiters and tail follow RFC 9110 §14.6 and the length adds up", () => {
  const framing = multipartFraming(
    [{ start: 0, end: 1 }, { start: 5, end: 9 }],
    10,
    "text/plain",
    "B0UND",
  );
  assertEquals(framing.heads, [
    "--B0UND\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\n",
    "\r\n--B0UND\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-9/10\r\n\r\n",
  ]);
  assertEquals(framing.tail, "\r\n--B0UND--\r\n");
  const expected = framing.heads.join("").length + framing.tail.length + 2 + 5;
  assertEquals(framing.length, expected);
});

/** Reads a BodyStream to the end, copying each piece (the stream may reuse its buffer). */
async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const piece of chunks) parts.push(piece.slice());
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The first index where `a` and `b` differ (a length difference counts), or -1. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : length;
}

/** Splits a multipart/byteranges body into parts by RFC 2046 rules. */
function parseMultipart(body: Uint8Array, boundary: string) {
  const text = latin1(body);
  const delimiter = `--${boundary}`;
  assertTrue(text.startsWith(delimiter + "\r\n"), "the body opens with the first delimiter");
  assertTrue(text.endsWith(`\r\n${delimiter}--\r\n`), "the body ends with the close delimiter");
  const inner = text.slice(delimiter.length + 2, text.length - `\r\n${delimiter}--\r\n`.length);
  return inner.split(`\r\n${delimiter}\r\n`).map((part) => {
    const split = part.indexOf("\r\n\r\n");
    const fields = Object.fromEntries(
      part.slice(0, split).split("\r\n").map((line) => {
        const colon = line.indexOf(":");
        return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
      }),
    );
    return { fields, bytes: Uint8Array.from(part.slice(split + 4), (c) => c.charCodeAt(0)) };
  });
}

async function withFile(data: Uint8Array, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bastion-ranges-" });
  try {
    const path = join(dir, "data.bin");
    await Deno.writeFile(path, data);
    await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** 200 000 bytes, each position distinct enough to catch misplaced reads. */
function sampleData(size = 200_000): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
}

async function produce(path: string, list: ByteRange[], size: number, boundary: string) {
  const framing = multipartFraming(list, size, "application/octet-stream", boundary);
  const stream = multipartStream(await Deno.open(path), list, framing);
  try {
    assertEquals(stream.length, framing.length);
    return { framing, body: await collect(stream.chunks()) };
  } finally {
    stream.close();
  }
}

Deno.test("multipartStream(): produces exactly multipartFraming().length bytes, each part its range", async () => {
  const data = sampleData();
  await withFile(data, async (path) => {
    const list: ByteRange[] = [
      { start: 0, end: 0 },
      { start: 10, end: 99_999 },
      { start: 150_000, end: 199_999 },
    ];
    const { framing, body } = await produce(path, list, data.length, "abc123");
    assertEquals(body.length, framing.length);
    const parts = parseMultipart(body, "abc123");
    assertEquals(parts.length, list.length);
    parts.forEach((part, i) => {
      const { start, end } = list[i];
      assertEquals(part.fields["content-type"], "application/octet-stream");
      assertEquals(part.fields["content-range"], `bytes ${start}-${end}/${data.length}`);
      assertEquals(firstDifference(part.bytes, data.subarray(start, end + 1)), -1, `part ${i}`);
    });
  });
});

Deno.test("multipartStream(): ranges out of order and overlapping each get their own bytes", async () => {
  const data = sampleData();
  await withFile(data, async (path) => {
    const list: ByteRange[] = [
      { start: 100_000, end: 100_009 },
      { start: 0, end: 9 },
      { start: 5, end: 70_000 },
      { start: 0, end: 199_999 },
    ];
    const { framing, body } = await produce(path, list, data.length, "zz");
    assertEquals(body.length, framing.length);
    const parts = parseMultipart(body, "zz");
    assertEquals(parts.length, list.length);
    parts.forEach((part, i) => {
      const { start, end } = list[i];
      assertEquals(part.fields["content-range"], `bytes ${start}-${end}/${data.length}`);
      assertEquals(part.bytes.length, end - start + 1, `part ${i} length`);
      assertEquals(
        firstDifference(part.bytes, data.subarray(start, end + 1)),
        -1,
        `part ${i} (${start}-${end}): first differing byte`,
      );
    });
  });
});

Deno.test("multipartFraming() length matches the encoded bytes for any boundary and type", () => {
  for (
    const [type, boundary] of [["text/html; charset=utf-8", "x"], ["image/png", "0".repeat(70)]]
  ) {
    const list = [{ start: 3, end: 3 }, { start: 0, end: 2 }];
    const framing = multipartFraming(list, 4, type, boundary);
    const bytes = encoder.encode(framing.heads.join("") + framing.tail).length + 1 + 3;
    assertEquals(framing.length, bytes, type);
  }
});
