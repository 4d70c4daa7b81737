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

/**
 * Runs `test` with StaticFiles over a temp root holding `files`, with `options`
 * besides (no cache unless given); the root is removed afterwards.
 */
async function withRoot(
  files: Record<string, string>,
  options: { types?: ContentTypes; cache?: FileCache; uploadDir?: string },
  test: (files: StaticFiles, root: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "bastion-static-" }));
  try {
    for (const [path, content] of Object.entries(files)) {
      await Deno.mkdir(join(root, path, ".."), { recursive: true });
      await Deno.writeTextFile(join(root, path), content);
    }
    const types = options.types ?? new ContentTypes();
    await test(new StaticFiles({ ...options, root, types }), root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** A request for `path` (`?query` split off) with `headers`, GET unless `head`. */
function asking(path: string, headers: Record<string, string> = {}, head = false): FileRequest {
  const [rawPath, query] = path.split("?");
  return {
    rawPath,
    query: query ?? null,
    safePath: {
      segments: rawPath.split("/").filter((s) => s !== ""),
      trailingSlash: rawPath.length > 1 && rawPath.endsWith("/"),
    },
    head,
    header: (name) => headers[name],
  };
}

/** The body as text (a stream read to its end) and its announced length. */
async function contents(response: HttpResponse): Promise<{ length: number | null; text: string }> {
  const bytes = response.body;
  if (bytes === null) return { length: 0, text: "" };
  if (!(bytes instanceof Uint8Array)) return await body(response);
  return { length: bytes.length, text: new TextDecoder().decode(bytes) };
}

function field(response: HttpResponse, name: string): string | undefined {
  return response.headers.find(([key]) => key === name)?.[1];
}

async function refused(files: StaticFiles, request: FileRequest): Promise<HttpError> {
  const error = await assertRejects(() => files.serve(request));
  if (!(error instanceof HttpError)) throw error;
  return error;
}

Deno.test("StaticFiles.serve() answers 304 to an If-None-Match naming the file's ETag", async () => {
  await withRoot({ "a.txt": "hello" }, {}, async (files) => {
    const first = await files.serve(asking("/a.txt"));
    const etag = field(first, "ETag")!;
    const again = await files.serve(asking("/a.txt", { "if-none-match": etag }));
    assertEquals([again.status, again.body, field(again, "ETag")], [304, null, etag]);
    await contents(first);
  });
});

Deno.test("StaticFiles.serve() answers a Range with 206, and one past the end with 416", async () => {
  const cache = new FileCache({ maxBytes: 1 << 20, maxFileBytes: 1024, ttlMs: 60_000 });
  for (const options of [{}, { cache }]) {
    await withRoot({ "a.txt": "0123456789" }, options, async (files) => {
      const part = await files.serve(asking("/a.txt", { range: "bytes=2-4" }));
      assertEquals([part.status, field(part, "Content-Range")], [206, "bytes 2-4/10"]);
      assertEquals(await contents(part), { length: 3, text: "234" });
      const error = await refused(files, asking("/a.txt", { range: "bytes=10-" }));
      assertEquals([error.status, field(error.toResponse(), "Content-Range")], [416, "bytes */10"]);
    });
  }
});

Deno.test("StaticFiles.serve() answers HEAD with the headers and length of GET but no bytes", async () => {
  await withRoot({ "a.txt": "0123456789" }, {}, async (files) => {
    const get = await files.serve(asking("/a.txt"));
    const head = await files.serve(asking("/a.txt", {}, true));
    assertEquals([head.status, head.headers], [get.status, get.headers]);
    assertEquals(await contents(head), { length: 10, text: "" });
    await contents(get);
  });
});

Deno.test("StaticFiles.serve() sends the precompressed sibling Accept-Encoding prefers, never an older one", async () => {
  const page = "<p>page</p>".repeat(200);
  const siblings = { "p.html": page, "p.html.br": "BR", "p.html.gz": "GZ" };
  await withRoot(siblings, {}, async (files, root) => {
    const br = await files.serve(asking("/p.html", { "accept-encoding": "gzip, br" }));
    assertEquals([field(br, "Content-Encoding"), (await contents(br)).text], ["br", "BR"]);
    const gz = await files.serve(asking("/p.html", { "accept-encoding": "br;q=0.1, gzip" }));
    assertEquals([field(gz, "Content-Encoding"), (await contents(gz)).text], ["gzip", "GZ"]);
    const none = await files.serve(asking("/p.html"));
    assertEquals([field(none, "Content-Encoding"), (await contents(none)).text], [undefined, page]);
    await Deno.utime(join(root, "p.html.br"), 0, 0);
    const stale = await files.serve(asking("/p.html", { "accept-encoding": "br" }));
    assertEquals(field(stale, "Content-Encoding"), undefined, "an older .br is not sent");
    assertEquals((await contents(stale)).text, page);
  });
});

Deno.test("StaticFiles.serve() answers 404 for a hidden path, even when the file exists", async () => {
  const hidden = { ".env": "SECRET=1", ".git/config": "[core]", "d/.hidden/a.txt": "x" };
  await withRoot(hidden, {}, async (files) => {
    for (const path of ["/.env", "/.git/config", "/d/.hidden/a.txt"]) {
      const error = await refused(files, asking(path));
      assertEquals(error.status, 404, path);
    }
  });
});

Deno.test("StaticFiles.serve() refuses a file of a type not served with 415, reason type", async () => {
  const types = new ContentTypes({ profile: "seed" });
  await withRoot({ "tool.exe": "MZ", "page.html": "<p>" }, { types }, async (files) => {
    const error = await refused(files, asking("/tool.exe"));
    assertEquals([error.status, error.reason], [415, "type"]);
    assertEquals((await files.serve(asking("/page.html"))).status, 200);
  });
});

Deno.test("StaticFiles.serve() redirects a directory to its slash, keeping the query, and serves its index", async () => {
  await withRoot({ "d/index.html": "<p>index</p>" }, {}, async (files) => {
    const redirect = await files.serve(asking("//d?x=1"));
    assertEquals([redirect.status, field(redirect, "Location")], [301, "/d/?x=1"]);
    const index = await files.serve(asking("/d/"));
    assertEquals((await contents(index)).text, "<p>index</p>");
    assertEquals((await refused(files, asking("/d/index.html/"))).status, 404);
  });
});

Deno.test("StaticFiles.serve() serves a stored upload from the upload directory as JSON", async () => {
  const name = "upload_20260102_030405_0a1b2c3d4e5f.json";
  await withRoot({ [`store/${name}`]: '{"a":1}' }, {}, async (_, root) => {
    const files = new StaticFiles({
      root,
      types: new ContentTypes(),
      uploadDir: join(root, "store"),
    });
    const stored = await files.serve(asking(`/uploads/${name}`));
    assertEquals(field(stored, "Content-Type"), "application/json; charset=utf-8");
    assertEquals((await contents(stored)).text, '{"a":1}');
    assertEquals((await refused(files, asking("/uploads/other.json"))).status, 404);
  });
});
