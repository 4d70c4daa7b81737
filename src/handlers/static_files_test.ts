import { join } from "node:path";
import { assertEquals, assertRejects, assertTrue } from "../../tests/_assert.ts";
import { HttpError } from "../http/http_error.ts";
import type { HttpResponse } from "../http/response.ts";
import { ContentTypes } from "./content_types.ts";
import { FileCache } from "./file_cache.ts";
import { type FileRequest, StaticFiles } from "./static_files.ts";

/** Larger than the cache keeps in memory: resolved once, then opened by its real path per request. */
const SIZE = 4096;
const INSIDE = "i".repeat(SIZE);
const SECRET = "s".repeat(SIZE);

/**
 * `<base>/www/d/big.txt` and `<base>/outside/big.txt`, and a StaticFiles over
 * `www` whose cache trusts what it resolved for a minute: a request within it
 * opens the path resolved before, which is the gap a swap falls into.
 */
async function setUp(): Promise<
  { base: string; root: string; outside: string; files: StaticFiles }
> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "bastion-static-" }));
  const root = join(base, "www");
  const outside = join(base, "outside");
  await Deno.mkdir(join(root, "d"), { recursive: true });
  await Deno.mkdir(outside);
  await Deno.writeTextFile(join(root, "d", "big.txt"), INSIDE);
  await Deno.writeTextFile(join(outside, "big.txt"), SECRET);
  const cache = new FileCache({ maxBytes: 1 << 20, maxFileBytes: 1024, ttlMs: 60_000 });
  return {
    base,
    root,
    outside,
    files: new StaticFiles({ root, types: new ContentTypes(), cache }),
  };
}

function request(path: string): FileRequest {
  return {
    rawPath: path,
    query: null,
    safePath: { segments: path.split("/").filter((s) => s !== ""), trailingSlash: false },
    head: false,
    header: () => undefined,
  };
}

/** The body's text, read to its end, and its announced length. */
async function body(response: HttpResponse): Promise<{ length: number | null; text: string }> {
  const { body } = response;
  if (body === null || body instanceof Uint8Array) throw new Error("Expected a streamed body");
  let text = "";
  const decoder = new TextDecoder();
  try {
    for await (const piece of body.chunks()) text += decoder.decode(piece, { stream: true });
  } finally {
    body.close();
  }
  return { length: body.length, text };
}

Deno.test("StaticFiles.serve() refuses with 403 a resolved file whose directory was swapped for a symlink out of the root before it was opened", async () => {
  const { base, root, outside, files } = await setUp();
  try {
    assertEquals((await body(await files.serve(request("/d/big.txt")))).text, INSIDE);
    await Deno.rename(join(root, "d"), join(root, ".d-away"));
    await Deno.symlink(outside, join(root, "d"));
    const error = await assertRejects(async () => {
      const leaked = await body(await files.serve(request("/d/big.txt")));
      assertTrue(!leaked.text.includes("s"), "the file outside the root was sent");
    });
    assertTrue(error instanceof HttpError, String(error));
    assertEquals([error.status, error.reason], [403, "traversal"]);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("StaticFiles.serve() serves a cached file replaced since it was resolved afresh, with its own length", async () => {
  const { base, root, files } = await setUp();
  try {
    await body(await files.serve(request("/d/big.txt")));
    const shorter = "n".repeat(SIZE / 2);
    await Deno.writeTextFile(join(root, "new.txt"), shorter);
    await Deno.rename(join(root, "new.txt"), join(root, "d", "big.txt"));
    const served = await body(await files.serve(request("/d/big.txt")));
    assertEquals(served, { length: shorter.length, text: shorter });
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("StaticFiles keeps the gzip of a kept file up to 1 MiB with its bytes", async () => {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "bastion-static-" }));
  try {
    const page = `<!doctype html>${"<p>kept</p>".repeat(80_000)}`.slice(0, 900 * 1024);
    await Deno.writeTextFile(join(base, "page.html"), page);
    const cache = new FileCache({ maxBytes: 8 << 20, maxFileBytes: 1 << 20, ttlMs: 60_000 });
    const files = new StaticFiles({ root: base, types: new ContentTypes(), cache });
    const gzip = {
      ...request("/page.html"),
      header: (name: string) => name === "accept-encoding" ? "gzip" : undefined,
    };
    const first = await files.serve(gzip);
    assertTrue(
      first.headers.some(([name, value]) => name === "Content-Encoding" && value === "gzip"),
    );
    const kept = cache.stale("page.html");
    assertTrue(
      kept?.gzipped !== null && kept?.gzipped !== undefined,
      "the gzip is kept with the bytes",
    );
    assertEquals(kept!.gzipped!(), kept!.gzipped!(), "made once: the same bytes every time");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
