import { assertEquals, assertMatch } from "../../tests/_assert.ts";
import { isUploadName, randomHex, uploadName } from "./upload_name.ts";

Deno.test("uploadName() formats the time in UTC", () => {
  const name = uploadName(new Date("2026-11-22T23:59:58.999-05:00"));
  assertMatch(name, /^upload_20261123_045958_[0-9a-f]{12}\.json$/);
  assertMatch(uploadName(new Date("2026-01-02T03:04:05Z")), /^upload_20260102_030405_/);
});

Deno.test("uploadName() differs for the same second", () => {
  const time = new Date();
  const seen = new Set(Array.from({ length: 1000 }, () => uploadName(time)));
  assertEquals(seen.size, 1000);
});

Deno.test("randomHex() gives the asked number of lowercase hex digits", () => {
  for (const digits of [1, 2, 11, 12, 16, 33]) {
    assertMatch(randomHex(digits), new RegExp(`^[0-9a-f]{${digits}}$`));
  }
});

Deno.test("isUploadName() accepts exactly the names uploadName() makes", () => {
  for (let i = 0; i < 100; i++) assertEquals(isUploadName(uploadName(new Date())), true);
  const others = [
    "upload_20261122_103015_0123456789ab.json.gz",
    "upload_20261122_103015_0123456789AB.json",
    "upload_20261122_103015_0123456789a.json",
    "upload_2026112_103015_0123456789ab.json",
    ".upload-0123456789ab.tmp",
    "x_upload_20261122_103015_0123456789ab.json",
    "upload_20261122_103015_0123456789ab.JSON",
    "",
  ];
  for (const name of others) assertEquals(isUploadName(name), false, name);
});
