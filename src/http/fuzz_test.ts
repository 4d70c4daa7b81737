// Seeded, bounded fuzzing of the pure parsing pipeline: generated and mutated
// request heads and chunked bodies must only ever produce a result or an
// HttpError — never another exception, never a hang.
import { assertEquals, assertTrue } from "../../tests/_assert.ts";
import { prng } from "../../tests/_prng.ts";
import { BodyReader, type ByteSource } from "./body_reader.ts";
import { ChunkedDecoder } from "./chunked_decoder.ts";
import { HeadScanner } from "./head_scanner.ts";
import { parseHead } from "./head_parser.ts";
import { HttpError } from "./http_error.ts";
import { interpretHead } from "./request.ts";

const LIMITS = { maxHead: 8192, maxUri: 4096, maxHeaders: 100 };
const encoder = new TextEncoder();

const SEEDS = [
  "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
  "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n",
  "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
  "GET http://localhost:8080/x?y=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
  "OPTIONS * HTTP/1.1\r\nHost: [::1]:80\r\nExpect: 100-continue\r\n\r\n",
];
const TOKENS = [
  "\r\n",
  "\r",
  "\n",
  " ",
  "\t",
  "\0",
  ":",
  "Host: x\r\n",
  "Transfer-Encoding: chunked\r\n",
  "Content-Length: 5\r\n",
  "Content-Length: -1\r\n",
  "%2e%2e/",
  "HTTP/1.1",
  "HTTP/9.9",
  "\x7f",
  "\xff",
  "chunked, gzip",
  "0\r\n\r\n",
  "a".repeat(5000),
  "X: y\r\n".repeat(120),
];

function mutate(text: string, random: () => number): string {
  let out = text;
  const edits = 1 + Math.floor(random() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(random() * (out.length + 1));
    const choice = random();
    if (choice < 0.35) {
      out = out.slice(0, at) + TOKENS[Math.floor(random() * TOKENS.length)] + out.slice(at);
    } else if (choice < 0.6) {
      out = out.slice(0, at) + out.slice(at + 1 + Math.floor(random() * 8));
    } else if (choice < 0.85) {
      out = out.slice(0, at) + String.fromCharCode(Math.floor(random() * 256)) + out.slice(at + 1);
    } else {
      out = out.slice(0, at) + out.slice(at, at + 20) + out.slice(at);
    }
  }
  return out;
}

function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0) & 255);
}

/** Runs one input through scanner, parser and interpreter, in random-sized pieces. */
function parseAll(bytes: Uint8Array, random: () => number): "ok" | "incomplete" | HttpError {
  const scanner = new HeadScanner(LIMITS);
  try {
    let length = 0;
    while (length < bytes.length) {
      length = Math.min(bytes.length, length + 1 + Math.floor(random() * 64));
      const end = scanner.scan(bytes, length);
      if (end >= 0) {
        interpretHead(parseHead(bytes, scanner.headStart, end));
        return "ok";
      }
    }
    return "incomplete";
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
}

Deno.test("fuzz: 20 000 generated and mutated heads yield a request or an HttpError, nothing else", () => {
  const random = prng(0xb45710);
  const started = Date.now();
  const outcomes = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const input = mutate(SEEDS[i % SEEDS.length], random);
    const result = parseAll(latin1(input), random);
    const key = result instanceof HttpError ? String(result.status) : result;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  }
  assertTrue((outcomes.get("ok") ?? 0) > 1000, "the fuzzer also produces valid requests");
  assertTrue((outcomes.get("400") ?? 0) > 1000, "and many malformed ones");
  assertTrue(Date.now() - started < 60_000, "no input makes parsing hang");
});

Deno.test("fuzz: 20 000 mutated chunked bodies decode or fail with HttpError, within the limit", () => {
  const random = prng(0xc40c4ed);
  const limits = { maxBody: 4096, maxTrailer: 1024, maxTrailerFields: 10 };
  const base = "5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nTrailer: x\r\n\r\n";
  for (let i = 0; i < 20_000; i++) {
    const bytes = latin1(mutate(base, random));
    const decoder = new ChunkedDecoder(limits);
    let offset = 0;
    try {
      while (offset < bytes.length && !decoder.done) {
        const end = Math.min(bytes.length, offset + 1 + Math.floor(random() * 16));
        const step = decoder.decode(bytes, offset, end);
        assertTrue(step.consumed <= end - offset);
        offset += step.consumed;
        if (step.consumed === 0) break;
      }
      assertTrue(decoder.total <= limits.maxBody);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
    }
  }
});

Deno.test("fuzz: BodyReader never reads past a chunked body into the next request", async () => {
  const random = prng(7);
  for (let i = 0; i < 2000; i++) {
    const data = "x".repeat(1 + Math.floor(random() * 300));
    const body = `${data.length.toString(16)}\r\n${data}\r\n0\r\n\r\n`;
    const next = "GET /next HTTP/1.1\r\n\r\n";
    const bytes = encoder.encode(body + next);
    let offset = 0;
    let available = 0;
    const source: ByteSource = {
      buffered: () => bytes.subarray(offset, available),
      consume: (n) => void (offset += n),
      fill: () => {
        available = Math.min(bytes.length, available + 1 + Math.floor(random() * 40));
        return Promise.resolve(true);
      },
    };
    const reader = new BodyReader(source, { kind: "chunked" }, {
      maxBody: 4096,
      maxTrailer: 1024,
      maxTrailerFields: 10,
    });
    const read = new TextDecoder().decode(await reader.readAll());
    assertEquals(read, data);
    assertEquals(offset, encoder.encode(body).length);
  }
});
