import { assertEquals } from "../tests/_assert.ts";
import { sanitizeForLog } from "./log.ts";

Deno.test("sanitizeForLog keeps printable ASCII and escapes the rest", () => {
  assertEquals(sanitizeForLog("GET /a?b=c HTTP/1.1"), "GET /a?b=c HTTP/1.1");
  assertEquals(sanitizeForLog('GET /"x" HTTP/1.1'), "GET /\\x22x\\x22 HTTP/1.1");
  assertEquals(sanitizeForLog("a\\b"), "a\\x5cb");
  assertEquals(sanitizeForLog("a\r\nb\tc\x7f"), "a\\x0d\\x0ab\\x09c\\x7f");
  assertEquals(sanitizeForLog("é"), "\\xe9");
  assertEquals(sanitizeForLog(" !#[]~"), " !#[]~");
});

Deno.test("sanitizeForLog cuts long text, clean or not", () => {
  assertEquals(sanitizeForLog("abcdef", 4), "abcd...");
  assertEquals(sanitizeForLog('ab"def', 4), "ab\\x22d...");
  assertEquals(sanitizeForLog("abcd", 4), "abcd");
});
