/**
 * Sends COUNT `GET PATH` requests over one keep-alive connection to
 * 127.0.0.1:PORT, one at a time, reading each response whole: a fixed,
 * repeatable load for `instructions.sh`.
 *
 * `deno run --allow-net=127.0.0.1 keepalive_client.ts PORT COUNT [PATH]`
 * @module
 */

const [port, count] = Deno.args.map(Number);
const path = Deno.args[2] ?? "/page.html";
const conn = await Deno.connect({ hostname: "127.0.0.1", port });
const request = new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
const buffer = new Uint8Array(65536);
const decoder = new TextDecoder();
for (let i = 0; i < count; i++) {
  await conn.write(request);
  let head = "";
  let need = -1;
  let have = 0;
  while (need < 0 || have < need) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`Closed after ${i} responses`);
    have += n;
    if (need >= 0) continue;
    head += decoder.decode(buffer.subarray(0, n));
    const end = head.indexOf("\r\n\r\n");
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (end >= 0 && length !== null) need = end + 4 + Number(length[1]);
  }
}
conn.close();
