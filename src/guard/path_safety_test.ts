import { assertEquals, assertThrows, assertTrue } from "../../tests/_assert.ts";
import { HttpError } from "../http/http_error.ts";
import { decodePath, insideRoot, isHidden } from "./path_safety.ts";

function refusal(rawPath: string): HttpError {
  const error = assertThrows(() => decodePath(rawPath), `${rawPath} was accepted`);
  assertTrue(error instanceof HttpError, `${rawPath}: not an HttpError: ${error}`);
  return error;
}

const SAFE: [string, string[], boolean][] = [
  ["/", [], true],
  ["/index.html", ["index.html"], false],
  ["/a/b/", ["a", "b"], true],
  ["/a/b", ["a", "b"], false],
  ["/a//b", ["a", "b"], false],
  ["//a", ["a"], false],
  ["/a%20b.html", ["a b.html"], false],
  ["/docs/caf%C3%A9.html", ["docs", "café.html"], false],
  ["/docs/caf%c3%a9.html", ["docs", "café.html"], false],
  ["/%E6%97%A5%E6%9C%AC.txt", ["日本.txt"], false],
  ["/%F0%9F%98%80/", ["😀"], true],
  ["/%252e%252e/secret", ["%2e%2e", "secret"], false],
  ["/%252e%252e%252fetc%252fpasswd", ["%2e%2e%2fetc%2fpasswd"], false],
  ["/%255c", ["%5c"], false],
  ["/...", ["..."], false],
  ["/..a", ["..a"], false],
  ["/a..", ["a.."], false],
  ["/a..b/c", ["a..b", "c"], false],
  ["/.", ["."], false],
  ["/%2e", ["."], false],
  ["/.env", [".env"], false],
  ["/.git/config", [".git", "config"], false],
  ["/a%3Fb", ["a?b"], false],
  ["/a%25", ["a%"], false],
  ["/~user/", ["~user"], true],
];

for (const [rawPath, segments, trailingSlash] of SAFE) {
  Deno.test(`decodePath() accepts ${rawPath}`, () => {
    assertEquals(decodePath(rawPath), { segments, trailingSlash });
  });
}

const TRAVERSAL = [
  "/..",
  "/../",
  "/../etc/passwd",
  "/a/../b",
  "/a/..",
  "/a/b/../../..",
  "/%2e%2e/",
  "/%2e%2e",
  "/%2E%2E%2f",
  "/%2E%2e/etc",
  "/.%2e/",
  "/%2e./",
  "/a/%2e%2e/b",
  "/..%2f",
  "/a%2fb",
  "/a%2Fb",
  "/%2f",
  "/%2f%2fetc",
  "/a%5cb",
  "/a%5Cb",
  "/..%5c..%5cwindows",
  "/a\\b",
  "/\\..\\",
  "/..\\",
];

for (const rawPath of TRAVERSAL) {
  Deno.test(`decodePath() refuses ${rawPath} with 403 traversal`, () => {
    const error = refusal(rawPath);
    assertEquals([error.status, error.reason, error.close], [403, "traversal", false]);
  });
}

const MALFORMED = [
  "/a%00b",
  "/%00",
  "/index.html%00.png",
  "/%zz",
  "/%4",
  "/%",
  "/a%4g",
  "/%%32%65",
  "/%c0%ae",
  "/%c0%ae%c0%ae/",
  "/%c0%af",
  "/%e0%80%af",
  "/%ff",
  "/%fe%ff",
  "/%C3",
  "/%C3%28",
  "/%ed%a0%80",
  "/%f4%90%80%80",
  "/%01",
  "/%0a",
  "/%0d%0a",
  "/%1b",
  "/%7f",
  "/a\x01b",
  "/a\tb",
];

for (const rawPath of MALFORMED) {
  Deno.test(`decodePath() refuses ${JSON.stringify(rawPath)} with 400`, () => {
    const error = refusal(rawPath);
    assertEquals([error.status, error.reason, error.close], [400, "parse", true]);
  });
}

Deno.test("decodePath() never returns a segment that is .. or holds a slash or backslash", () => {
  const alphabet = ["/", ".", "%2e", "%2E", "%2f", "%5c", "a", "%25", "\\", "%00"];
  let accepted = 0;
  const walk = (prefix: string, depth: number): void => {
    if (depth === 0) {
      let result;
      try {
        result = decodePath(prefix);
      } catch (error) {
        assertTrue(error instanceof HttpError, String(error));
        assertTrue(error.status === 400 || error.status === 403);
        return;
      }
      accepted++;
      for (const segment of result.segments) {
        assertTrue(segment !== ".." && segment !== "", `${prefix} → ${segment}`);
        assertTrue(!/[/\\]/.test(segment) && !segment.includes("\0"), `${prefix} → ${segment}`);
      }
      return;
    }
    for (const piece of alphabet) walk(prefix + piece, depth - 1);
  };
  walk("/", 4);
  assertTrue(accepted > 0);
});

Deno.test("isHidden() flags any segment starting with a dot, and only those", () => {
  assertEquals(isHidden([".env"]), true);
  assertEquals(isHidden(["a", "..", "b"]), true);
  assertEquals(isHidden(["docs", ".well-known", "x"]), true);
  assertEquals(isHidden(["docs", "a.b", "c."]), false);
  assertEquals(isHidden([]), false);
});

Deno.test("insideRoot() accepts the root and paths below it, not look-alike siblings", () => {
  assertEquals(insideRoot("/srv/www", "/srv/www"), true);
  assertEquals(insideRoot("/srv/www", "/srv/www/a/b.html"), true);
  assertEquals(insideRoot("/srv/www", "/srv/www-old/a.html"), false);
  assertEquals(insideRoot("/srv/www", "/srv"), false);
  assertEquals(insideRoot("/srv/www", "/etc/passwd"), false);
});
