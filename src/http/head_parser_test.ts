import { assertEquals, assertTrue } from "../../tests/_assert.ts";
import { type HeadLimits, HeadScanner } from "./head_scanner.ts";
import { parseHead } from "./head_parser.ts";
import { HttpError } from "./http_error.ts";
import { interpretHead, type Request } from "./request.ts";

const LIMITS: HeadLimits = { maxHead: 8192, maxUri: 4096, maxHeaders: 100 };
const H = "Host: a\r\n";

/** What the pure pipeline made of a head. */
type Outcome =
  | { ok: Request }
  | { status: number; close: boolean }
  | { incomplete: true };

/** Latin-1 bytes of `text`: every char is one byte, so `\x00` and `\xff` stay raw. */
function latin1(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 255) throw new Error(`Not a Latin-1 test string: ${text}`);
    bytes[i] = code;
  }
  return bytes;
}

/**
 * HeadScanner → parseHead → interpretHead over `text`, fed in pieces of
 * `step` bytes (`Infinity`: all at once), always from the same buffer start.
 */
function pipeline(text: string, step = Infinity, limits: HeadLimits = LIMITS): Outcome {
  const buf = latin1(text);
  const scanner = new HeadScanner(limits);
  try {
    let end = -1;
    for (let length = 0; end < 0 && length < buf.length;) {
      length = Math.min(buf.length, length + step);
      end = scanner.scan(buf, length);
    }
    if (end < 0) return { incomplete: true };
    return { ok: interpretHead(parseHead(buf, scanner.headStart, end)) };
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return { status: error.status, close: error.close };
  }
}

interface Row {
  /** States the behaviour, e.g. "rejects obs-fold with 400". */
  name: string;
  head: string;
  /** Fields the parsed request must have. */
  ok?: Partial<Request>;
  /** The HttpError status expected instead. */
  status?: number;
  /** Whether that error closes the connection. */
  close?: boolean;
}

function get(target: string, fields = H, version = "HTTP/1.1"): string {
  return `GET ${target} ${version}\r\n${fields}\r\n`;
}

function headOfSize(size: number): string {
  const base = `GET / HTTP/1.1\r\n${H}X-Pad: \r\n\r\n`;
  return `GET / HTTP/1.1\r\n${H}X-Pad: ${"p".repeat(size - base.length)}\r\n\r\n`;
}

function headers(count: number): string {
  let fields = H;
  for (let i = 1; i < count; i++) fields += `X-${i}: v\r\n`;
  return fields;
}

const bad = (name: string, head: string): Row => ({ name, head, status: 400, close: true });

const ROWS: Row[] = [
  // --- valid heads ---
  {
    name: "accepts a minimal HTTP/1.1 GET",
    head: get("/"),
    ok: {
      method: "GET",
      target: "/",
      version: "HTTP/1.1",
      path: "/",
      query: null,
      authority: "a",
      body: { kind: "none" },
      keepAlive: true,
      expectContinue: false,
    },
  },
  {
    name: "splits path and query",
    head: get("/a/b.html?x=1&y"),
    ok: { path: "/a/b.html", query: "x=1&y" },
  },
  { name: "keeps an empty query", head: get("/a?"), ok: { path: "/a", query: "" } },
  {
    name: "keeps percent-encoding in the path",
    head: get("/caf%C3%A9"),
    ok: { path: "/caf%C3%A9" },
  },
  { name: "accepts HEAD", head: `HEAD /x HTTP/1.1\r\n${H}\r\n`, ok: { method: "HEAD" } },
  {
    name: "accepts POST with Content-Length",
    head: `POST /upload HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\n`,
    ok: { method: "POST", body: { kind: "length", length: 5 } },
  },
  {
    name: "accepts POST with chunked Transfer-Encoding",
    head: `POST /upload HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`,
    ok: { body: { kind: "chunked" } },
  },
  {
    name: "accepts chunked in odd casing with surrounding whitespace",
    head: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: \t ChUnKeD \t\r\n\r\n`,
    ok: { body: { kind: "chunked" } },
  },
  {
    name: "treats Content-Length 0 as no body",
    head: `POST / HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`,
    ok: { body: { kind: "none" } },
  },
  {
    name: "strips optional whitespace around a Content-Length value",
    head: `POST / HTTP/1.1\r\n${H}Content-Length:   5  \r\n\r\n`,
    ok: { body: { kind: "length", length: 5 } },
  },
  {
    name: "accepts a Content-Length with leading zeros",
    head: `POST / HTTP/1.1\r\n${H}Content-Length: 0005\r\n\r\n`,
    ok: { body: { kind: "length", length: 5 } },
  },
  {
    name: "reads a 20-digit Content-Length with leading zeros as its value",
    head: `POST / HTTP/1.1\r\n${H}Content-Length: 00000000000000000005\r\n\r\n`,
    ok: { body: { kind: "length", length: 5 } },
  },
  {
    name: "accepts OPTIONS with asterisk-form",
    head: `OPTIONS * HTTP/1.1\r\n${H}\r\n`,
    ok: { method: "OPTIONS", path: "*", query: null },
  },
  { name: "accepts OPTIONS with origin-form", head: `OPTIONS /x HTTP/1.1\r\n${H}\r\n`, ok: {} },
  ...["PUT", "DELETE", "PATCH", "TRACE"].map((method): Row => ({
    name: `accepts ${method} (the app answers 405)`,
    head: `${method} /x HTTP/1.1\r\n${H}\r\n`,
    ok: { method, path: "/x" },
  })),
  {
    name: "accepts CONNECT with authority-form (the app answers 405)",
    head: `CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n`,
    ok: { method: "CONNECT", authority: "example.com:443" },
  },
  {
    name: "accepts CONNECT whatever its target",
    head: `CONNECT / HTTP/1.1\r\n${H}\r\n`,
    ok: { method: "CONNECT" },
  },
  {
    name: "lets absolute-form's authority replace Host",
    head: get("http://example.com:8080/p/q?r=1", "Host: other\r\n"),
    ok: { authority: "example.com:8080", path: "/p/q", query: "r=1" },
  },
  {
    name: "accepts absolute-form with an upper-case https scheme and no path",
    head: get("HTTPS://example.com"),
    ok: { authority: "example.com", path: "/", query: null },
  },
  {
    name: "accepts HTTP/1.0 without Host and closes by default",
    head: "GET / HTTP/1.0\r\n\r\n",
    ok: { version: "HTTP/1.0", authority: null, keepAlive: false },
  },
  {
    name: "keeps HTTP/1.0 alive with Connection: keep-alive",
    head: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
    ok: { keepAlive: true },
  },
  {
    name: "closes HTTP/1.1 on Connection: close in a token list",
    head: get("/", `${H}Connection: keep-alive, Close\r\n`),
    ok: { keepAlive: false },
  },
  {
    name: "skips empty lines before the request line",
    head: `\r\n\r\n\r\n${get("/x")}`,
    ok: { method: "GET", path: "/x" },
  },
  {
    name: "notes Expect: 100-continue in any case",
    head: `POST / HTTP/1.1\r\n${H}Expect: 100-Continue\r\nContent-Length: 2\r\n\r\n`,
    ok: { expectContinue: true },
  },
  {
    name: "ignores Expect: 100-continue in HTTP/1.0",
    head: "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
    ok: { expectContinue: false },
  },
  {
    name: "keeps field order, lowercases names and trims values",
    head: `GET / HTTP/1.1\r\nHOST: a\r\nX-Empty:\r\nX-Tab: \ta\tb \t\r\n\r\n`,
    ok: { fields: [["host", "a"], ["x-empty", ""], ["x-tab", "a\tb"]] },
  },
  {
    name: "accepts obs-text bytes in header values",
    head: get("/", `${H}X-Name: caf\xe9\r\n`),
    ok: { fields: [["host", "a"], ["x-name", "caf\xe9"]] },
  },
  {
    name: "accepts every tchar in a header name",
    head: get("/", `${H}!#$%&'*+-.^_\`|~09az:v\r\n`),
    ok: {},
  },
  {
    name: "accepts a bracketed IPv6 Host with port",
    head: get("/", "Host: [::1]:8080\r\n"),
    ok: {},
  },
  { name: "accepts a Host with an empty port", head: get("/", "Host: a:\r\n"), ok: {} },
  // --- methods ---
  {
    name: "answers 501 to an unknown method token",
    head: `FOO / HTTP/1.1\r\n${H}\r\n`,
    status: 501,
    close: true,
  },
  {
    name: "answers 501 to a lower-case method",
    head: `get / HTTP/1.1\r\n${H}\r\n`,
    status: 501,
    close: true,
  },
  {
    name: "answers 501 to M-SEARCH",
    head: `M-SEARCH * HTTP/1.1\r\n${H}\r\n`,
    status: 501,
    close: true,
  },
  bad("rejects a method with a non-token character with 400", `GE@T / HTTP/1.1\r\n${H}\r\n`),
  bad("rejects a method with a non-ASCII byte with 400", `G\xc9T / HTTP/1.1\r\n${H}\r\n`),
  bad("rejects NUL in the method with 400", `GE\x00T / HTTP/1.1\r\n${H}\r\n`),
  bad("rejects an empty method with 400", ` / HTTP/1.1\r\n${H}\r\n`),
  // --- request line shape ---
  bad("rejects two spaces after the method with 400", `GET  / HTTP/1.1\r\n${H}\r\n`),
  bad("rejects two spaces before the version with 400", `GET /  HTTP/1.1\r\n${H}\r\n`),
  bad("rejects a tab instead of the first space with 400", `GET\t/ HTTP/1.1\r\n${H}\r\n`),
  bad("rejects a tab instead of the second space with 400", `GET /\tHTTP/1.1\r\n${H}\r\n`),
  bad("rejects a trailing space on the request line with 400", `GET / HTTP/1.1 \r\n${H}\r\n`),
  bad("rejects a request line without version with 400", `GET /\r\n${H}\r\n`),
  bad("rejects a request line that is one word with 400", `GET\r\n${H}\r\n`),
  bad("rejects a space inside the target with 400", `GET /a b HTTP/1.1\r\n${H}\r\n`),
  bad("rejects a leading space before the method with 400", ` GET / HTTP/1.1\r\n${H}\r\n`),
  // --- versions ---
  bad("rejects a lower-case version with 400", get("/", H, "http/1.1")),
  bad("rejects HTTP/1.10 with 400", get("/", H, "HTTP/1.10")),
  bad("rejects HTTP/11 with 400", get("/", H, "HTTP/11")),
  bad("rejects HTTP/2 without minor with 400", get("/", H, "HTTP/2")),
  bad("rejects a version with NUL with 400", get("/", H, "HTTP/1.1\x00")),
  bad("rejects HTTPS/1.1 with 400", get("/", H, "HTTPS/1.1")),
  { name: "answers 505 to HTTP/2.0", head: get("/", H, "HTTP/2.0"), status: 505, close: true },
  { name: "answers 505 to HTTP/1.2", head: get("/", H, "HTTP/1.2"), status: 505, close: true },
  { name: "answers 505 to HTTP/0.9", head: get("/", H, "HTTP/0.9"), status: 505, close: true },
  { name: "answers 505 to HTTP/3.0", head: get("/", H, "HTTP/3.0"), status: 505, close: true },
  // --- control characters and line ends ---
  bad("rejects NUL in the target with 400", get("/a\x00b")),
  bad("rejects a control character in the target with 400", get("/a\x01b")),
  bad("rejects DEL in the target with 400", get("/a\x7fb")),
  bad("rejects a raw non-ASCII byte in the target with 400", get("/caf\xe9")),
  bad("rejects NUL in a header value with 400", get("/", `${H}X: a\x00b\r\n`)),
  bad("rejects a vertical tab in a header value with 400", get("/", `${H}X: a\x0bb\r\n`)),
  bad("rejects ESC in a header value with 400", get("/", `${H}X: \x1b[31m\r\n`)),
  bad("rejects DEL in a header value with 400", get("/", `${H}X: a\x7f\r\n`)),
  bad("rejects NUL in a header name with 400", get("/", `${H}X\x00Y: a\r\n`)),
  bad("rejects a bare CR in the request line with 400", `GET / HTTP/1.1\rHost: a\r\n\r\n`),
  bad("rejects bare LF line ends with 400", "GET / HTTP/1.1\nHost: a\n\n"),
  bad("rejects a bare LF after the request line with 400", `GET / HTTP/1.1\n${H}\r\n`),
  bad("rejects a bare LF inside a header value with 400", get("/", `${H}X: a\nb\r\n`)),
  bad("rejects a bare CR inside a header value with 400", get("/", `${H}X: a\rb\r\n`)),
  bad("rejects a bare LF as the final empty line with 400", `GET / HTTP/1.1\r\n${H}\n`),
  bad("rejects CR CR LF with 400", `GET / HTTP/1.1\r\r\n${H}\r\n`),
  bad("rejects a leading bare LF with 400", `\n${get("/")}`),
  // --- header fields ---
  bad("rejects obs-fold with 400", get("/", `${H}X: a\r\n b\r\n`)),
  bad("rejects obs-fold with a tab with 400", get("/", `${H}X: a\r\n\tb\r\n`)),
  bad("rejects a first header line that starts with a space with 400", get("/", ` ${H}`)),
  bad("rejects whitespace before the colon with 400", get("/", "Host : a\r\n")),
  bad("rejects a tab before the colon with 400", get("/", `${H}Content-Length\t: 5\r\n`)),
  bad("rejects an empty header name with 400", get("/", `${H}: a\r\n`)),
  bad("rejects a header line without colon with 400", get("/", `${H}NoColon\r\n`)),
  bad("rejects a header name with parentheses with 400", get("/", `${H}X(y): z\r\n`)),
  bad("rejects a header name with a non-ASCII byte with 400", get("/", `${H}X-\xe9: z\r\n`)),
  bad("rejects a header name with a slash with 400", get("/", `${H}X/Y: z\r\n`)),
  // --- target forms ---
  bad("rejects authority-form for GET with 400", get("example.com:80")),
  bad("rejects authority-form for OPTIONS with 400", `OPTIONS example.com:80 HTTP/1.1\r\n${H}\r\n`),
  bad("rejects asterisk-form for GET with 400", get("*")),
  bad("rejects asterisk-form for POST with 400", `POST * HTTP/1.1\r\n${H}\r\n`),
  bad("rejects a fragment in the target with 400", get("/a#b")),
  bad("rejects a relative target with 400", get("a/b")),
  bad("rejects absolute-form with userinfo with 400", get("http://user@a/")),
  bad("rejects absolute-form with an empty authority with 400", get("http:///x")),
  bad("rejects absolute-form with another scheme with 400", get("ftp://a/b")),
  bad("rejects absolute-form with a bad port with 400", get("http://a:99999/")),
  // --- Host ---
  bad("rejects HTTP/1.1 without Host with 400", get("/", "")),
  bad("rejects two Host fields with 400", get("/", `${H}${H}`)),
  bad("rejects two Host fields in HTTP/1.0 with 400", get("/", `${H}${H}`, "HTTP/1.0")),
  bad("rejects an empty Host with 400", get("/", "Host:\r\n")),
  bad("rejects an empty Host in HTTP/1.0 with 400", get("/", "Host: \r\n", "HTTP/1.0")),
  bad("rejects a Host with a space with 400", get("/", "Host: a b\r\n")),
  bad("rejects a Host with userinfo with 400", get("/", "Host: user@a\r\n")),
  bad("rejects a Host with a path with 400", get("/", "Host: a/b\r\n")),
  bad("rejects a Host with a port over 65535 with 400", get("/", "Host: a:65536\r\n")),
  bad("rejects a Host with two ports with 400", get("/", "Host: a:80:80\r\n")),
  bad("rejects an unclosed IPv6 Host with 400", get("/", "Host: [::1\r\n")),
  bad("rejects a Host that is only a port with 400", get("/", "Host: :80\r\n")),
  bad("rejects absolute-form without Host in HTTP/1.1 with 400", get("http://a/", "")),
  // --- Content-Length and Transfer-Encoding ---
  ...["abc", "+5", "-1", "5,5", "5, 5", "5 5", "0x10", "5.0", "1e3", ""].map((value) =>
    bad(
      `rejects Content-Length "${value}" with 400`,
      `POST / HTTP/1.1\r\n${H}Content-Length: ${value}\r\n\r\n`,
    )
  ),
  bad(
    "rejects two equal Content-Length fields with 400",
    `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\n`,
  ),
  bad(
    "rejects Content-Length with Transfer-Encoding with 400",
    `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n`,
  ),
  bad(
    "rejects Transfer-Encoding before Content-Length with 400",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n`,
  ),
  bad(
    "rejects Transfer-Encoding in HTTP/1.0 with 400",
    "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
  ),
  bad(
    "rejects chunked listed twice with 400",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n`,
  ),
  bad(
    "rejects chunked in two Transfer-Encoding fields with 400",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n`,
  ),
  bad(
    "rejects chunked before gzip with 400",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n`,
  ),
  bad(
    "rejects an empty Transfer-Encoding with 400",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n\r\n`,
  ),
  bad(
    "rejects a Transfer-Encoding that is not a token with 400",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: "chunked"\r\n\r\n`,
  ),
  // --- fields that only look like framing fields (`docs/protocol.md`) ---
  ...[
    "Content_Length: 7",
    "Transfer_Encoding: chunked",
    "Transfer--Encoding: chunked",
    "Content--Length: 7",
    "content__length: 7",
    "-Content-Length: 7",
    "Transfer-Encoding-: chunked",
    "Transfer_-_Encoding: chunked",
  ].map((field) =>
    bad(
      `rejects the framing lookalike ${field.split(":")[0]} with 400`,
      `POST /upload HTTP/1.1\r\n${H}${field}\r\n\r\n`,
    )
  ),
  bad(
    "rejects Transfer_Encoding next to a real Content-Length with 400",
    `POST /upload HTTP/1.1\r\n${H}Content-Length: 7\r\nTransfer_Encoding: chunked\r\n\r\n`,
  ),
  bad(
    "rejects Content_Length on a GET with 400",
    `GET / HTTP/1.1\r\n${H}Content_Length: 7\r\n\r\n`,
  ),
  {
    name: "accepts names near framing fields that no proxy folds into one",
    head: get("/", `${H}X-Content-Length: 7\r\nContent-Lengths: 1\r\nTransfer-Encodings: x\r\n`),
    ok: { body: { kind: "none" } },
  },
  // --- no body where none has meaning (`docs/protocol.md`) ---
  ...["GET", "HEAD", "OPTIONS", "DELETE"].flatMap((method): Row[] => [
    bad(
      `rejects ${method} with Content-Length: 5 with 400`,
      `${method} /x HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\n`,
    ),
    bad(
      `rejects ${method} with Transfer-Encoding: chunked with 400`,
      `${method} /x HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`,
    ),
    {
      name: `accepts ${method} with Content-Length: 0`,
      head: `${method} /x HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`,
      ok: { body: { kind: "none" } },
    },
  ]),
  bad(
    "rejects GET with Transfer-Encoding: gzip with 400, not 501",
    `GET / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n`,
  ),
  {
    name: "answers 501 to gzip, chunked",
    head: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n`,
    status: 501,
    close: true,
  },
  {
    name: "answers 501 to gzip and chunked in two fields",
    head: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n`,
    status: 501,
    close: true,
  },
  {
    name: "answers 501 to gzip alone",
    head: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n`,
    status: 501,
    close: true,
  },
  {
    name: "answers 501 to identity",
    head: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\n`,
    status: 501,
    close: true,
  },
  // --- Expect --- (417 closes: the body it leaves unread must never be parsed as a request)
  {
    name: "answers 417 to an Expect other than 100-continue",
    head: `POST / HTTP/1.1\r\n${H}Expect: 200-ok\r\nContent-Length: 1\r\n\r\n`,
    status: 417,
    close: true,
  },
  {
    name: "answers 417 to 100-continue with another expectation",
    head: `POST / HTTP/1.1\r\n${H}Expect: 100-continue, x\r\n\r\n`,
    status: 417,
    close: true,
  },
  {
    name: "answers 417 to two Expect fields",
    head: `POST / HTTP/1.1\r\n${H}Expect: 100-continue\r\nExpect: 100-continue\r\n\r\n`,
    status: 417,
    close: true,
  },
  // --- limits ---
  { name: "accepts a target of exactly 4096 bytes", head: get(`/${"a".repeat(4095)}`), ok: {} },
  {
    name: "answers 414 to a target of 4097 bytes",
    head: get(`/${"a".repeat(4096)}`),
    status: 414,
    close: true,
  },
  {
    name: "answers 414, not 431, when the request line alone is over the head limit",
    head: get(`/${"a".repeat(9000)}`),
    status: 414,
    close: true,
  },
  {
    name: "answers 414, not 431, to a long target followed by large headers",
    head: get(`/${"a".repeat(5000)}`, `${H}X: ${"b".repeat(5000)}\r\n`),
    status: 414,
    close: true,
  },
  {
    name: "answers 431 to a long request line whose target is short",
    head: `${"G".repeat(9000)} / HTTP/1.1\r\n${H}\r\n`,
    status: 431,
    close: true,
  },
  { name: "accepts a head of exactly 8192 bytes", head: headOfSize(8192), ok: {} },
  { name: "answers 431 to a head of 8193 bytes", head: headOfSize(8193), status: 431, close: true },
  { name: "accepts 100 header fields, Host included", head: get("/", headers(100)), ok: {} },
  {
    name: "answers 431 to 101 header fields, Host included",
    head: get("/", headers(101)),
    status: 431,
    close: true,
  },
  {
    name: "answers 431 to endless empty lines before the request line",
    head: "\r\n".repeat(5000) + get("/"),
    status: 431,
    close: true,
  },
];

function check(row: Row, outcome: Outcome, mode: string): void {
  const where = `${row.name} (${mode})`;
  if (row.ok) {
    assertTrue("ok" in outcome, `${where}: expected ok, got ${JSON.stringify(outcome)}`);
    for (const [key, value] of Object.entries(row.ok)) {
      assertEquals((outcome.ok as unknown as Record<string, unknown>)[key], value, where);
    }
  } else {
    assertEquals(outcome, { status: row.status, close: row.close }, where);
  }
}

for (const row of ROWS) {
  Deno.test(`head pipeline ${row.name}`, () => {
    check(row, pipeline(row.head), "all at once");
  });
}

Deno.test("head pipeline table covers at least 60 heads", () => {
  assertTrue(ROWS.length >= 60, `only ${ROWS.length} rows`);
});

Deno.test("head pipeline gives the same outcome fed one byte at a time", () => {
  for (const row of ROWS) {
    assertEquals(pipeline(row.head, 1), pipeline(row.head), `${row.name} (one byte at a time)`);
  }
});

Deno.test("head pipeline gives the same outcome fed in 7-byte pieces", () => {
  for (const row of ROWS) {
    assertEquals(pipeline(row.head, 7), pipeline(row.head), `${row.name} (7-byte pieces)`);
  }
});

Deno.test("HeadScanner returns the head's length and leaves pipelined bytes alone", () => {
  const first = get("/one");
  const buf = latin1(first + get("/two"));
  const scanner = new HeadScanner(LIMITS);
  const end = scanner.scan(buf, buf.length);
  assertEquals(end, first.length);
  assertEquals(parseHead(buf, scanner.headStart, end).target, "/one");
  const rest = buf.subarray(end);
  scanner.reset();
  const end2 = scanner.scan(rest, rest.length);
  assertEquals(end2, rest.length);
  assertEquals(parseHead(rest, scanner.headStart, end2).target, "/two");
});

Deno.test("HeadScanner reports where the request line starts after skipped empty lines", () => {
  const buf = latin1(`\r\n\r\n${get("/")}`);
  const scanner = new HeadScanner(LIMITS);
  assertEquals(scanner.scan(buf, buf.length), buf.length);
  assertEquals(scanner.headStart, 4);
  scanner.reset();
  assertEquals(scanner.headStart, 0);
});

Deno.test("HeadScanner asks for more bytes until the empty line arrives", () => {
  const buf = latin1(get("/"));
  const scanner = new HeadScanner(LIMITS);
  assertEquals(scanner.scan(buf, buf.length - 1), -1);
  assertEquals(scanner.scan(buf, buf.length - 1), -1);
  assertEquals(scanner.scan(buf, buf.length), buf.length);
});

Deno.test("HeadScanner waits on a CR at the end of the bytes so far", () => {
  const buf = latin1(`GET / HTTP/1.1\r\n${H}\r\n`);
  const scanner = new HeadScanner(LIMITS);
  assertEquals(scanner.scan(buf, 15), -1); // ends with CR
  assertEquals(scanner.scan(buf, buf.length), buf.length);
});

Deno.test("HeadScanner answers 414 before the request line ends", () => {
  const buf = latin1(`GET /${"a".repeat(4096)}`);
  const scanner = new HeadScanner(LIMITS);
  assertEquals(scanner.scan(buf, buf.length - 1), -1); // a 4096-byte target so far
  const error = _thrown(() => scanner.scan(buf, buf.length));
  assertEquals([error.status, error.close, error.reason], [414, true, "limit"]);
});

Deno.test("HeadScanner answers 414 byte by byte as soon as the target passes 4096", () => {
  const buf = latin1(`GET /${"a".repeat(5000)}`);
  const scanner = new HeadScanner(LIMITS);
  let length = 0;
  const error = _thrown(() => {
    for (length = 1; length <= buf.length; length++) scanner.scan(buf, length);
  });
  assertEquals(error.status, 414);
  assertEquals(length, "GET ".length + 4097);
});

Deno.test("HeadScanner answers 431 before the empty line once 8193 bytes have arrived", () => {
  const buf = latin1(`GET / HTTP/1.1\r\n${H}X: ${"b".repeat(9000)}`);
  const scanner = new HeadScanner(LIMITS);
  assertEquals(scanner.scan(buf, 8192), -1);
  const error = _thrown(() => scanner.scan(buf, 8193));
  assertEquals([error.status, error.close, error.reason], [431, true, "limit"]);
});

Deno.test("HeadScanner errors for bare line ends carry reason parse and close", () => {
  const error = _thrown(() => pipelineOrThrow("GET / HTTP/1.1\nHost: a\n\n"));
  assertEquals([error.status, error.close, error.reason], [400, true, "parse"]);
});

Deno.test("HeadScanner honours smaller limits", () => {
  const limits = { maxHead: 64, maxUri: 8, maxHeaders: 2 };
  assertTrue("ok" in pipeline(get("/1234567"), Infinity, limits));
  assertEquals(pipeline(get("/12345678"), Infinity, limits), { status: 414, close: true });
  assertTrue("ok" in pipeline(get("/", `${H}X: 1\r\n`), Infinity, limits));
  assertEquals(pipeline(get("/", `${H}X: 1\r\nY: 2\r\n`), Infinity, limits), {
    status: 431,
    close: true,
  });
  assertEquals(pipeline(get("/", `${H}X: ${"x".repeat(40)}\r\n`), Infinity, limits), {
    status: 431,
    close: true,
  });
});

Deno.test("head pipeline answers a target of exactly 4096 bytes and no version with 400 however it is fed", () => {
  // The request-target is not too long, so 414 would be wrong; the line is malformed.
  const head = `GET /${"a".repeat(4095)}\r\n${H}\r\n`;
  assertEquals(pipeline(head), { status: 400, close: true }, "all at once");
  assertEquals(pipeline(head, 1), { status: 400, close: true }, "one byte at a time");
});

Deno.test("parseHead() errors carry reason parse and close, 505 carries close", () => {
  const parseError = _thrown(() => pipelineOrThrow(get("/", `${H}X: a\r\n b\r\n`)));
  assertEquals([parseError.status, parseError.close, parseError.reason], [400, true, "parse"]);
  const versionError = _thrown(() => pipelineOrThrow(get("/", H, "HTTP/2.0")));
  assertEquals([versionError.status, versionError.close], [505, true]);
});

Deno.test("parseHead() reads a head that starts in the middle of a buffer", () => {
  const prefix = "garbage-from-an-earlier-request";
  const head = get("/mid", `${H}X: y\r\n`);
  const buf = latin1(prefix + head);
  const parsed = parseHead(buf, prefix.length, buf.length);
  assertEquals(parsed.method, "GET");
  assertEquals(parsed.target, "/mid");
  assertEquals(parsed.fields, [["host", "a"], ["x", "y"]]);
});

Deno.test("parseHead() handles a header value longer than 4096 bytes", () => {
  const value = "v".repeat(6000);
  const buf = latin1(get("/", `${H}X: ${value}\r\n`));
  assertEquals(parseHead(buf, 0, buf.length).fields[1], ["x", value]);
});

function pipelineOrThrow(text: string): Request {
  const buf = latin1(text);
  const scanner = new HeadScanner(LIMITS);
  const end = scanner.scan(buf, buf.length);
  if (end < 0) throw new Error("Incomplete head");
  return interpretHead(parseHead(buf, scanner.headStart, end));
}

function _thrown(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error("Expected an HttpError");
}

Deno.test("parseHead: kept texts are exact, whatever the case, role or slot they met before", () => {
  // A name is lowercased, a value is not: the same bytes in both roles give both texts.
  const mixed = get("/Host", "Host: Host\r\nX-A: host\r\nx-a: HOST\r\n");
  const both = parseHead(latin1(mixed), 0, mixed.length);
  assertEquals(both.target, "/Host");
  assertEquals(both.fields, [["host", "Host"], ["x-a", "host"], ["x-a", "HOST"]]);
  // Thousands of random names and values (more than the table's slots, so slots are
  // taken over), each parsed twice: every text is the one its bytes spell.
  const random = (length: number, chars: string) =>
    Array.from({ length }, () => chars[Math.floor(Math.random() * chars.length)]).join("");
  const NAME = "abcXYZ-_0189!#";
  const VALUE = "aAzZ09 ,;=/\t\xe9\xff";
  for (let round = 0; round < 3000; round++) {
    const name = random(1 + (round % 70), NAME);
    const value = random(round % 71, VALUE).trim();
    const text = `GET /${random(round % 66, "aA/.")} HTTP/1.1\r\n${name}: ${value}\r\n\r\n`;
    for (let twice = 0; twice < 2; twice++) {
      const head = parseHead(latin1(text), 0, text.length);
      assertEquals(head.fields, [[name.toLowerCase(), value]], text);
      assertEquals(head.target, text.slice(4, text.indexOf(" HTTP/")), text);
    }
  }
});
