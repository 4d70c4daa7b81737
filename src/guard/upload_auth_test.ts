import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import { HttpError } from "../http/http_error.ts";
import { BearerAuth, tokenFromText } from "./upload_auth.ts";

Deno.test("BearerAuth.check() accepts the token and refuses anything else with 401", () => {
  const auth = new BearerAuth("s3cret-token");
  auth.check("Bearer s3cret-token");
  auth.check("bearer   s3cret-token ");
  for (
    const header of [
      undefined,
      "",
      "Bearer",
      "Bearer s3cret",
      "Bearer s3cret-token2",
      "Basic s3cret-token",
      "s3cret-token",
    ]
  ) {
    const error = assertThrows(() => auth.check(header)) as HttpError;
    assertEquals(error.status, 401, String(header));
    assertEquals(error.reason, "auth");
    assertEquals(error.headers, [["WWW-Authenticate", "Bearer"]]);
  }
});

Deno.test("tokenFromText() trims whitespace and the trailing newline and refuses an empty token", () => {
  assertEquals(tokenFromText("  abc\n"), "abc");
  assertEquals(tokenFromText("abc\r\n"), "abc");
  assertThrows(() => tokenFromText(" \n\t"));
});
