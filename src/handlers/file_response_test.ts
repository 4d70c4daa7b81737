// fileResponse() over hand-made ResolvedFiles: kept in memory, or on disk in a
// temp dir (for streamed ranges and precompressed siblings).
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { assertEquals, assertMatch, assertRejects, assertTrue } from "../../tests/_assert.ts";
import { HttpError } from "../http/http_error.ts";
import type { HttpResponse } from "../http/response.ts";
import { fileETag } from "./conditional.ts";
import { type Coding, CompressionBudget } from "./encoding.ts";
import { HeaderMemo, type Sibling } from "./file_cache.ts";
import { fileResponse, type ResolvedFile } from "./file_response.ts";
import { fileId } from "./open_inside.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MTIME = Date.UTC(2026, 0, 2, 3, 4, 5);
const TEXT = "0123456789".repeat(200);
const HTML = { type: "text/html; charset=utf-8", attachment: false, compressible: true };
const PLAIN = { type: "text/plain; charset=utf-8", attachment: false, compressible: false };

/** A file kept in memory: `TEXT` as HTML (compressible), or as plain text. */
function kept(served = HTML, content = TEXT): ResolvedFile {
  return {
    path: "/nowhere/page.html",
    root: "/nowhere",
    id: { dev: 0, ino: 0 },
    name: "page.html",
    size: content.length,
    mtimeMs: MTIME,
    lastModified: new Date(MTIME).toUTCString(),
    etag: fileETag(content.length, MTIME),
    served,
    siblings: new Map(),
    content: encoder.encode(content),
    gzipped: null,
    plainHeaders: new HeaderMemo(),
  };
}

/** Runs `test` with `page.html` (`TEXT`) on disk, not kept, with the given siblings written. */
async function onDisk(
  siblings: Partial<Record<Coding, string>>,
  test: (file: ResolvedFile) => Promise<void>,
): Promise<void> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "bastion-fileresp-" }));
  try {
    const path = join(root, "page.html");
    await Deno.writeTextFile(path, TEXT);
    const found = new Map<Coding, Sibling>();
    for (const [coding, bytes] of Object.entries(siblings) as [Coding, string][]) {
      const sibling = path + (coding === "br" ? ".br" : ".gz");
      await Deno.writeTextFile(sibling, bytes);
      found.set(coding, {
        path: sibling,
        size: bytes.length,
        id: fileId(await Deno.stat(sibling)),
      });
    }
    const id = fileId(await Deno.stat(path));
    await test({ ...kept(), path, root, id, siblings: found, content: null });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function headers(fields: Record<string, string>) {
  return (name: string) => fields[name];
}

function respond(file: ResolvedFile, fields: Record<string, string> = {}, head = false) {
  return fileResponse(file, { header: headers(fields), head, cacheControl: "max-age=60" });
}

function field(response: HttpResponse, name: string): string | undefined {
  return response.headers.find(([key]) => key === name)?.[1];
}

/** The body's bytes, read to its end (closing a stream); and its announced length. */
async function bytesOf(
  response: HttpResponse,
): Promise<{ length: number | null; bytes: Uint8Array }> {
  const { body } = response;
  if (body === null) return { length: 0, bytes: new Uint8Array(0) };
  if (body instanceof Uint8Array) return { length: body.length, bytes: body };
  const pieces: number[] = [];
  try {
    for await (const piece of body.chunks()) pieces.push(...piece);
  } finally {
    body.close();
  }
  return { length: body.length, bytes: new Uint8Array(pieces) };
}

async function textOf(response: HttpResponse): Promise<string> {
  return decoder.decode((await bytesOf(response)).bytes);
}

async function refusal(promise: Promise<unknown>): Promise<HttpError> {
  const error = await assertRejects(() => promise);
  if (!(error instanceof HttpError)) throw error;
  return error;
}

Deno.test("fileResponse() answers 200 with its type, validators, Cache-Control and the kept bytes", async () => {
  const file = kept(PLAIN);
  const response = await respond(file);
  assertEquals(response.status, 200);
  assertEquals(response.headers, [
    ["Content-Type", "text/plain; charset=utf-8"],
    ["ETag", file.etag],
    ["Last-Modified", "Fri, 02 Jan 2026 03:04:05 GMT"],
    ["Cache-Control", "max-age=60"],
    ["Accept-Ranges", "bytes"],
  ]);
  assertEquals(await textOf(response), TEXT);
});

Deno.test("fileResponse() answers 304 to a matching If-None-Match or a later If-Modified-Since, with validators only", async () => {
  const file = kept();
  const conditions: Record<string, string>[] = [
    { "if-none-match": `"x", ${file.etag}` },
    { "if-modified-since": new Date(MTIME + 5000).toUTCString() },
  ];
  for (const fields of conditions) {
    const response = await respond(file, fields);
    assertEquals(response.status, 304, JSON.stringify(fields));
    assertEquals(response.body, null);
    assertEquals(response.headers.map(([name]) => name), [
      "ETag",
      "Last-Modified",
      "Cache-Control",
      "Vary",
    ]);
  }
  assertEquals((await respond(file, { "if-none-match": '"other"' })).status, 200);
});

Deno.test("fileResponse() refuses an If-Match that does not match with 412", async () => {
  const error = await refusal(respond(kept(), { "if-match": '"other"' }));
  assertEquals([error.status, error.headers], [412, [["Vary", "Accept-Encoding"]]]);
  assertEquals((await respond(kept(), { "if-match": kept().etag })).status, 200);
});

Deno.test("fileResponse() answers one range with 206 and Content-Range, from memory and from disk", async () => {
  const fromMemory = await respond(kept(), { range: "bytes=10-14" });
  assertEquals([fromMemory.status, field(fromMemory, "Content-Range")], [206, "bytes 10-14/2000"]);
  assertEquals(await textOf(fromMemory), "01234");
  await onDisk({}, async (file) => {
    const fromDisk = await respond(file, { range: "bytes=-3" });
    assertEquals([fromDisk.status, field(fromDisk, "Content-Range")], [
      206,
      "bytes 1997-1999/2000",
    ]);
    assertEquals(await bytesOf(fromDisk), { length: 3, bytes: encoder.encode("789") });
  });
});

Deno.test("fileResponse() answers several ranges with a 206 multipart/byteranges with a part per range", async () => {
  const response = await respond(kept(), { range: "bytes=0-1,5-6" });
  assertEquals(response.status, 206);
  const type = field(response, "Content-Type")!;
  assertMatch(type, /^multipart\/byteranges; boundary=\w+$/);
  const body = await textOf(response);
  assertMatch(body, /Content-Range: bytes 0-1\/2000\r\n\r\n01\r\n/);
  assertMatch(body, /Content-Range: bytes 5-6\/2000\r\n\r\n56\r\n/);
  const boundary = type.split("=")[1];
  assertTrue(body.startsWith(`\r\n--${boundary}\r\n`) || body.startsWith(`--${boundary}\r\n`));
  assertTrue(body.endsWith(`\r\n--${boundary}--\r\n`), body);
});

Deno.test("fileResponse() refuses an unsatisfiable range with 416 and bytes */size", async () => {
  const error = await refusal(respond(kept(PLAIN), { range: "bytes=5000-" }));
  assertEquals([error.status, error.headers], [416, [["Content-Range", "bytes */2000"]]]);
});

Deno.test("fileResponse() sends the whole file when If-Range does not match, and ignores Range for HEAD", async () => {
  const stale = await respond(kept(PLAIN), { range: "bytes=0-1", "if-range": '"old"' });
  assertEquals([stale.status, (await textOf(stale)).length], [200, 2000]);
  const head = await respond(kept(PLAIN), { range: "bytes=0-1" }, true);
  assertEquals(head.status, 200);
  assertEquals(await bytesOf(head), { length: 2000, bytes: new Uint8Array(0) });
});

Deno.test("fileResponse() sends the precompressed sibling the client prefers, with its own ETag", async () => {
  await onDisk({ br: "BROTLI", gzip: "GZIP" }, async (file) => {
    const br = await respond(file, { "accept-encoding": "gzip;q=0.5, br" });
    assertEquals(field(br, "Content-Encoding"), "br");
    assertEquals(field(br, "ETag"), fileETag(2000, MTIME, "br"));
    assertEquals(field(br, "Vary"), "Accept-Encoding");
    assertEquals(await textOf(br), "BROTLI");
    const gzip = await respond(file, { "accept-encoding": "gzip" });
    assertEquals([field(gzip, "Content-Encoding"), await textOf(gzip)], ["gzip", "GZIP"]);
    const head = await respond(file, { "accept-encoding": "br" }, true);
    assertEquals(await bytesOf(head), { length: 6, bytes: new Uint8Array(0) });
    const plain = await respond(file, { "accept-encoding": "identity" });
    assertEquals([field(plain, "Content-Encoding"), (await textOf(plain)).length], [
      undefined,
      2000,
    ]);
  });
});

Deno.test("fileResponse() gzips a compressible file without siblings on the fly, while the budget allows", async () => {
  await onDisk({}, async (file) => {
    const budget = new CompressionBudget(1);
    const context = { header: headers({ "accept-encoding": "gzip" }), head: false };
    const options = { ...context, cacheControl: "no-cache", compressions: budget };
    const gzipped = await fileResponse(file, options);
    assertEquals(field(gzipped, "Content-Encoding"), "gzip");
    assertEquals(budget.available, false, "the one slot is taken while it streams");
    const meanwhile = await fileResponse(file, options);
    assertEquals(field(meanwhile, "Content-Encoding"), undefined, "sent as it is");
    await bytesOf(meanwhile);
    const { length, bytes } = await bytesOf(gzipped);
    assertEquals([length, decoder.decode(gunzipSync(bytes))], [null, TEXT]);
    assertTrue(budget.available, "given back once closed");
  });
});
