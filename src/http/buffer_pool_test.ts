import { assertEquals, assertTrue } from "../../tests/_assert.ts";
import { BufferLoans, BufferPool } from "./buffer_pool.ts";

Deno.test("BufferPool hands out views on spare buffers and takes them back", () => {
  const pool = new BufferPool(1024, 2);
  const first = pool.take(100);
  assertEquals([first.length, first.buffer.byteLength], [100, 1024]);
  pool.give(first);
  const second = pool.take(300);
  assertTrue(second.buffer === first.buffer, "the spare buffer is reused");
  assertEquals(second.length, 300);
  assertEquals(pool.spare, 0);
});

Deno.test("BufferPool gives larger requests their own buffer and keeps at most max spare", () => {
  const pool = new BufferPool(1024, 2);
  const large = pool.take(4096);
  assertEquals(large.buffer.byteLength, 4096);
  pool.give(large);
  assertEquals(pool.spare, 0, "a buffer of another size is not kept");
  for (const bytes of [pool.take(), pool.take(), pool.take()]) pool.give(bytes);
  assertEquals(pool.spare, 2);
});

Deno.test("BufferPool ignores a buffer given back twice: it is never handed out to two users", () => {
  const pool = new BufferPool(64, 4);
  const bytes = pool.take();
  pool.give(bytes);
  pool.give(bytes);
  assertEquals(pool.spare, 1);
  assertTrue(pool.take().buffer !== pool.take().buffer);
});

Deno.test("BufferLoans lends at most max at once, and a returned buffer is lent again", () => {
  const loans = new BufferLoans(4096, 3);
  const lent = [loans.lend(), loans.lend(), loans.lend()];
  assertTrue(lent.every((bytes) => bytes?.length === 4096));
  assertEquals(new Set(lent.map((bytes) => bytes!.buffer)).size, 3, "three distinct buffers");
  assertEquals(loans.lend(), null, "all out: the borrower makes do");
  assertEquals(loans.out, 3);
  loans.giveBack(lent[1]!);
  const again = loans.lend();
  assertTrue(again?.buffer === lent[1]!.buffer, "the returned buffer is reused");
  for (const bytes of [lent[0], lent[2], again]) loans.giveBack(bytes!);
  assertEquals(loans.out, 0);
});
