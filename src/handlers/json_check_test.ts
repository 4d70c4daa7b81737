import { assertEquals, assertThrows, assertTrue } from "../../tests/_assert.ts";
import { HttpError } from "../http/http_error.ts";
import { prng } from "../../tests/_prng.ts";
import { JsonChecker, validateJson } from "./json_check.ts";

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
  Deno.test(`validateJson() measures ${json} as ${depth} deep`, () => {
    validateJson(bytes(json), Math.max(depth, 1));
    if (depth > 1) assertEquals(rejection(bytes(json), depth - 1).status, 400);
  });
}

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

/** Whether `checker` accepts `body` fed in the pieces that `cuts` splits it into. */
function acceptsInPieces(body: Uint8Array, cuts: number[], maxDepth = 64): boolean {
  const checker = new JsonChecker(maxDepth);
  try {
    let from = 0;
    for (const cut of [...cuts, body.length]) {
      checker.push(body.subarray(from, cut));
      from = cut;
    }
    checker.finish();
    return true;
  } catch (error) {
    assertTrue(error instanceof HttpError && error.status === 400, `${error}`);
    return false;
  }
}

function parses(body: Uint8Array): boolean {
  try {
    JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(body));
    return true;
  } catch {
    return false;
  }
}

Deno.test("JsonChecker gives the same verdict fed a byte at a time as fed whole", () => {
  const bodies = [
    ...DEPTHS.map(([json]) => json),
    '{"a": [1, -2.5e+3, true, false, null, "\\u00e9\\n"]}',
    '"caf\u00e9 \u65e5 \u{1f600}"',
    "[1,]",
    '{"a" 1}',
    "-",
    "01",
    "1.",
    "1e",
    "tru",
    '"\\x"',
    '"\\u12G4"',
  ];
  for (const text of bodies) {
    const body = bytes(text);
    const byteCuts = Array.from({ length: body.length }, (_, i) => i);
    assertEquals(acceptsInPieces(body, byteCuts), acceptsInPieces(body, []), text);
    assertEquals(acceptsInPieces(body, []), parses(body), text);
  }
});

Deno.test("JsonChecker splits a UTF-8 sequence across pieces and still refuses a truncated one", () => {
  const body = bytes('["\u65e5\u{1f600}"]');
  for (let cut = 1; cut < body.length; cut++) assertTrue(acceptsInPieces(body, [cut]), `${cut}`);
  assertEquals(acceptsInPieces(new Uint8Array([0x22, 0xe6, 0x97]), [2]), false);
});

Deno.test("JsonChecker.push() refuses 1 MiB of [ within the first pieces, long before the end", () => {
  const checker = new JsonChecker(64);
  const piece = bytes("[".repeat(16));
  let refusedAt = -1;
  for (let sent = 0; sent < MiB && refusedAt < 0; sent += piece.length) {
    try {
      checker.push(piece);
    } catch (error) {
      assertEquals((error as HttpError).status, 400);
      refusedAt = sent + piece.length;
    }
  }
  assertEquals(refusedAt, 80, "refused in the piece that holds the 65th bracket");
});

/** A random document of JSON-ish tokens, valid or not. */
function randomText(random: () => number): string {
  const tokens = [
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    " ",
    '"',
    '"a"',
    "\\",
    "\\u",
    "00e9",
    "0",
    "1",
    "-",
    ".",
    "e",
    "E",
    "+",
    "true",
    "fals",
    "null",
    "\u00e9",
    "\n",
    "\u0001",
    "12",
    '"k":',
    "[1,2]",
    "{}",
  ];
  const count = 1 + Math.floor(random() * 12);
  return Array.from({ length: count }, () => tokens[Math.floor(random() * tokens.length)]).join("");
}

Deno.test("JsonChecker agrees with JSON.parse on random token soup split at random", () => {
  const random = prng(16);
  let valid = 0;
  for (let round = 0; round < 20_000; round++) {
    const body = bytes(randomText(random));
    const cuts = [Math.floor(random() * body.length), Math.floor(random() * body.length)];
    const expected = parses(body);
    if (expected) valid++;
    assertEquals(acceptsInPieces(body, cuts.sort((a, b) => a - b), 1000), expected, `${body}`);
  }
  assertTrue(valid > 200, `too few valid samples: ${valid}`);
});

/** A random JSON value, a few levels deep. */
function randomValue(random: () => number, depth = 0): unknown {
  const pick = Math.floor(random() * (depth > 3 ? 4 : 6));
  if (pick === 0) return Math.floor((random() - 0.5) * 1e6) / (random() < 0.5 ? 1 : 1000);
  if (pick === 1) return ["", 'a"b', "\\", "\u00e9\n", "\u0000\u{1f600}"][Math.floor(random() * 5)];
  if (pick === 2) return [true, false, null][Math.floor(random() * 3)];
  if (pick === 3) return random() * 1e-9;
  const items = Array.from(
    { length: Math.floor(random() * 4) },
    () => randomValue(random, depth + 1),
  );
  return pick === 4 ? items : Object.fromEntries(items.map((item, i) => [`k${i}`, item]));
}

Deno.test("JsonChecker agrees with JSON.parse on real documents with one byte changed", () => {
  const random = prng(64);
  for (let round = 0; round < 5_000; round++) {
    const body = bytes(JSON.stringify(randomValue(random), null, round % 2 ? 1 : undefined));
    if (round % 4 !== 0) body[Math.floor(random() * body.length)] = Math.floor(random() * 256);
    const cut = Math.floor(random() * body.length);
    assertEquals(acceptsInPieces(body, [cut]), parses(body), new TextDecoder().decode(body));
  }
});
