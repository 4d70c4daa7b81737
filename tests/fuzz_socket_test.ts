// 2 000 mutated requests over real sockets: the server answers each with a
// well-formed response or closes, and still serves a valid request afterwards.
import { prng } from "./_prng.ts";
import { assertEquals, assertTrue } from "./_assert.ts";
import { get, NO_LIMITS, roundTrip, withBastion } from "./_harness.ts";

const SEEDS = [
  "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
  "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
  "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
  "GET /index.html HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc",
];

function mutate(text: string, random: () => number): Uint8Array {
  const bytes = Array.from(text, (char) => char.charCodeAt(0));
  for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) {
    const at = Math.floor(random() * bytes.length);
    if (random() < 0.5) bytes[at] = Math.floor(random() * 256);
    else bytes.splice(at, 1 + Math.floor(random() * 4));
  }
  return Uint8Array.from(bytes);
}

/** Sends `bytes`, half-closes, and reads until the server closes (bounded). */
async function exchange(port: number, bytes: Uint8Array): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(bytes);
    await conn.closeWrite();
    let text = "";
    const buffer = new Uint8Array(16384);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder("latin1").decode(buffer.subarray(0, n));
    }
    return text;
  } catch {
    return "";
  } finally {
    conn.close();
  }
}

Deno.test("fuzz over sockets: 2 000 mutated requests, every answer well-formed, server still serves", async () => {
  await withBastion({
    args: [...NO_LIMITS, "--header-timeout", "2s", "--body-timeout", "2s"],
  }, async (server) => {
    const random = prng(2026);
    const inputs = Array.from({ length: 2000 }, (_, i) => mutate(SEEDS[i % SEEDS.length], random));
    let answered = 0;
    for (let i = 0; i < inputs.length; i += 16) {
      const replies = await Promise.all(
        inputs.slice(i, i + 16).map((bytes) => exchange(server.port, bytes)),
      );
      for (const reply of replies) {
        if (reply === "") continue;
        answered++;
        assertTrue(
          /^HTTP\/1\.1 [1-5]\d\d [^\r\n]*\r\n/.test(reply),
          `malformed reply: ${reply.slice(0, 80)}`,
        );
        assertTrue(!/\bat .*\.ts:\d+/.test(reply), "no stack trace");
        assertTrue(!/ 500 /.test(reply.split("\r\n")[0]), `no 500: ${reply.slice(0, 200)}`);
      }
    }
    assertTrue(answered > 1000, `most inputs get an answer (${answered})`);
    const after = await roundTrip(server.port, get("/"));
    assertEquals(after.status, 200);
  });
});
