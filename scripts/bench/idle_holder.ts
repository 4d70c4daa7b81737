/**
 * Opens COUNT keep-alive connections to 127.0.0.1:PORT in batches; on each,
 * one `GET PATH` whose response is read in full, then the socket stays open
 * and silent. Prints `ready <open> <failed> <ms> [first error]`, then answers
 * on stdin: `status` with `open <n>` (connections the server has not closed),
 * `more N` by opening N more and printing `ready …` again (totals), and `quit`
 * or end of input by closing everything and exiting.
 *
 * `deno run --allow-net=127.0.0.1 idle_holder.ts PORT COUNT PATH`
 * @module
 */

const BATCH = 200;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

class Holder {
  conns: Deno.Conn[] = [];
  open = 0;
  failed = 0;
  firstError = "";
  #port: number;
  #request: Uint8Array;

  constructor(port: number, path: string) {
    this.#port = port;
    this.#request = encoder.encode(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`,
    );
  }

  async openOne(): Promise<void> {
    let conn: Deno.Conn | null = null;
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port: this.#port });
      await _writeAll(conn, this.#request);
      await _readResponse(conn);
      this.conns.push(conn);
      this.open++;
      this.#watch(conn);
    } catch (error) {
      this.failed++;
      this.firstError ||= String(error);
      conn?.close();
    }
  }

  /** A read that ends only when the server closes the connection. */
  #watch(conn: Deno.Conn): void {
    conn.read(new Uint8Array(64)).then((n) => n === null, () => true).then((closed) => {
      if (closed) this.open--;
    });
  }

  /** Opens `count` more, `BATCH` at a time: "open failed ms firstError". */
  async openMany(count: number): Promise<string> {
    const started = performance.now();
    for (let done = 0; done < count; done += BATCH) {
      const size = Math.min(BATCH, count - done);
      await Promise.all(Array.from({ length: size }, () => this.openOne()));
    }
    const ms = Math.round(performance.now() - started);
    return `${this.open} ${this.failed} ${ms} ${this.firstError}`;
  }

  closeAll(): void {
    for (const conn of this.conns) {
      try {
        conn.close();
      } catch {
        // closed by the server
      }
    }
  }
}

async function _writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** Reads one response with a Content-Length body; throws on anything else. */
async function _readResponse(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(16 * 1024);
  let have = 0;
  let need = -1;
  while (need < 0 || have < need) {
    if (have === buffer.length) throw new Error("Response larger than the buffer");
    const n = await conn.read(buffer.subarray(have));
    if (n === null) throw new Error("Closed before the response ended");
    have += n;
    if (need >= 0) continue;
    const text = decoder.decode(buffer.subarray(0, have));
    const end = text.indexOf("\r\n\r\n");
    if (end < 0) continue;
    if (!/^HTTP\/1\.1 200 /.test(text)) throw new Error(`Not a 200: ${text.split("\r\n")[0]}`);
    const length = text.slice(0, end).match(/\r\ncontent-length:\s*(\d+)/i);
    if (length === null) throw new Error("No Content-Length");
    need = end + 4 + Number(length[1]);
  }
}

async function _commands(holder: Holder): Promise<void> {
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let pending = "";
  for await (const chunk of lines) {
    pending += chunk;
    let newline;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const command = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (command === "quit") return;
      if (command === "status") console.log(`open ${holder.open}`);
      const more = /^more (\d+)$/.exec(command);
      if (more !== null) console.log(`ready ${await holder.openMany(Number(more[1]))}`.trim());
    }
  }
}

if (import.meta.main) {
  const [port, count, path] = Deno.args;
  const holder = new Holder(Number(port), path);
  console.log(`ready ${await holder.openMany(Number(count))}`.trim());
  await _commands(holder);
  holder.closeAll();
  Deno.exit(0);
}
