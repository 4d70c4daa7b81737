import { join } from "node:path";
import { assertEquals } from "../../tests/_assert.ts";
import { storedUploadBytes, UploadQuota } from "./upload_quota.ts";

Deno.test("UploadQuota.reserve() refuses what does not fit and takes nothing then", () => {
  const quota = UploadQuota.create(100, 40);
  assertEquals(quota.reserve(60), true);
  assertEquals(quota.reserve(1), false);
  assertEquals(quota.used, 100);
  quota.release(10);
  assertEquals(quota.reserve(10), true);
  assertEquals(UploadQuota.attach(quota.buffer, 100).used, 100, "another thread sees one total");
});

Deno.test("storedUploadBytes() counts stored uploads, not temporaries or other files", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "upload_20261122_103015_0123456789ab.json"), "12345");
  await Deno.writeTextFile(join(dir, ".upload-00ff.tmp"), "1234567890");
  await Deno.writeTextFile(join(dir, "notes.txt"), "123");
  assertEquals(await storedUploadBytes(dir), 5);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("UploadQuota counts bytes stored elsewhere in a fleet against the same limit", () => {
  const quota = UploadQuota.create(100, 10);
  quota.elsewhere = 80;
  assertEquals(quota.reserve(11), false);
  assertEquals(quota.reserve(10), true);
  assertEquals(UploadQuota.attach(quota.buffer, 100).elsewhere, 80, "every thread sees it");
  quota.elsewhere = -5;
  assertEquals(quota.elsewhere, 0, "never below zero");
});
