import { join } from "node:path";
import { assertEquals, assertRejects, assertTrue } from "../../tests/_assert.ts";
import { STALE_TEMP_MS, UploadStore } from "./upload_store.ts";

const NAME = /^upload_(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})_[0-9a-f]{12}\.json$/;
const encoder = new TextEncoder();

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bastion-upload-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function names(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) found.push(entry.name);
  return found.sort();
}

Deno.test("UploadStore.save() names the file upload_YYYYMMDD_HHMMSS_<12 hex>.json in UTC", async () => {
  await withDir(async (dir) => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const name = await new UploadStore(dir).save(encoder.encode('{"a":1}'));
    const after = Date.now();
    const match = NAME.exec(name);
    assertTrue(match !== null, name);
    const [, y, mo, d, h, mi, s] = match.map(Number);
    const stamp = Date.UTC(y, mo - 1, d, h, mi, s);
    assertTrue(stamp >= before && stamp <= after, `${name} is not now in UTC`);
  });
});

Deno.test("UploadStore.save() stores the bytes unchanged", async () => {
  await withDir(async (dir) => {
    const store = new UploadStore(dir);
    const json = encoder.encode('{"name":"café 日本","n":[1,2,3],"s":"\\u0000\\r\\n"}\n');
    const big = crypto.getRandomValues(new Uint8Array(64 * 1024));
    for (const body of [json, big, new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d])]) {
      const name = await store.save(body);
      assertEquals(await Deno.readFile(join(dir, name)), body);
    }
  });
});

Deno.test("UploadStore.save() creates the file with mode 0640", async () => {
  await withDir(async (dir) => {
    const name = await new UploadStore(dir).save(encoder.encode("{}"));
    const info = await Deno.stat(join(dir, name));
    assertEquals((info.mode! & 0o777).toString(8), "640");
    assertEquals(info.nlink, 1, "the temporary link is gone");
  });
});

Deno.test("UploadStore.save() leaves no temporary file behind", async () => {
  await withDir(async (dir) => {
    const store = new UploadStore(dir);
    const first = await store.save(encoder.encode("[1]"));
    const second = await store.save(encoder.encode("[2]"));
    assertEquals(await names(dir), [first, second].sort());
  });
});

Deno.test("UploadStore.save() gives concurrent uploads unique names and their own bytes", async () => {
  await withDir(async (dir) => {
    const store = new UploadStore(dir);
    const bodies = Array.from({ length: 64 }, (_, i) => encoder.encode(`{"upload":${i}}`));
    const saved = await Promise.all(bodies.map((body) => store.save(body)));
    assertEquals(new Set(saved).size, bodies.length);
    assertEquals(await names(dir), [...saved].sort());
    for (let i = 0; i < bodies.length; i++) {
      assertEquals(await Deno.readFile(join(dir, saved[i])), bodies[i]);
    }
  });
});

Deno.test("UploadStore.save() from two stores sharing a directory never overwrites", async () => {
  await withDir(async (dir) => {
    const a = new UploadStore(dir);
    const b = new UploadStore(dir);
    const saved = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).save(encoder.encode(`[${i}]`))),
    );
    assertEquals(new Set(saved).size, 20);
    assertEquals((await names(dir)).length, 20);
  });
});

Deno.test("UploadStore.save() fails and leaves nothing when the directory is missing", async () => {
  await withDir(async (dir) => {
    const missing = join(dir, "missing");
    await assertRejects(() => new UploadStore(missing).save(encoder.encode("{}")));
    assertEquals(await names(dir), []);
  });
});

Deno.test("UploadStore.removeStaleTemps() removes temporaries over an hour old only", async () => {
  await withDir(async (dir) => {
    const now = Date.now();
    const old = new Date(now - STALE_TEMP_MS - 60_000);
    const young = new Date(now - STALE_TEMP_MS + 60_000);
    const files: [string, Date][] = [
      [".upload-0123456789abcdef.tmp", old],
      [".upload-fedcba9876543210.tmp", young],
      [".upload-aaaa.tmp", new Date(now)],
      ["upload_20200101_000000_0123456789ab.json", old],
      ["notes.tmp", old],
      [".upload-old.tmp.bak", old],
    ];
    for (const [name, mtime] of files) {
      await Deno.writeFile(join(dir, name), encoder.encode("{"));
      await Deno.utime(join(dir, name), mtime, mtime);
    }
    const removed = await new UploadStore(dir).removeStaleTemps(now);
    assertEquals(removed, 1);
    assertEquals(await names(dir), [
      ".upload-aaaa.tmp",
      ".upload-fedcba9876543210.tmp",
      ".upload-old.tmp.bak",
      "notes.tmp",
      "upload_20200101_000000_0123456789ab.json",
    ]);
  });
});

Deno.test("UploadStore.removeStaleTemps() uses the real clock by default", async () => {
  await withDir(async (dir) => {
    const path = join(dir, ".upload-abc123.tmp");
    await Deno.writeFile(path, encoder.encode("{"));
    const old = new Date(Date.now() - 2 * STALE_TEMP_MS);
    await Deno.utime(path, old, old);
    assertEquals(await new UploadStore(dir).removeStaleTemps(), 1);
    assertEquals(await names(dir), []);
  });
});

Deno.test("UploadStore.removeStaleTemps() leaves a directory named like a temporary", async () => {
  await withDir(async (dir) => {
    const path = join(dir, ".upload-abc.tmp");
    await Deno.mkdir(path);
    const old = new Date(Date.now() - 2 * STALE_TEMP_MS);
    await Deno.utime(path, old, old);
    assertEquals(await new UploadStore(dir).removeStaleTemps(), 0);
    assertEquals(await names(dir), [".upload-abc.tmp"]);
  });
});
