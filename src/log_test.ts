import { assertEquals, assertMatch } from "../tests/_assert.ts";
import { Logger, sanitizeForLog } from "./log.ts";

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

Deno.test("Logger.access() marks a response cut short at the end of the line, text and JSON", async () => {
  const lines: string[] = [];
  const out = {
    write(bytes: Uint8Array) {
      lines.push(...new TextDecoder().decode(bytes).split("\n").filter((line) => line !== ""));
      return Promise.resolve(bytes.length);
    },
  };
  const entry = { tag: "w1#c1", client: "127.0.0.1", requestLine: "GET /a HTTP/1.1", status: 200 };
  for (const format of ["text", "json"] as const) {
    const log = new Logger({ format, out });
    log.access({ ...entry, bytes: 10, durationMs: 1, requestId: "r1" });
    log.access({ ...entry, bytes: 5, durationMs: 1, requestId: "r2", cut: "body" });
    log.access({ ...entry, bytes: 0, durationMs: 1, requestId: "r3", cut: "conn" });
    await log.flush();
  }
  const [whole, body, conn, ...json] = lines;
  assertMatch(whole, /" 200 10 1ms rid=r1$/);
  assertMatch(body, /" 200 5 1ms rid=r2 cut=body$/);
  assertMatch(conn, /" 200 0 1ms rid=r3 cut=conn$/);
  assertEquals(json.map((line) => JSON.parse(line).cut), [undefined, "body", "conn"]);
});
