/**
 * The runtime's own floor in the benchmark: a bare `Deno.listen` loop on
 * 127.0.0.1:PORT that answers every request head (up to its blank line) with
 * one constant 200 of a 2 KiB body, kept alive. No parsing, no file, no
 * checks: what a Deno server cannot beat. Each connection waits on one
 * pending 512-byte read, as bastion's idle connections do.
 *
 * `deno run --allow-net=127.0.0.1 listen_floor_peer.ts PORT`
 * @module
 */

const BODY = "x".repeat(2048);
const RESPONSE = new TextEncoder().encode(
  `HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`,
);
const CR = 13;
const LF = 10;

/** Answers each complete head read on `conn` until the client closes. */
async function _serve(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(512);
  // How much of CR LF CR LF the bytes so far end with, across reads.
  let matched = 0;
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) return;
      let heads = 0;
      for (let i = 0; i < n; i++) {
        const byte = buffer[i];
        if (byte === (matched % 2 === 0 ? CR : LF)) matched++;
        else matched = byte === CR ? 1 : 0;
        if (matched === 4) {
          heads++;
          matched = 0;
        }
      }
      for (; heads > 0; heads--) {
        for (let sent = 0; sent < RESPONSE.length;) {
          sent += await conn.write(RESPONSE.subarray(sent));
        }
      }
    }
  } catch {
    // the client went away
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

if (import.meta.main) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args[0]) });
  console.log(`Deno.listen floor on ${Deno.args[0]}`);
  for await (const conn of listener) _serve(conn);
}
