import { assertEquals, assertTrue } from "../../tests/_assert.ts";
import { BufferPool } from "../http/buffer_pool.ts";
import { SocketReader } from "./socket_reader.ts";

/** A connection that yields `chunks`, then the end of the stream. */
function _conn(chunks: string[]) {
  const encoder = new TextEncoder();
  return {
    read(buffer: Uint8Array): Promise<number | null> {
      const chunk = chunks.shift();
      if (chunk === undefined) return Promise.resolve(null);
      const bytes = encoder.encode(chunk);
      buffer.set(bytes);
      return Promise.resolve(bytes.length);
    },
  };
}

Deno.test("SocketReader reads into a pooled buffer and gives it back on release", async () => {
  const pool = new BufferPool(64, 4);
  const reader = new SocketReader(_conn(["GET / HTTP/1.1\r\n"]), { pool });
  assertEquals(pool.spare, 0);
  assertTrue(await reader.fill());
  assertEquals(new TextDecoder().decode(reader.buffered()), "GET / HTTP/1.1\r\n");
  reader.release();
  assertEquals([pool.spare, reader.length], [1, 0]);
  reader.release();
  assertEquals(pool.spare, 1, "a second release gives nothing back");
});

Deno.test("SocketReader grows past a pooled buffer and keeps what was buffered", async () => {
  const pool = new BufferPool(16, 4);
  const reader = new SocketReader(_conn(["0123456789abcdef", "ghij"]), { pool, maxSize: 64 });
  await reader.fill();
  await reader.fill();
  assertEquals(new TextDecoder().decode(reader.buffered()), "0123456789abcdefghij");
  reader.release();
  assertEquals(pool.spare, 0, "the grown buffer is not the pool's size");
});
