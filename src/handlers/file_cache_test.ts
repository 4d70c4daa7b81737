import { assertEquals } from "../../tests/_assert.ts";
import { fileETag } from "./conditional.ts";
import { FileCache, HeaderMemo, type ResolvedFile } from "./file_cache.ts";

function file(size: number): ResolvedFile {
  return {
    path: `/srv/${size}`,
    root: "/srv",
    id: { dev: 1, ino: size },
    name: "x.html",
    size,
    mtimeMs: 1,
    lastModified: new Date(1).toUTCString(),
    etag: fileETag(size, 1),
    served: { type: "text/html", attachment: false, compressible: true },
    siblings: new Map(),
    content: new Uint8Array(size),
    gzipped: null,
    plainHeaders: new HeaderMemo(),
  };
}

Deno.test("FileCache trusts an entry for the TTL, then only as a stale copy", () => {
  const cache = new FileCache({ maxBytes: 1000, maxFileBytes: 500, ttlMs: 100 });
  cache.set("a", file(10), 0);
  assertEquals(cache.fresh("a", 99)?.size, 10);
  assertEquals(cache.fresh("a", 100), null);
  assertEquals(cache.stale("a")?.size, 10);
});

Deno.test("FileCache keeps within its byte budget, least recently used out first", () => {
  const cache = new FileCache({ maxBytes: 1000, maxFileBytes: 500, ttlMs: 1000 });
  cache.set("a", file(400), 0);
  cache.set("b", file(400), 0);
  cache.fresh("a", 1);
  cache.set("c", file(400), 2);
  assertEquals(cache.stale("b"), null, "b was least recently used");
  assertEquals(cache.stale("a")?.size, 400);
  assertEquals(cache.keeps(500), true);
  assertEquals(cache.keeps(501), false);
});

Deno.test("FileCache evicts in use order through hits, replacements and deletes", () => {
  // Ten 100-byte files in a 1 000-byte budget; each step then evicts exactly one.
  const cache = new FileCache({ maxBytes: 1000, maxFileBytes: 500, ttlMs: 1000 });
  const kept = () => "abcdefghijklm".split("").filter((key) => cache.stale(key) !== null).join("");
  for (const key of "abcdefghij") cache.set(key, file(100), 0);
  for (const key of "jjcae") cache.fresh(key, 1); // the newest hit twice, the oldest, a middle one
  assertEquals(kept(), "abcdefghij");
  cache.set("k", file(100), 2);
  assertEquals(kept(), "acdefghijk", "b is now the least recently used");
  cache.set("d", file(100), 3); // replacing d makes it the newest
  cache.delete("f");
  cache.set("l", file(100), 4);
  cache.set("m", file(100), 4);
  cache.set("m", file(100), 4); // replacing the newest leaves the order as it is
  assertEquals(kept(), "acdehijklm", "f deleted, then g the least recently used");
  for (const key of "cdeijklm") cache.fresh(key, 5);
  cache.set("b", file(300), 6);
  assertEquals(kept(), "bdeijklm", "h, a and c made room for 300 bytes");
});

Deno.test("FileCache answers from an expired entry only while another request checks it", () => {
  const cache = new FileCache({ maxBytes: 1000, maxFileBytes: 500, ttlMs: 100 });
  assertEquals(cache.trusted("a", 0), null, "nothing cached: the caller checks");
  assertEquals(cache.trusted("a", 0), null, "nothing to answer from: this caller checks too");
  cache.set("a", file(10), 0);
  cache.checked("a");
  assertEquals(cache.trusted("a", 50)?.size, 10, "fresh");
  assertEquals(cache.trusted("a", 100), null, "expired: the first caller checks");
  assertEquals(cache.trusted("a", 101)?.size, 10, "meanwhile the others get the entry");
  cache.checked("a");
  assertEquals(cache.trusted("a", 102), null, "check over, still expired: check again");
  cache.set("a", file(20), 103);
  cache.checked("a");
  assertEquals(cache.trusted("a", 104)?.size, 20);
});
