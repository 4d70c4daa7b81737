import { assertEquals } from "../../tests/_assert.ts";
import { foldFieldName, isFramingLookalike } from "./field_names.ts";

Deno.test("foldFieldName() reads _ as -, makes runs of delimiters one and drops them at the ends", () => {
  assertEquals(foldFieldName("content_length"), "content-length");
  assertEquals(foldFieldName("transfer--encoding"), "transfer-encoding");
  assertEquals(foldFieldName("-transfer_-_encoding_"), "transfer-encoding");
  assertEquals(foldFieldName("x-request-id"), "x-request-id");
});

Deno.test("isFramingLookalike() finds names that fold into Content-Length or Transfer-Encoding", () => {
  for (
    const name of ["content_length", "transfer_encoding", "content--length", "-content-length"]
  ) {
    assertEquals(isFramingLookalike(name), true, name);
  }
  const ordinary = [
    "content-length",
    "transfer-encoding",
    "x-content-length",
    "content-lengths",
    "accept-encoding",
    "x_custom_header",
    "content_type",
  ];
  for (const name of ordinary) assertEquals(isFramingLookalike(name), false, name);
});
