// Large files for download tests, and a client that hashes a body as it
// arrives (never holding it whole), optionally reading slowly.
import { createHash } from "node:crypto";

const GEN_CHUNK = 1024 * 1024;
const encoder = new TextEncoder();

/**
 * Writes `size` deterministic pseudo-random bytes (xorshift32 from `seed`) to
 * `path`; returns their SHA-256.
 */
export async function writePseudoRandomFile(
  path: string,
  size: number,
  seed = 0x9e3779b9,
): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    let state = seed;
    const chunk = new Uint8Array(GEN_CHUNK);
    const words = new Uint32Array(chunk.buffer);
    for (let written = 0; written < size; written += GEN_CHUNK) {
      for (let i = 0; i < words.length; i++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        words[i] = state >>> 0;
      }
      const piece = chunk.subarray(0, Math.min(GEN_CHUNK, size - written));
      hash.update(piece);
      let offset = 0;
      while (offset < piece.length) offset += await file.write(piece.subarray(offset));
    }
  } finally {
    file.close();
  }
  return hash.digest("hex");
}

/** Options of {@linkcode downloadHash}. */
export interface DownloadOptions {
  /** More request header lines, each ending in CRLF. */
  headers?: string;
  /** Pause `pauseMs` after every `pauseEvery` body bytes: a slow reader. */
  pauseEvery?: number;
  pauseMs?: number;
}

/** What {@linkcode downloadHash} received. */
export interface Download {
  status: number;
  head: string;
  /** Content-Length, or NaN without one. */
  length: number;
  received: number;
  sha256: string;
}

/** Sends GET `path` with `Connection: close` and hashes the body as it arrives. */
export async function downloadHash(
  port: number,
  path: string,
  options: DownloadOptions = {},
): Promise<Download> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n` +
      `${options.headers ?? ""}\r\n`;
    await conn.write(encoder.encode(request));
    const buffer = new Uint8Array(256 * 1024);
    let headBytes = new Uint8Array(0);
    let headEnd = -1;
    for (let reads = 0; headEnd < 0 && reads < 1000; reads++) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error("closed before the head ended");
      const joined = new Uint8Array(headBytes.length + n);
      joined.set(headBytes);
      joined.set(buffer.subarray(0, n), headBytes.length);
      headBytes = joined;
      headEnd = new TextDecoder("latin1").decode(headBytes).indexOf("\r\n\r\n");
    }
    const head = new TextDecoder("latin1").decode(headBytes.subarray(0, headEnd));
    const status = Number(head.split(" ")[1]);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
    const hash = createHash("sha256");
    const first = headBytes.subarray(headEnd + 4);
    hash.update(first);
    let received = first.length;
    let sincePause = received;
    // Bounded: every read returns at least one byte, and the server closes at the end.
    for (let reads = 0; reads < 1e9; reads++) {
      const n = await conn.read(buffer);
      if (n === null) break;
      hash.update(buffer.subarray(0, n));
      received += n;
      sincePause += n;
      if (options.pauseEvery !== undefined && sincePause >= options.pauseEvery) {
        sincePause = 0;
        await new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 0));
      }
    }
    return { status, head, length, received, sha256: hash.digest("hex") };
  } finally {
    conn.close();
  }
}
