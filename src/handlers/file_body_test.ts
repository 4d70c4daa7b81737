// File streams over real temp files: exact bytes whole and in ranges, each
// piece intact until the next is asked for (the contract writers rely on)
// even while other streams read, and a file that shrinks is an error.
import { assertEquals, assertRejects } from "../../tests/_assert.ts";
import { fileStream, multipartStream } from "./file_body.ts";

const MiB = 1024 * 1024;

async function tempFile(size: number, fill: (i: number) => number): Promise<string> {
  const path = await Deno.makeTempFile();
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = fill(i);
  await Deno.writeFile(path, bytes);
  return path;
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for await (const piece of chunks) pieces.push(piece.slice());
  const out = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.length, 0));
  let at = 0;
  for (const piece of pieces) out.set(piece, (at += piece.length) - piece.length);
  return out;
}

Deno.test("fileStream: a whole file and a range, byte-exact, small and large", async () => {
  const path = await tempFile(3 * MiB + 5, (i) => (i * 7 + (i >> 16)) & 255);
  try {
    const bytes = await Deno.readFile(path);
    for (const [start, length] of [[0, bytes.length], [1, 10], [65_535, 2 * MiB + 3]]) {
      const body = fileStream(await Deno.open(path), start, length);
      try {
        assertEquals(body.length, length);
        assertEquals(await collect(body.chunks()), bytes.subarray(start, start + length));
      } finally {
        body.close();
      }
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("fileStream: a piece keeps its bytes until the next is asked for, while 20 other streams read", async () => {
  const paths = await Promise.all(
    Array.from({ length: 21 }, (_, n) => tempFile(2 * MiB, () => n)),
  );
  const bodies = await Promise.all(
    paths.map(async (path) => fileStream(await Deno.open(path), 0, 2 * MiB)),
  );
  try {
    const iterators = bodies.map((body) => body.chunks()[Symbol.asyncIterator]());
    // Each stream's first piece is held (as by a pending write) while every
    // other stream reads its own; then each piece is checked, and the rest read.
    const first: Uint8Array[] = [];
    for (const iterator of iterators) first.push((await iterator.next()).value as Uint8Array);
    first.forEach((piece, n) => {
      assertEquals(piece.length > 0, true);
      assertEquals(piece.every((byte) => byte === n), true, `stream ${n}'s piece was overwritten`);
    });
    for (const [n, iterator] of iterators.entries()) {
      let total: number = first[n].length;
      for (let result = await iterator.next(); !result.done; result = await iterator.next()) {
        assertEquals(result.value.every((byte: number) => byte === n), true);
        total += result.value.length;
      }
      assertEquals(total, 2 * MiB);
    }
  } finally {
    bodies.forEach((body) => body.close());
    await Promise.all(paths.map((path) => Deno.remove(path)));
  }
});

Deno.test("multipartStream: parts in the asked order with their heads", async () => {
  const path = await tempFile(2 * MiB, (i) => i & 255);
  try {
    const bytes = await Deno.readFile(path);
    const ranges = [{ start: MiB + 1, end: 2 * MiB - 1 }, { start: 0, end: 2 }];
    const heads = ["<a>", "<b>"];
    const length = 3 + (MiB - 1) + 3 + 3 + 3;
    const body = multipartStream(await Deno.open(path), ranges, { heads, tail: "<z>", length });
    try {
      const text = await collect(body.chunks());
      assertEquals(text.length, length);
      assertEquals(text.subarray(3, 3 + MiB - 1), bytes.subarray(MiB + 1, 2 * MiB));
      assertEquals(new TextDecoder().decode(text.subarray(MiB + 2, MiB + 5)), "<b>");
      assertEquals(text.subarray(MiB + 5, MiB + 8), bytes.subarray(0, 3));
    } finally {
      body.close();
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("fileStream: a file that shrinks while it is sent is an error, not short bytes", async () => {
  const path = await tempFile(3 * MiB, () => 1);
  const body = fileStream(await Deno.open(path), 0, 3 * MiB);
  try {
    const iterator = body.chunks()[Symbol.asyncIterator]();
    await iterator.next();
    await Deno.truncate(path, 10);
    const error = await assertRejects(async () => {
      for (let result = await iterator.next(); !result.done; result = await iterator.next());
    });
    assertEquals(String(error), "Error: File shrank while being sent");
  } finally {
    body.close();
    await Deno.remove(path);
  }
});
