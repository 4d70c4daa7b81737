import { assertEquals } from "../../tests/_assert.ts";
import { chooseCoding, type Coding, isCompressible, MIN_COMPRESS_BYTES } from "./encoding.ts";

const BOTH: Coding[] = ["br", "gzip"];

Deno.test("isCompressible(): the `docs/protocol.md` text-like types, parameters and case ignored", () => {
  const yes = [
    "text/html",
    "text/html; charset=utf-8",
    "TEXT/HTML;charset=UTF-8",
    "text/plain; charset=utf-8",
    "text/css; charset=utf-8",
    "text/javascript; charset=utf-8",
    "application/json",
    "application/xml",
    "image/svg+xml",
    "application/wasm",
    " text/css ",
  ];
  for (const type of yes) assertEquals(isCompressible(type), true, type);
  const no = [
    "application/octet-stream",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "video/mp4",
    "video/webm",
    "font/woff2",
    "application/pdf",
    "text/htmlx",
    "xtext/html",
    "text",
    "",
  ];
  for (const type of no) assertEquals(isCompressible(type), false, type);
  assertEquals(MIN_COMPRESS_BYTES, 1024);
});

Deno.test("isCompressible(): also the types mime-db marks compressible, not binary ones", () => {
  const yes = [
    "text/markdown",
    "text/csv; charset=utf-8",
    "application/manifest+json",
    "application/rss+xml",
    "application/ld+json",
    "font/ttf",
  ];
  for (const type of yes) assertEquals(isCompressible(type), true, type);
  const no = ["application/zip", "application/gzip", "audio/mpeg", "image/avif", "font/woff"];
  for (const type of no) assertEquals(isCompressible(type), false, type);
});

Deno.test("chooseCoding(): no or empty Accept-Encoding, or nothing offered, means identity", () => {
  assertEquals(chooseCoding(undefined, BOTH), null);
  assertEquals(chooseCoding("", BOTH), null);
  assertEquals(chooseCoding(" , ", BOTH), null);
  assertEquals(chooseCoding("gzip, br", []), null);
  assertEquals(chooseCoding("deflate, compress", BOTH), null, "codings bastion cannot send");
});

Deno.test("chooseCoding(): picks the offered coding with the highest q-value", () => {
  const cases: [string, Coding[], Coding | null][] = [
    ["gzip", BOTH, "gzip"],
    ["br", BOTH, "br"],
    ["br", ["gzip"], null],
    ["gzip;q=0.5, br;q=0.9", BOTH, "br"],
    ["gzip;q=1.0, br;q=0.5", BOTH, "gzip"],
    ["br;q=0.001, gzip;q=0.002", BOTH, "gzip"],
    ["gzip;q=0.500, br;q=0.499", BOTH, "gzip"],
    ["GZIP;Q=0.8, Br;q=0.7", BOTH, "gzip"],
    ["gzip ; q=0.8 , br ; q=0.9", BOTH, "br"],
    ["deflate, gzip;q=0.1", BOTH, "gzip"],
    ["gzip;level=9;q=0.7, br;q=0.6", BOTH, "gzip"],
  ];
  for (const [accept, offered, expected] of cases) {
    assertEquals(chooseCoding(accept, offered), expected, accept);
  }
});

Deno.test("chooseCoding(): q=0 refuses a coding, even when * would allow it", () => {
  const cases: [string, Coding[], Coding | null][] = [
    ["gzip;q=0", BOTH, null],
    ["gzip;q=0.000", ["gzip"], null],
    ["br;q=0, gzip", BOTH, "gzip"],
    ["gzip;q=0, *", BOTH, "br"],
    ["gzip;q=0, *", ["gzip"], null],
    ["*;q=0", BOTH, null],
    ["*;q=0, gzip", BOTH, "gzip"],
    ["br;q=0, gzip;q=0", BOTH, null],
  ];
  for (const [accept, offered, expected] of cases) {
    assertEquals(chooseCoding(accept, offered), expected, `${accept} of ${offered}`);
  }
});

Deno.test("chooseCoding(): * covers codings not listed, with its own q-value", () => {
  assertEquals(chooseCoding("*", BOTH), "br");
  assertEquals(chooseCoding("*", ["gzip"]), "gzip");
  assertEquals(chooseCoding("br;q=0.2, *;q=0.5", BOTH), "gzip", "explicit br loses to *");
  assertEquals(chooseCoding("gzip;q=0.2, *;q=0.5", BOTH), "br");
});

Deno.test("chooseCoding(): on a tie br is chosen before gzip", () => {
  assertEquals(chooseCoding("gzip, br", BOTH), "br");
  assertEquals(chooseCoding("gzip, deflate, br, zstd", BOTH), "br");
  assertEquals(chooseCoding("gzip;q=0.8, br;q=0.8", BOTH), "br");
});

Deno.test("chooseCoding(): identity alone, or identity with q=0 and nothing else, gives no coding", () => {
  assertEquals(chooseCoding("identity", BOTH), null);
  assertEquals(chooseCoding("identity;q=1", ["gzip"]), null);
  assertEquals(chooseCoding("identity, gzip", BOTH), "gzip", "a tie with identity compresses");
  assertEquals(chooseCoding("identity;q=0, gzip", BOTH), "gzip");
});

Deno.test("chooseCoding(): identity with a higher q-value than every offered coding wins (no coding)", () => {
  // RFC 9110 §12.5.3: "identity" is the client's way to say no encoding is preferred.
  assertEquals(chooseCoding("gzip;q=0.5, identity", BOTH), null);
  assertEquals(chooseCoding("identity;q=0.9, br;q=0.1, gzip;q=0.1", BOTH), null);
  assertEquals(chooseCoding("*;q=0.3, identity;q=0.6", BOTH), null);
});
