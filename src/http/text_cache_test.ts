import { assertEquals } from "../../tests/_assert.ts";
import { TextCache } from "./text_cache.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("TextCache.text() reads Latin-1, lowercasing A–Z only when asked", () => {
  const texts = new TextCache();
  const line = bytes("X-Custom: Value");
  assertEquals(texts.text(line, 0, 8, true), "x-custom");
  assertEquals(texts.text(line, 10, 15, false), "Value");
  const latin1 = new Uint8Array([0x41, 0xe9, 0x5a]);
  assertEquals(texts.text(latin1, 0, 3, true), "a\u00e9z");
});

Deno.test("TextCache.text() gives the same text for the same bytes, and new text for others", () => {
  const texts = new TextCache(4);
  const first = texts.text(bytes("localhost:8080"), 0, 14, false);
  assertEquals(texts.text(bytes("localhost:8080"), 0, 14, false), first);
  // Whatever collides in a slot, the text read is always that of the bytes.
  for (const word of ["a", "b", "c", "d", "e", "Host", "host"]) {
    assertEquals(texts.text(bytes(word), 0, word.length, false), word);
  }
  const long = "x".repeat(100);
  assertEquals(texts.text(bytes(long), 0, 100, false), long);
});

Deno.test("TextCache with 0 slots keeps nothing and still reads every text", () => {
  const texts = new TextCache(0);
  assertEquals(texts.text(bytes("GET"), 0, 3, false), "GET");
  assertEquals(texts.text(bytes("Content-Length"), 0, 14, true), "content-length");
});
