import { assertEquals } from "../../tests/_assert.ts";
import {
  type ByteSink,
  type HeadParts,
  serializeHead,
  type WriteOptions,
  writeResponse,
} from "./response.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function _options(overrides: Partial<WriteOptions> = {}): WriteOptions {
  return {
    head: false,
    close: false,
    version: "HTTP/1.1",
    common: [["Date", "Sun, 29 Nov 2026 11:00:00 GMT"], ["Server", "bastion"]],
    overrides: new Set(),
    ...overrides,
  };
}

/** A sink that keeps each write apart. */
function _sink(): ByteSink & { writes: Uint8Array[] } {
  const writes: Uint8Array[] = [];
  return { writes, write: (bytes) => Promise.resolve(void writes.push(bytes.slice())) };
}

Deno.test("serializeHead: status line, common, handler and framing headers, then CRLF", () => {
  const head = serializeHead(
    _parts(200, [["Content-Type", "text/plain"]], [["Content-Length", "2"]]),
    {
      ..._options(),
      close: true,
    },
  );
  assertEquals(
    decoder.decode(head),
    "HTTP/1.1 200 OK\r\nDate: Sun, 29 Nov 2026 11:00:00 GMT\r\nServer: bastion\r\n" +
      "Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n",
  );
});

Deno.test("serializeHead: a --header name replaces the handler's header of that name", () => {
  const options = _options({
    common: [["Cache-Control", "max-age=60"]],
    overrides: new Set(["cache-control"]),
  });
  const head = decoder.decode(
    serializeHead(_parts(200, [["cache-control", "no-cache"]], []), options),
  );
  assertEquals(head, "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n\r\n");
});

Deno.test("serializeHead: HTTP/1.0 keep-alive is announced", () => {
  const head = decoder.decode(
    serializeHead(_parts(204, [], []), _options({ common: [], version: "HTTP/1.0" })),
  );
  assertEquals(head, "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n");
});

Deno.test("serializeHead: a non-ASCII value is sent as UTF-8, not cut to Latin-1", () => {
  const head = serializeHead(_parts(200, [["X-Name", "café"]], []), _options({ common: [] }));
  assertEquals(decoder.decode(head), "HTTP/1.1 200 OK\r\nX-Name: café\r\n\r\n");
});

Deno.test("writeResponse: a small body goes out in the same write as the head", async () => {
  const sink = _sink();
  const sent = await writeResponse(
    sink,
    { status: 200, headers: [], body: encoder.encode("hello") },
    _options({ common: [] }),
  );
  assertEquals(sent, 5);
  assertEquals(sink.writes.map((bytes) => decoder.decode(bytes)), [
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
  ]);
});

Deno.test("writeResponse: a body over 64 KiB, or with a non-ASCII head, is written after the head", async () => {
  for (
    const [headers, size] of [[[], 70_000], [[["X-Name", "café"]], 5]] as [
      [string, string][],
      number,
    ][]
  ) {
    const sink = _sink();
    const body = new Uint8Array(size).fill(97);
    await writeResponse(sink, { status: 200, headers, body }, _options({ common: [] }));
    assertEquals(sink.writes.length, 2);
    assertEquals(decoder.decode(sink.writes[0]).endsWith(`Content-Length: ${size}\r\n\r\n`), true);
    assertEquals(sink.writes[1], body);
  }
});

Deno.test("serializeHead: the fixed lines follow the status line, in the UTF-8 fallback too", () => {
  const fixed = encoder.encode("Server: bastion\r\nX-Frame-Options: DENY\r\n");
  for (const [value, expected] of [["a", "a"], ["café", "café"]]) {
    const common: [string, string][] = [["Date", "Sun, 29 Nov 2026 11:00:00 GMT"]];
    const head = serializeHead(_parts(200, [["X-Name", value]], []), _options({ common, fixed }));
    assertEquals(
      decoder.decode(head),
      "HTTP/1.1 200 OK\r\nServer: bastion\r\nX-Frame-Options: DENY\r\n" +
        `Date: Sun, 29 Nov 2026 11:00:00 GMT\r\nX-Name: ${expected}\r\n\r\n`,
    );
  }
});

/** The parts of a head: `status`, the handler's `headers`, `framing`. */
function _parts(
  status: number,
  headers: [string, string][],
  framing: [string, string][],
): Omit<HeadParts, "close"> {
  return { status, headers, framing };
}
