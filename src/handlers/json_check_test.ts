import { assertEquals, assertThrows, assertTrue } from "../../tests/_assert.ts";
import { HttpError } from "../http/http_error.ts";
import { jsonDepth, validateJson } from "./json_check.ts";

const encoder = new TextEncoder();
const MiB = 1 << 20;

function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

function nested(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

function rejection(body: Uint8Array, maxDepth = 64): HttpError {
  const error = assertThrows(() => validateJson(body, maxDepth));
  assertTrue(error instanceof HttpError, `not an HttpError: ${error}`);
  return error;
}

const DEPTHS: [string, number][] = [
  ["1", 0],
  ['"text"', 0],
  ["[]", 1],
  ["{}", 1],
  ["[1]", 1],
  ["[[1]]", 2],
  ["[[], [], []]", 2],
  ['{"a": [{"b": {}}]}', 4],
  ['[[1], {"a": "]"}]', 2],
  ['["]]]]["]', 1],
  ['["[[[["]', 1],
  ['{"a{[": "}]"}', 1],
  ['["\\"[[["]', 1],
  ['["\\\\", [[1]]]', 3],
  ['["\\\\\\"[", [1]]', 2],
  ['["\\u005b[[", 1]', 1],
  ['["caf\u00e9 [", ["\u65e5[]"]]', 2],
];

for (const [json, depth] of DEPTHS) {
  Deno.test(`jsonDepth() counts ${json} as ${depth} deep`, () => {
    assertEquals(jsonDepth(bytes(json), 64), depth);
  });
}

Deno.test("jsonDepth() stops counting once past the limit", () => {
  assertEquals(jsonDepth(bytes(nested(100)), 64), 65);
  assertEquals(jsonDepth(bytes(nested(64)), 64), 64);
});

Deno.test("validateJson() accepts documents up to the depth limit", () => {
  for (const json of ['{"hello":"world"}', "[]", "{}", "1", '"s"', "null", " [1, 2] \n"]) {
    validateJson(bytes(json), 64);
  }
  validateJson(bytes(nested(64)), 64);
  validateJson(bytes(`{"a":${nested(63)}}`), 64);
});

Deno.test("validateJson() rejects nesting one deeper than the limit with 400", () => {
  const error = rejection(bytes(nested(65)));
  assertEquals([error.status, error.close, error.reason], [400, false, undefined]);
  rejection(bytes(`{"a":${nested(64)}}`));
  assertEquals(rejection(bytes("[[[1]]]"), 2).status, 400);
  validateJson(bytes("[[1]]"), 2);
});

Deno.test("validateJson() does not count brackets inside strings", () => {
  validateJson(bytes(JSON.stringify(["[".repeat(100_000), "{".repeat(1000)])), 64);
  validateJson(bytes(JSON.stringify({ '"[[[': "\\[[[" })), 1);
});

Deno.test("validateJson() answers 400, not a crash, to 1 MiB of [", () => {
  const error = rejection(bytes("[".repeat(MiB)));
  assertEquals(error.status, 400);
});

Deno.test("validateJson() answers 400, not a crash, to 1 MiB of balanced nesting", () => {
  assertEquals(rejection(bytes(nested(MiB / 2))).status, 400);
  assertEquals(rejection(bytes('{"a":'.repeat(MiB / 5) + "1" + "}".repeat(MiB / 5))).status, 400);
  assertEquals(rejection(bytes("[{".repeat(MiB / 2))).status, 400);
});

Deno.test("validateJson() answers 400 to an empty body", () => {
  const error = rejection(new Uint8Array(0));
  assertEquals([error.status, error.close], [400, false]);
});

Deno.test("validateJson() answers 400 to whitespace only", () => {
  assertEquals(rejection(bytes(" \r\n\t")).status, 400);
});

Deno.test("validateJson() answers 400 to invalid UTF-8", () => {
  const cases = [
    [0x22, 0xff, 0x22],
    [0x22, 0xc0, 0xae, 0x22],
    [0x22, 0xc3, 0x22],
    [0x22, 0xed, 0xa0, 0x80, 0x22],
    [0x22, 0xf4, 0x90, 0x80, 0x80, 0x22],
    [0x5b, 0x31, 0x5d, 0x80],
  ];
  for (const body of cases) assertEquals(rejection(new Uint8Array(body)).status, 400, `${body}`);
});

Deno.test("validateJson() answers 400 to a leading byte order mark", () => {
  assertEquals(rejection(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d])).status, 400);
});

Deno.test("validateJson() answers 400 to text that is not JSON", () => {
  for (
    const text of ["{", "}", "{}x", "[1,]", "{'a':1}", "NaN", "undefined", "[1] [2]", "\u0000"]
  ) {
    assertEquals(rejection(bytes(text)).status, 400, text);
  }
});

Deno.test("validateJson() accepts UTF-8 text and escapes", () => {
  validateJson(bytes('{"name":"café 日本 😀","esc":"\\u00e9\\n\\""}'), 64);
});

Deno.test("validateJson() checks a 1 MiB flat document quickly", () => {
  const items = Array.from({ length: 100_000 }, (_, i) => ({ i }));
  const body = bytes(JSON.stringify(items));
  assertTrue(body.length > MiB);
  validateJson(body, 64);
});
