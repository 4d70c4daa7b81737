import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import { HttpError } from "../http/http_error.ts";
import { fileError } from "./file_errors.ts";

Deno.test("fileError() is 403 for what may not be read, 404 for what is not there", () => {
  assertEquals(fileError(new Deno.errors.NotCapable("read")).status, 403);
  assertEquals(fileError(new Deno.errors.PermissionDenied("mode 000")).status, 403);
  assertEquals(fileError(new Deno.errors.FilesystemLoop("loop")).status, 403);
  assertEquals(fileError(new Deno.errors.NotFound("gone")).status, 404);
  assertEquals(fileError(new Deno.errors.NotADirectory("a/b")).status, 404);
  assertEquals(fileError(Object.assign(new Error("long"), { code: "ENAMETOOLONG" })).status, 404);
});

Deno.test("fileError() is a 503 with Retry-After when no file descriptor is left, not a 404", () => {
  const busy = fileError(new Error("Too many open files (os error 24)"));
  assertEquals(busy.status, 503);
  assertEquals(busy.headers, [["Retry-After", "5"]]);
  assertEquals(fileError(new Error("Too many open files in system (os error 23)")).status, 503);
});

Deno.test("fileError() passes an HttpError on and rethrows what is not the client's to hear", () => {
  const refusal = new HttpError(415, "File type not served");
  assertEquals(fileError(refusal), refusal);
  const thrown = assertThrows(() => fileError(new Error("disk on fire")));
  assertEquals((thrown as Error).message, "disk on fire");
});
