import { assertEquals, assertMatch } from "../../tests/_assert.ts";
import { evaluatePreconditions, fileETag, ifRangeHolds, type Validators } from "./conditional.ts";

/** 2023-11-14T22:13:20.123Z: a modification time with a sub-second part. */
const MTIME = 1_700_000_000_123;
const ETAG = '"800-18bcfe5687b"';
const FILE: Validators = { etag: ETAG, mtimeMs: MTIME };
/** Last-Modified as sent for FILE (whole seconds). */
const LAST_MODIFIED = new Date(MTIME).toUTCString();
const httpDate = (ms: number) => new Date(ms).toUTCString();

/** A header lookup over a plain object of lowercase names. */
function headers(fields: Record<string, string>): (name: string) => string | undefined {
  return (name) => fields[name];
}

Deno.test("fileETag() is a strong tag of size and mtime in lowercase hex, with a suffix per coding", () => {
  assertEquals(fileETag(2048, 1_700_000_000_000), '"800-18bcfe56800"');
  assertEquals(fileETag(2048, MTIME), ETAG);
  assertEquals(fileETag(0, 0), '"0-0"');
  assertEquals(fileETag(0xabcdef, 0xfedcba), '"abcdef-fedcba"', "lowercase hex");
  assertEquals(fileETag(2048, MTIME + 0.9), ETAG, "sub-millisecond mtime is floored");
  assertEquals(fileETag(2048, MTIME, null), ETAG);
  assertEquals(fileETag(2048, MTIME, "gzip"), '"800-18bcfe5687b-gz"');
  assertEquals(fileETag(2048, MTIME, "br"), '"800-18bcfe5687b-br"');
  assertEquals(fileETag(2 ** 40, MTIME), '"10000000000-18bcfe5687b"', "sizes beyond 32 bits");
  for (const tag of [fileETag(1, 2), fileETag(1, 2, "gzip"), fileETag(1, 2, "br")]) {
    assertMatch(tag, /^"[0-9a-f]+-[0-9a-f]+(-gz|-br)?"$/, "strong: no W/ prefix");
  }
  const codings = [null, "gzip", "br"].map((coding) => fileETag(2048, MTIME, coding));
  assertEquals(new Set(codings).size, 3, "each representation has its own tag");
  assertEquals(fileETag(2048, MTIME), fileETag(2048, MTIME), "deterministic");
  assertEquals(fileETag(2049, MTIME) === ETAG, false, "size matters");
  assertEquals(fileETag(2048, MTIME + 1) === ETAG, false, "mtime in ms matters");
});

Deno.test("evaluatePreconditions(): no conditional headers proceed", () => {
  assertEquals(evaluatePreconditions(headers({}), FILE), "proceed");
});

Deno.test("evaluatePreconditions(): If-None-Match uses the weak comparison and * and lists match", () => {
  const cases: [string, string][] = [
    [ETAG, "not-modified"],
    [`W/${ETAG}`, "not-modified"],
    ["*", "not-modified"],
    [` ${ETAG} `, "not-modified"],
    [`"other", ${ETAG}`, "not-modified"],
    [`"a",W/"b",${ETAG}`, "not-modified"],
    ['"other"', "proceed"],
    ['"800-18bcfe5687b-gz"', "proceed"],
    ['"800-18BCFE5687B"', "proceed"],
    ["800-18bcfe5687b", "proceed"],
    ['"other", W/"else"', "proceed"],
  ];
  for (const [value, expected] of cases) {
    assertEquals(evaluatePreconditions(headers({ "if-none-match": value }), FILE), expected, value);
  }
});

Deno.test("evaluatePreconditions(): If-Modified-Since compares whole seconds and ignores invalid dates", () => {
  const cases: [string, string][] = [
    [LAST_MODIFIED, "not-modified"],
    [httpDate(MTIME + 1000), "not-modified"],
    [httpDate(Date.UTC(2099, 0, 1)), "not-modified"],
    [httpDate(MTIME - 1000), "proceed"],
    [httpDate(0), "proceed"],
    ["not a date", "proceed"],
    ["", "proceed"],
  ];
  for (const [value, expected] of cases) {
    assertEquals(
      evaluatePreconditions(headers({ "if-modified-since": value }), FILE),
      expected,
      value,
    );
  }
});

Deno.test("evaluatePreconditions(): If-None-Match takes precedence over If-Modified-Since", () => {
  const mismatchButUnmodified = headers({
    "if-none-match": '"other"',
    "if-modified-since": httpDate(Date.UTC(2099, 0, 1)),
  });
  assertEquals(evaluatePreconditions(mismatchButUnmodified, FILE), "proceed");
  const matchButModified = headers({ "if-none-match": ETAG, "if-modified-since": httpDate(0) });
  assertEquals(evaluatePreconditions(matchButModified, FILE), "not-modified");
});

Deno.test("evaluatePreconditions(): If-Match is a strong comparison; a mismatch fails", () => {
  const cases: [string, string][] = [
    [ETAG, "proceed"],
    ["*", "proceed"],
    [`"other", ${ETAG}`, "proceed"],
    [`W/${ETAG}`, "failed"],
    ['"other"', "failed"],
    ['"800-18bcfe5687b-gz"', "failed"],
    [`W/${ETAG}, "other"`, "failed"],
  ];
  for (const [value, expected] of cases) {
    assertEquals(evaluatePreconditions(headers({ "if-match": value }), FILE), expected, value);
  }
});

Deno.test("evaluatePreconditions(): If-Unmodified-Since fails when the file changed after the date", () => {
  const cases: [string, string][] = [
    [httpDate(0), "failed"],
    [httpDate(MTIME - 1000), "failed"],
    [LAST_MODIFIED, "proceed"],
    [httpDate(MTIME + 1000), "proceed"],
    ["garbage", "proceed"],
  ];
  for (const [value, expected] of cases) {
    assertEquals(
      evaluatePreconditions(headers({ "if-unmodified-since": value }), FILE),
      expected,
      value,
    );
  }
});

Deno.test("evaluatePreconditions(): RFC 9110 §13.2.2 order — If-Match first, If-Unmodified-Since only without it", () => {
  assertEquals(
    evaluatePreconditions(headers({ "if-match": ETAG, "if-unmodified-since": httpDate(0) }), FILE),
    "proceed",
    "If-Unmodified-Since is ignored when If-Match is present",
  );
  assertEquals(
    evaluatePreconditions(headers({ "if-match": '"other"', "if-none-match": ETAG }), FILE),
    "failed",
    "a failed If-Match wins over a matching If-None-Match",
  );
  assertEquals(
    evaluatePreconditions(
      headers({ "if-unmodified-since": httpDate(0), "if-none-match": ETAG }),
      FILE,
    ),
    "failed",
    "a failed If-Unmodified-Since wins over a matching If-None-Match",
  );
  assertEquals(
    evaluatePreconditions(headers({ "if-match": ETAG, "if-none-match": ETAG }), FILE),
    "not-modified",
  );
  assertEquals(
    evaluatePreconditions(
      headers({ "if-match": ETAG, "if-none-match": '"other"', "if-modified-since": LAST_MODIFIED }),
      FILE,
    ),
    "proceed",
  );
});

Deno.test("ifRangeHolds(): absent holds; entity tags compare strongly and exactly", () => {
  assertEquals(ifRangeHolds(undefined, FILE), true);
  assertEquals(ifRangeHolds(ETAG, FILE), true);
  assertEquals(ifRangeHolds(` ${ETAG} `, FILE), true, "surrounding whitespace is not part of it");
  assertEquals(ifRangeHolds(`W/${ETAG}`, FILE), false, "a weak tag never matches");
  assertEquals(ifRangeHolds('"other"', FILE), false);
  assertEquals(ifRangeHolds('"800-18bcfe5687b-gz"', FILE), false, "another representation");
  assertEquals(ifRangeHolds(fileETag(2048, MTIME - 1000), FILE), false, "an older version");
  assertEquals(ifRangeHolds('"800-18BCFE5687B"', FILE), false, "tags are case-sensitive");
  const gzipped: Validators = { etag: fileETag(2048, MTIME, "gzip"), mtimeMs: MTIME };
  assertEquals(ifRangeHolds(fileETag(2048, MTIME, "gzip"), gzipped), true);
  assertEquals(ifRangeHolds(`W/${gzipped.etag}`, gzipped), false);
});

Deno.test("ifRangeHolds(): a date holds only when it equals Last-Modified exactly", () => {
  assertEquals(ifRangeHolds(LAST_MODIFIED, FILE), true);
  assertEquals(ifRangeHolds(httpDate(MTIME - 123), FILE), true, "same whole second");
  assertEquals(ifRangeHolds(httpDate(MTIME + 1000), FILE), false, "a later date is not exact");
  assertEquals(ifRangeHolds(httpDate(MTIME - 1000), FILE), false, "an earlier date is not exact");
  assertEquals(ifRangeHolds(httpDate(Date.UTC(2099, 0, 1)), FILE), false);
  assertEquals(ifRangeHolds("not a date", FILE), false);
  assertEquals(ifRangeHolds("", FILE), false);
});
