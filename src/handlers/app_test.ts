// App.handle() and App.errorResponse() in-process, over a temp web root: the
// request is parsed from text, the body is empty, nothing listens.
import { join } from "node:path";
import { assertEquals, assertMatch, assertRejects, assertTrue } from "../../tests/_assert.ts";
import { parseCommand } from "../config.ts";
import { HostAllowList } from "../guard/host_allow.ts";
import { BodyReader } from "../http/body_reader.ts";
import type { Exchange } from "../http/handler.ts";
import { parseHead } from "../http/head_parser.ts";
import { HttpError } from "../http/http_error.ts";
import { interpretHead } from "../http/request.ts";
import type { HeaderPairs } from "../http/headers.ts";
import type { HttpResponse } from "../http/response.ts";
import { Metrics } from "../shared/metrics.ts";
import { UploadQuota } from "../shared/upload_quota.ts";
import { ALLOW, App } from "./app.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Runs `test` with an App on port 8080 over a temp root holding `a.txt`, with `flags` besides. */
async function withApp(
  flags: string[],
  test: (app: App) => Promise<void>,
  metrics = Metrics.create(),
): Promise<void> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "bastion-app-" }));
  try {
    await Deno.writeTextFile(join(root, "a.txt"), "hello");
    await Deno.mkdir(join(root, "uploads"));
    const command = parseCommand(["--root", root, "--port", "8080", ...flags]);
    if (command.kind !== "run") throw new Error("Unexpected command");
    const { config } = command;
    const app = new App({
      config,
      hosts: new HostAllowList({
        boundHost: config.host,
        boundPort: 8080,
        allowed: config.allowedHosts,
      }),
      realRoot: root,
      quota: UploadQuota.create(config.uploadQuota, 0),
      observed: {
        metrics,
        openConnections: () => 3,
        workers: 2,
        startedAt: Date.now() - 5000,
        metricsPublic: false,
      },
    });
    await test(app);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** The exchange of a request with `head` (CRLFs added), from `client`, with `content` as its body. */
function exchange(
  head: string,
  client = "127.0.0.1",
  local: string | null = "127.0.0.1",
  content = "",
): Exchange {
  const bytes = encoder.encode(head.replaceAll("\n", "\r\n") + "\r\n\r\n");
  const request = interpretHead(parseHead(bytes, 0, bytes.length));
  let left = encoder.encode(content);
  const none = {
    buffered: () => left,
    consume: (n: number) => left = left.subarray(n),
    fill: () => Promise.resolve(false),
  };
  const limits = { maxBody: 1024, maxTrailer: 1024, maxTrailerFields: 10 };
  const body = new BodyReader(none, request.body, limits);
  return { request, client, local, body, sendContinue: () => Promise.resolve() };
}

/** The HttpError `handle()` refuses with. */
async function refusal(app: App, head: string, client?: string): Promise<HttpError> {
  const error = await assertRejects(() => app.handle(exchange(head, client)));
  if (!(error instanceof HttpError)) throw error;
  return error;
}

function header(headers: HeaderPairs, name: string): string | undefined {
  return headers.find(([key]) => key === name)?.[1];
}

function text(response: HttpResponse): string {
  if (!(response.body instanceof Uint8Array)) throw new Error("Expected bytes");
  return decoder.decode(response.body);
}

Deno.test("App.handle() serves a file under the root", async () => {
  await withApp([], async (app) => {
    const response = await app.handle(exchange("GET /a.txt HTTP/1.1\nHost: localhost:8080"));
    assertEquals(response.status, 200);
    assertEquals(text(response), "hello");
  });
});

Deno.test("App.errorResponse() is JSON for every request to /upload, plain text otherwise", async () => {
  await withApp([], (app) => {
    const error = new HttpError(413, "Request body too large");
    const targets = ["/upload", "/upload?x=1", "http://localhost:8080/upload", "/%75pload"];
    for (const target of targets) {
      const response = app.errorResponse(error, target);
      assertEquals(header(response.headers, "Content-Type"), "application/json", target);
      assertEquals(JSON.parse(text(response)), {
        status: "error",
        message: "Request body too large",
      });
    }
    for (const target of ["/upload/", "/uploads", "/a.txt", "*", "/%zz", null]) {
      const response = app.errorResponse(error, target);
      assertEquals(header(response.headers, "Content-Type"), "text/plain; charset=utf-8");
      assertEquals(text(response), "Content Too Large: Request body too large\n");
    }
    return Promise.resolve();
  });
});

Deno.test("App.handle() refuses methods a resource does not take with 405 and its Allow", async () => {
  await withApp([], async (app) => {
    const cases: [string, string][] = [
      ["PUT /a.txt", ALLOW.files],
      ["DELETE /a.txt", ALLOW.files],
      ["POST /a.txt", ALLOW.files],
      ["GET /upload", ALLOW.upload],
      ["POST /healthz", ALLOW.files],
      ["CONNECT localhost:8080", ALLOW.files],
    ];
    for (const [line, allow] of cases) {
      const error = await refusal(app, `${line} HTTP/1.1\nHost: localhost:8080`);
      assertEquals([error.status, header(error.headers, "Allow")], [405, allow], line);
    }
  });
});

Deno.test("App.handle() answers OPTIONS with 204 and the resource's Allow", async () => {
  await withApp([], async (app) => {
    const cases: [string, string][] = [
      ["/a.txt", ALLOW.files],
      ["/upload", ALLOW.upload],
      ["*", ALLOW.any],
    ];
    for (const [target, allow] of cases) {
      const response = await app.handle(exchange(`OPTIONS ${target} HTTP/1.1\nHost: localhost`));
      assertEquals([response.status, response.headers, response.body], [
        204,
        [["Allow", allow]],
        null,
      ]);
    }
  });
});

Deno.test("App.handle() with --read-only makes /upload a path like any other", async () => {
  await withApp(["--read-only"], async (app) => {
    assertEquals((await refusal(app, "POST /upload HTTP/1.1\nHost: localhost")).status, 405);
    const error = await refusal(app, "GET /upload HTTP/1.1\nHost: localhost");
    assertEquals(error.status, 404);
  });
});

Deno.test("App.handle() answers /healthz with its status as JSON, for GET and HEAD", async () => {
  await withApp([], async (app) => {
    for (const method of ["GET", "HEAD"]) {
      const response = await app.handle(exchange(`${method} /healthz HTTP/1.1\nHost: localhost`));
      assertEquals(response.status, 200);
      assertEquals(header(response.headers, "Cache-Control"), "no-store");
      const body = JSON.parse(text(response));
      assertEquals([body.status, body.connections, body.workers], ["ok", 3, 2]);
      assertTrue(body.uptime_s >= 5, String(body.uptime_s));
    }
  });
});

Deno.test("App.handle() shows /metrics to a loopback client only", async () => {
  await withApp([], async (app) => {
    const head = "GET /metrics HTTP/1.1\nHost: localhost";
    assertMatch(text(await app.handle(exchange(head, "127.0.0.1"))), /bastion_connections_open 3/);
    assertEquals((await refusal(app, head, "192.0.2.1")).status, 404);
  });
});

Deno.test("App.handle() refuses a Host that is not allowed with 403, reason host", async () => {
  await withApp(["--allowed-host", "files.example"], async (app) => {
    for (const host of ["evil.example", "localhost:9999", "files.example.evil"]) {
      const error = await refusal(app, `GET /a.txt HTTP/1.1\nHost: ${host}`);
      assertEquals([error.status, error.reason], [403, "host"], host);
    }
    const absolute = await refusal(app, "GET http://evil.example/a.txt HTTP/1.1\nHost: localhost");
    assertEquals(absolute.status, 403, "the absolute-form authority is checked");
    for (const host of ["files.example", "localhost:8080", "127.0.0.1"]) {
      const response = await app.handle(exchange(`GET /a.txt HTTP/1.1\nHost: ${host}`));
      assertEquals(response.status, 200, host);
    }
  });
});

Deno.test("App.handle() allows a Host naming the address the client connected to", async () => {
  await withApp([], async (app) => {
    const head = "GET /a.txt HTTP/1.1\nHost: 192.168.1.10:8080";
    const answered = await app.handle(exchange(head, "192.168.1.20", "192.168.1.10"));
    assertEquals(answered.status, 200);
    const error = await assertRejects(() => app.handle(exchange(head, "192.168.1.20", null)));
    assertEquals((error as HttpError).status, 403);
  });
});

Deno.test("App.handle() adds CORS headers to a refusal, and answers a preflight", async () => {
  await withApp(["--cors", "https://app.example"], async (app) => {
    const origin = "Origin: https://app.example";
    const error = await refusal(app, `GET /missing HTTP/1.1\nHost: localhost\n${origin}`);
    assertEquals(error.status, 404);
    assertEquals(header(error.headers, "Access-Control-Allow-Origin"), "https://app.example");
    const preflight = await app.handle(
      exchange(
        `OPTIONS /a.txt HTTP/1.1\nHost: localhost\n${origin}\nAccess-Control-Request-Method: GET`,
      ),
    );
    assertEquals(preflight.status, 204);
    assertEquals(header(preflight.headers, "Access-Control-Allow-Methods"), "GET, HEAD");
  });
});

Deno.test("App.handle() counts an upload once it is stored, and not a refused one", async () => {
  const metrics = Metrics.create();
  const uploads = () =>
    /bastion_uploads_total (\d+)/.exec(metrics.render({ connectionsOpen: 0 }))![1];
  await withApp([], async (app) => {
    const body = '{"a":1}';
    const post = (type: string) =>
      `POST /upload HTTP/1.1\nHost: 127.0.0.1:8080\nContent-Type: ${type}\n` +
      `Content-Length: ${body.length}`;
    const refused = await assertRejects(() =>
      app.handle(exchange(post("text/plain"), "127.0.0.1", "127.0.0.1", body))
    );
    assertEquals((refused as HttpError).status, 415);
    assertEquals(uploads(), "0", "a refused upload is not counted");
    const stored = await app.handle(
      exchange(post("application/json"), "127.0.0.1", "127.0.0.1", body),
    );
    assertEquals(stored.status, 201);
    assertEquals(uploads(), "1");
  }, metrics);
});
