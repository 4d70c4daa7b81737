/**
 * Integration tests for content types under the default (web) profile
 * (SPEC §3): mime-db types inline with a utf-8 charset on text-like ones,
 * unknown or missing extensions as downloads, the longest `--type` suffix.
 * @module
 */

import { assertEquals } from "./_assert.ts";
import {
  type Bastion,
  get,
  NO_LIMITS,
  type RawResponse,
  roundTrip,
  withBastion,
} from "./_harness.ts";

/** File name → the Content-Type the default profile serves it with, inline. */
const TYPED: Record<string, string> = {
  "style.css": "text/css; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "bundle.zip": "application/zip",
  "song.mp3": "audio/mpeg",
  "table.csv": "text/csv; charset=utf-8",
  "NOTES.md": "text/markdown; charset=utf-8",
  "archive.tar.gz": "application/gzip",
  "feed.xml": "application/xml; charset=utf-8",
  "data.json": "application/json; charset=utf-8",
};

async function fetchPath(server: Bastion, path: string, extra = ""): Promise<RawResponse> {
  return await roundTrip(server.port, get(path, extra));
}

async function withServer(
  args: string[],
  files: Record<string, string>,
  check: (server: Bastion) => Promise<void>,
): Promise<void> {
  await withBastion({ args: [...NO_LIMITS, ...args], files }, check);
}

Deno.test("default profile: css, js, zip, mp3, csv, md, tar.gz, xml and json are served inline with mime-db's types", async () => {
  const files = Object.fromEntries(Object.keys(TYPED).map((name) => [name, `body of ${name}`]));
  await withServer([], files, async (server) => {
    for (const [name, type] of Object.entries(TYPED)) {
      const response = await fetchPath(server, `/${name}`);
      assertEquals(response.status, 200, name);
      assertEquals(response.header("content-type"), type, name);
      assertEquals(response.header("content-disposition"), undefined, name);
      assertEquals(response.text(), `body of ${name}`, name);
    }
    const head = await roundTrip(
      server.port,
      "HEAD /style.css HTTP/1.1\r\nHost: localhost\r\n\r\n",
      { head: true },
    );
    assertEquals(head.header("content-type"), TYPED["style.css"]);
  });
});

Deno.test("default profile: an unknown extension or none is an octet-stream download, never 415", async () => {
  const files = {
    "data.xyzzy": "unknown bytes",
    "Makefile": "all:\n",
    "dir/no-extension": "plain",
    "trailing.": "dot",
  };
  await withServer([], files, async (server) => {
    for (
      const [path, name] of [
        ["/data.xyzzy", "data.xyzzy"],
        ["/Makefile", "Makefile"],
        ["/dir/no-extension", "no-extension"],
        ["/trailing.", "trailing."],
      ]
    ) {
      const response = await fetchPath(server, path, "Accept-Encoding: gzip\r\n");
      assertEquals(response.status, 200, path);
      assertEquals(response.header("content-type"), "application/octet-stream", path);
      assertEquals(response.header("content-disposition"), `attachment; filename="${name}"`, path);
      assertEquals(response.header("content-encoding"), undefined, path);
      assertEquals(response.text(), files[path.slice(1) as keyof typeof files], path);
    }
  });
});

Deno.test("--type tar.gz=application/x-tar beats mime-db's gz as the longest suffix, in any case", async () => {
  const files = { "a.tar.gz": "tar", "B.TAR.GZ": "TAR", "c.gz": "gz", "x.min.js": "js" };
  await withServer(
    ["--type", "tar.gz=application/x-tar", "--attachment", "MIN.JS"],
    files,
    async (server) => {
      assertEquals(
        (await fetchPath(server, "/a.tar.gz")).header("content-type"),
        "application/x-tar",
      );
      assertEquals(
        (await fetchPath(server, "/B.TAR.GZ")).header("content-type"),
        "application/x-tar",
      );
      assertEquals((await fetchPath(server, "/c.gz")).header("content-type"), "application/gzip");
      const min = await fetchPath(server, "/x.min.js");
      assertEquals(min.header("content-type"), "application/octet-stream");
      assertEquals(min.header("content-disposition"), 'attachment; filename="x.min.js"');
    },
  );
});

Deno.test("default profile: mime-db's compressible types are gzipped, with Vary", async () => {
  const big = "name,value\n" + "row,1234567890\n".repeat(200);
  await withServer([], { "big.csv": big, "big.md": big, "big.zip": big }, async (server) => {
    for (const path of ["/big.csv", "/big.md"]) {
      const response = await fetchPath(server, path, "Accept-Encoding: gzip\r\n");
      assertEquals(response.status, 200, path);
      assertEquals(response.header("content-encoding"), "gzip", path);
      assertEquals(response.header("vary"), "Accept-Encoding", path);
    }
    const zip = await fetchPath(server, "/big.zip", "Accept-Encoding: gzip\r\n");
    assertEquals(zip.header("content-encoding"), undefined);
    assertEquals(zip.header("vary"), undefined);
    assertEquals(zip.text(), big);
  });
});
