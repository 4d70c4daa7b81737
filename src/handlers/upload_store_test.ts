import { join } from "node:path";
import { assertEquals, assertRejects, assertTrue } from "../../tests/_assert.ts";
import { prng } from "../../tests/_prng.ts";
import { HttpError } from "../http/http_error.ts";
import { JsonChecker } from "./json_check.ts";
import { type BodyPieces, STALE_TEMP_MS, UploadStore } from "./upload_store.ts";

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

/** Size of the one `.upload-*.tmp` in `dir` (0 when there is none). */
async function tempSize(dir: string): Promise<number> {
  for (const name of await names(dir)) {
    if (/^\.upload-[0-9a-f]+\.tmp$/.test(name)) return (await Deno.stat(join(dir, name))).size;
  }
  return 0;
}

/**
 * `body` in the given pieces, each handed out in a buffer that the next call
 * overwrites (as a connection's read buffer is); before each piece, `onNext`
 * learns how many bytes were handed out so far. After the pieces, `end`.
 */
function piecesOf(
  body: Uint8Array,
  sizes: number[],
  onNext: (sent: number) => Promise<void>,
  end: () => Uint8Array | null = () => null,
): BodyPieces {
  const buffer = new Uint8Array(Math.max(...sizes));
  let sent = 0;
  let index = 0;
  return {
    async next() {
      await onNext(sent);
      if (index === sizes.length) return end();
      const size = sizes[index++];
      buffer.set(body.subarray(sent, sent + size));
      sent += size;
      return buffer.subarray(0, size);
    },
  };
}

/** Piece sizes from 1 byte to 40 KiB that add up to `total`. */
function randomSizes(total: number, seed: number): number[] {
  const random = prng(seed);
  const sizes: number[] = [];
  for (let left = total; left > 0;) {
    const size = Math.min(left, random() < 0.5 ? 1 + Math.floor(random() * 600) : 40 * 1024);
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

Deno.test("UploadStore.receive() writes a body as its pieces come, holding back at most 16 KiB", async () => {
  await withDir(async (dir) => {
    const store = new UploadStore(dir);
    const body = encoder.encode(JSON.stringify({ data: "z".repeat(1024 * 1024 - 20) }));
    let held = 0;
    const pieces = piecesOf(body, randomSizes(body.length, 7), async (sent) => {
      held = Math.max(held, sent - await tempSize(dir));
    });
    const received = await store.receive(pieces, new JsonChecker(64));
    assertTrue(held <= 16 * 1024, `held back ${held} bytes`);
    assertEquals(received.size, body.length);
    const name = await store.publish(received);
    assertEquals(await Deno.readFile(join(dir, name)), body, "the bytes stored are those received");
    assertEquals(await names(dir), [name]);
  });
});

Deno.test("UploadStore.receive() removes its temporary when the body is cut short", async () => {
  await withDir(async (dir) => {
    const body = encoder.encode(`"${"c".repeat(200_000)}"`);
    let sawTemp = false;
    const pieces = piecesOf(body, randomSizes(100_000, 8), async () => {
      sawTemp ||= (await tempSize(dir)) > 0;
    }, () => {
      throw new HttpError(400, "Request body ended early", { close: true });
    });
    const error = await assertRejects(() => new UploadStore(dir).receive(pieces));
    assertEquals((error as HttpError).message, "Request body ended early");
    assertTrue(sawTemp, "the body was on its way to disk");
    assertEquals(await names(dir), []);
  });
});

Deno.test("UploadStore.receive() removes its temporary when the check refuses the body mid-way", async () => {
  await withDir(async (dir) => {
    const body = encoder.encode(`[${"1,".repeat(100_000)}}`);
    let sawTemp = false;
    const pieces = piecesOf(body, randomSizes(body.length, 9), async () => {
      sawTemp ||= (await tempSize(dir)) > 0;
    });
    const error = await assertRejects(() =>
      new UploadStore(dir).receive(pieces, new JsonChecker(64))
    );
    assertEquals((error as HttpError).status, 400);
    assertTrue(sawTemp, "the body was on its way to disk");
    assertEquals(await names(dir), []);
  });
});

Deno.test("UploadStore.discard() removes a received body, which publish() would have shown", async () => {
  await withDir(async (dir) => {
    const store = new UploadStore(dir);
    const received = await store.receive(
      piecesOf(encoder.encode("[1]"), [3], () => Promise.resolve()),
    );
    assertEquals((await names(dir)).length, 1);
    await store.discard(received);
    assertEquals(await names(dir), []);
  });
});
