/**
 * Body streams over files: whole, one byte range, several ranges as
 * `multipart/byteranges`, or gzip-compressed on the fly. Each reads in large
 * pieces through a reused buffer, so memory stays constant whatever the
 * file's size, and each throws if the file shrinks while being sent.
 * @module
 */

import { BufferLoans } from "../http/buffer_pool.ts";
import type { BodyStream } from "../http/response.ts";
import type { ByteRange } from "./ranges.ts";

/** A stream's own buffer, used when no large one is free. */
const READ_CHUNK = 64 * 1024;
/**
 * Large buffers lent to file streams for one read and write at a time: a
 * large file moves in few reads and writes, and at most 16 MiB of them are
 * out at once (per worker), however many clients download.
 */
const LARGE_READS = new BufferLoans(1 << 20, 16);
const encoder = new TextEncoder();

/**
 * `length` bytes of `file` from `start`.
 *
 * @example
 * ```ts
 * import { fileStream } from "./file_body.ts";
 * const file = await Deno.open("deno.json");
 * const body = fileStream(file, 0, (await file.stat()).size);
 * body.close();
 * ```
 */
export function fileStream(file: Deno.FsFile, start: number, length: number): BodyStream {
  return _stream(file, length, async function* (buffers) {
    yield* _readRange(file, buffers, start, length);
  });
}

/**
 * Several ranges of `file` as a `multipart/byteranges` body, each part
 * preceded by its head; `length` is the exact body length.
 *
 * @example
 * ```ts
 * import { multipartStream } from "./file_body.ts";
 * import type { ByteRange } from "./ranges.ts";
 * declare const file: Deno.FsFile, ranges: ByteRange[], heads: string[], tail: string, length: number;
 * multipartStream(file, ranges, { heads, tail, length });
 * ```
 */
export function multipartStream(
  file: Deno.FsFile,
  ranges: ByteRange[],
  framing: { heads: string[]; tail: string; length: number },
): BodyStream {
  return _stream(file, framing.length, async function* (buffers) {
    for (let i = 0; i < ranges.length; i++) {
      yield encoder.encode(framing.heads[i]);
      const { start, end } = ranges[i];
      yield* _readRange(file, buffers, start, end - start + 1);
    }
    yield encoder.encode(framing.tail);
  });
}

/**
 * The whole of `file` gzip-compressed as it is read; the length is unknown,
 * so the writer frames it as chunked. `done` runs once, when it is closed.
 *
 * @example
 * ```ts
 * import { gzipStream } from "./file_body.ts";
 * declare const file: Deno.FsFile, size: number;
 * gzipStream(file, size);
 * ```
 */
export function gzipStream(file: Deno.FsFile, size: number, done = () => {}): BodyStream {
  let closed = false;
  return {
    length: null,
    async *chunks() {
      const compressor = new CompressionStream("gzip");
      const writer = compressor.writable.getWriter();
      const pump = (async () => {
        try {
          // Buffers reused for the whole file: the compressor has taken a piece's bytes
          // once its write resolves. A copy per piece left up to 40 MiB of buffers
          // for the collector to find while a large file was compressed.
          for await (const piece of _readRange(file, new ReadBuffers(), 0, size)) {
            await writer.write(piece as Uint8Array<ArrayBuffer>);
          }
          await writer.close();
        } catch (error) {
          // Ends the compressed side too, so the response fails instead of hanging.
          await writer.abort(error).catch(() => {});
          throw error;
        }
      })();
      pump.catch(() => {});
      for await (const piece of compressor.readable) yield piece;
      await pump;
    },
    close() {
      if (closed) return;
      closed = true;
      file.close();
      done();
    },
  };
}

/**
 * Bytes already in memory sent as a body of unknown length (chunked), so that
 * a response looks the same whether its coding was made now or kept.
 *
 * @example
 * ```ts
 * import { bytesOfUnknownLength } from "./file_body.ts";
 * bytesOfUnknownLength(new Uint8Array(3)).length; // null
 * ```
 */
export function bytesOfUnknownLength(bytes: Uint8Array): BodyStream {
  return {
    length: null,
    async *chunks() {
      yield bytes;
    },
    close() {},
  };
}

/**
 * An empty body that still announces `length` (for HEAD; `null` for an
 * on-the-fly coding, whose length is unknown).
 *
 * @example
 * ```ts
 * import { headOnly } from "./file_body.ts";
 * headOnly(2048).length; // 2048
 * ```
 */
export function headOnly(length: number | null): BodyStream {
  return { length, async *chunks() {}, close() {} };
}

function _stream(
  file: Deno.FsFile,
  length: number,
  produce: (buffers: ReadBuffers) => AsyncGenerator<Uint8Array>,
): BodyStream {
  let closed = false;
  return {
    length,
    chunks: () => produce(new ReadBuffers()),
    close() {
      if (closed) return;
      closed = true;
      file.close();
    },
  };
}

/** The buffer for each read of one stream: a large one on loan when free, else its own. */
class ReadBuffers {
  #own: Uint8Array | null = null;

  /** A buffer for a read of up to `left` bytes. */
  take(left: number): Uint8Array {
    const large = left > READ_CHUNK ? LARGE_READS.lend() : null;
    return large ?? (this.#own ??= new Uint8Array(Math.min(READ_CHUNK, Math.max(left, 1))));
  }

  /** Done with `bytes` from {@linkcode take}: nothing reads or writes them any more. */
  giveBack(bytes: Uint8Array): void {
    if (bytes !== this.#own) LARGE_READS.giveBack(bytes);
  }
}

async function* _readRange(
  file: Deno.FsFile,
  buffers: ReadBuffers,
  start: number,
  length: number,
): AsyncGenerator<Uint8Array> {
  await file.seek(start, Deno.SeekMode.Start);
  let left = length;
  while (left > 0) {
    const buffer = buffers.take(left);
    try {
      const read = await file.read(buffer.subarray(0, Math.min(buffer.length, left)));
      if (read === null) throw new Error("File shrank while being sent");
      left -= read;
      yield buffer.subarray(0, read);
    } finally {
      buffers.giveBack(buffer);
    }
  }
}
