/**
 * Integration tests for serving files (SPEC §3): index files, directory
 * redirects, content types by profile, path safety over the wire, dotfiles,
 * symlink escapes, HEAD and a large streamed download.
 * @module
 */

import { dirname, join } from "node:path";
import { assertEquals, assertMatch, assertNotMatch, assertTrue } from "./_assert.ts";
import {
  BANNER,
  type Bastion,
  get,
  makeRoot,
  NO_LIMITS,
  RawClient,
  type RawResponse,
  roundTrip,
  spawnBastion,
  withBastion,
} from "./_harness.ts";
import { downloadHash, writePseudoRandomFile } from "./_download.ts";

async function fetchPath(server: Bastion, path: string, extra = ""): Promise<RawResponse> {
  return await roundTrip(server.port, get(path, extra));
}

async function fileText(server: Bastion, name: string): Promise<string> {
  return await Deno.readTextFile(join(server.root, name));
}

/** Starts bastion on a root made by the caller, with the caller's permission flags. */
async function startOnRoot(
  root: string,
  permissions: string[],
  args: string[] = [],
): Promise<Bastion> {
  const process = spawnBastion(permissions, ["--root", root, "--port", "0", ...args]);
  try {
    const port = Number((await process.waitForLog(BANNER)).match(BANNER)![1]);
    return { ...process, port, root, uploads: join(root, "uploads") };
  } catch (error) {
    await process.stop();
    throw error;
  }
}

Deno.test("directories: / and dir/ serve index.html, dir redirects to dir/ with the query, no index is 404", async () => {
  await withBastion({
    files: {
      "sub/index.html": "<p>sub index</p>",
      "sub/deeper/index.html": "<p>deeper</p>",
      "noindex/page.html": "<p>page</p>",
    },
  }, async (server) => {
    const root = await fetchPath(server, "/");
    assertEquals(root.status, 200);
    assertEquals(root.header("content-type"), "text/html; charset=utf-8");
    assertEquals(root.text(), await fileText(server, "index.html"));

    const sub = await fetchPath(server, "/sub/");
    assertEquals(sub.status, 200);
    assertEquals(sub.text(), "<p>sub index</p>");
    assertEquals((await fetchPath(server, "/sub/deeper/")).text(), "<p>deeper</p>");

    const redirect = await fetchPath(server, "/sub");
    assertEquals(redirect.status, 301);
    assertEquals(redirect.header("location"), "/sub/");
    assertEquals(redirect.header("cache-control"), "no-cache");

    const withQuery = await fetchPath(server, "/sub?a=1&b=two");
    assertEquals(withQuery.status, 301);
    assertEquals(withQuery.header("location"), "/sub/?a=1&b=two");
    assertEquals((await fetchPath(server, "/sub/deeper?x")).header("location"), "/sub/deeper/?x");

    assertEquals((await fetchPath(server, "/noindex/")).status, 404);
    assertEquals((await fetchPath(server, "/noindex/page.html")).status, 200);
    assertEquals((await fetchPath(server, "/missing.html")).status, 404);
    assertEquals((await fetchPath(server, "/missing/")).status, 404);
    assertEquals((await fetchPath(server, "/index.html/")).status, 404);
  });
});

Deno.test("a directory redirect carries the --cache-control value", async () => {
  await withBastion({
    args: ["--cache-control", "public, max-age=600"],
    files: { "sub/index.html": "<p>sub</p>" },
  }, async (server) => {
    const redirect = await fetchPath(server, "/sub?x=1");
    assertEquals(redirect.status, 301);
    assertEquals(redirect.header("location"), "/sub/?x=1");
    assertEquals(redirect.header("cache-control"), "public, max-age=600");
    assertEquals(
      (await fetchPath(server, "/sub/")).header("cache-control"),
      "public, max-age=600",
    );
  });
});

Deno.test("seed profile: html inline, txt/png/jpg/jpeg downloads, web-only and unknown types 415", async () => {
  const files: Record<string, string> = {
    "page.htm": "<p>htm</p>",
    "picture.jpeg": "jpeg bytes",
    "café.txt": "accented",
    "UPPER.PNG": "png bytes",
    "noext": "no extension",
    "file.xyz": "unknown",
    "archive.tar.gz": "gzip",
    'quote"name.txt': "quoted",
  };
  const webOnly = [
    "css",
    "js",
    "mjs",
    "json",
    "svg",
    "gif",
    "webp",
    "avif",
    "ico",
    "woff",
    "woff2",
    "pdf",
    "wasm",
    "mp4",
    "webm",
    "xml",
    "map",
  ];
  for (const ext of webOnly) files[`asset.${ext}`] = `content of ${ext}`;
  await withBastion({ files, args: ["--profile", "seed"] }, async (server) => {
    const html = await fetchPath(server, "/about.html");
    assertEquals(html.status, 200);
    assertEquals(html.header("content-type"), "text/html; charset=utf-8");
    assertEquals(html.header("content-disposition"), undefined);
    assertEquals(html.text(), await fileText(server, "about.html"));
    assertEquals(
      (await fetchPath(server, "/page.htm")).header("content-type"),
      "text/html; charset=utf-8",
    );

    const downloads: [string, string][] = [
      ["/sample.txt", "sample.txt"],
      ["/logo.png", "logo.png"],
      ["/photo.jpg", "photo.jpg"],
      ["/picture.jpeg", "picture.jpeg"],
      ["/UPPER.PNG", "UPPER.PNG"],
    ];
    for (const [path, name] of downloads) {
      const response = await fetchPath(server, path);
      assertEquals(response.status, 200, path);
      assertEquals(response.header("content-type"), "application/octet-stream", path);
      assertEquals(response.header("content-disposition"), `attachment; filename="${name}"`, path);
      assertEquals(response.body, await Deno.readFile(join(server.root, name)), path);
    }

    const accented = await fetchPath(server, "/caf%C3%A9.txt");
    assertEquals(accented.status, 200);
    assertEquals(accented.header("content-type"), "application/octet-stream");
    const disposition = accented.header("content-disposition") ?? "";
    assertMatch(
      disposition,
      /^attachment; filename="[\x20-\x7e]+"; filename\*=UTF-8''caf%C3%A9\.txt$/,
    );
    assertNotMatch(disposition.split(";")[1], /[^\x20-\x7e]/);
    assertEquals(accented.text(), "accented");

    const quoted = await fetchPath(server, "/quote%22name.txt");
    assertEquals(quoted.status, 200);
    assertMatch(
      quoted.header("content-disposition") ?? "",
      /^attachment; filename="(?:[^"\\]|\\.)*"(; filename\*=UTF-8''quote%22name\.txt)?$/,
    );

    for (const ext of webOnly) {
      const response = await fetchPath(server, `/asset.${ext}`);
      assertEquals(response.status, 415, ext);
      assertNotMatch(response.text(), new RegExp(`content of ${ext}`), ext);
    }
    for (const path of ["/file.xyz", "/noext", "/archive.tar.gz"]) {
      assertEquals((await fetchPath(server, path)).status, 415, path);
    }
  });
});

Deno.test("web profile: real types served inline, charset only on text-like types, unknown a download", async () => {
  const expected: Record<string, string> = {
    html: "text/html; charset=utf-8",
    txt: "text/plain; charset=utf-8",
    png: "image/png",
    jpg: "image/jpeg",
    jpeg: "image/jpeg",
    gif: "image/gif",
    webp: "image/webp",
    avif: "image/avif",
    woff: "font/woff",
    woff2: "font/woff2",
    pdf: "application/pdf",
    wasm: "application/wasm",
    mp4: "video/mp4",
    webm: "video/webm",
  };
  const files: Record<string, string> = { "file.xyzzy": "unknown" };
  for (const ext of Object.keys(expected)) files[`asset.${ext}`] = `content of ${ext}`;
  for (const ext of ["css", "js", "mjs", "json", "svg", "ico", "xml", "map"]) {
    files[`asset.${ext}`] = `content of ${ext}`;
  }
  await withBastion({ files, args: ["--profile", "web"] }, async (server) => {
    for (const [ext, type] of Object.entries(expected)) {
      const response = await fetchPath(server, `/asset.${ext}`);
      assertEquals(response.status, 200, ext);
      assertEquals(response.header("content-type"), type, ext);
      assertEquals(response.header("content-disposition"), undefined, ext);
      assertEquals(response.text(), `content of ${ext}`, ext);
    }
    for (const ext of ["css", "js", "mjs", "json", "svg", "ico", "xml", "map"]) {
      const response = await fetchPath(server, `/asset.${ext}`);
      assertEquals(response.status, 200, ext);
      assertEquals(response.header("content-disposition"), undefined, ext);
      const type = response.header("content-type") ?? "";
      if (!/^(text\/|application\/(json|xml)|image\/svg\+xml)/.test(type)) {
        assertNotMatch(type, /charset/, `${ext} is binary: ${type}`);
      }
    }
    assertEquals(
      (await fetchPath(server, "/asset.css")).header("content-type"),
      "text/css; charset=utf-8",
    );
    assertEquals(
      (await fetchPath(server, "/asset.svg")).header("content-type"),
      "image/svg+xml; charset=utf-8",
    );
    assertEquals(
      (await fetchPath(server, "/logo.png")).body,
      await Deno.readFile(join(server.root, "logo.png")),
    );
    const unknown = await fetchPath(server, "/file.xyzzy");
    assertEquals(unknown.status, 200);
    assertEquals(unknown.header("content-type"), "application/octet-stream");
    assertEquals(unknown.header("content-disposition"), 'attachment; filename="file.xyzzy"');
  });
});

Deno.test("--type txt=text/plain makes seed .txt inline and --attachment HTML makes html a download", async () => {
  await withBastion({
    args: [
      "--profile",
      "seed",
      "--type",
      "txt=text/plain",
      "--attachment",
      "HTML",
      "--type",
      "CSS=text/css",
    ],
    files: { "style.css": "p{}", "page.htm": "<p>htm</p>" },
  }, async (server) => {
    const text = await fetchPath(server, "/sample.txt");
    assertEquals(text.status, 200);
    assertEquals(text.header("content-type"), "text/plain");
    assertEquals(text.header("content-disposition"), undefined);
    assertEquals(text.text(), await fileText(server, "sample.txt"));

    const html = await fetchPath(server, "/about.html");
    assertEquals(html.status, 200);
    assertEquals(html.header("content-type"), "application/octet-stream");
    assertEquals(html.header("content-disposition"), 'attachment; filename="about.html"');

    const index = await fetchPath(server, "/");
    assertEquals(index.header("content-type"), "application/octet-stream");
    assertEquals(index.header("content-disposition"), 'attachment; filename="index.html"');

    const css = await fetchPath(server, "/style.css");
    assertEquals(css.status, 200);
    assertEquals(css.header("content-type"), "text/css");
    assertEquals(
      (await fetchPath(server, "/page.htm")).header("content-type"),
      "text/html; charset=utf-8",
    );
    assertEquals(
      (await fetchPath(server, "/logo.png")).header("content-type"),
      "application/octet-stream",
    );
  });
});

/** [request-target, expected status]; `PORT` is replaced by the server's port. */
const TRAVERSAL_TABLE: [string, number][] = [
  ["/../etc/passwd", 403],
  ["/../../../../../../etc/passwd", 403],
  ["/sub/../../etc/passwd", 403],
  ["/..", 403],
  ["/%2e%2e/%2e%2e/etc/passwd", 403],
  ["/%2E%2E/%2E%2E/etc/passwd", 403],
  ["/..%2f..%2fetc/passwd", 403],
  ["/..%2F..%2Fetc%2Fpasswd", 403],
  ["/%2f", 403],
  ["/%2e%2e%5c", 403],
  ["/%5c..%5cetc%5cpasswd", 403],
  ["/a\\..\\b", 403],
  ["/..\\..\\etc\\passwd", 403],
  ["/.%2e/", 403],
  ["/%2e./etc/passwd", 403],
  ["/.%2e/.%2e/etc/passwd", 403],
  ["http://localhost:PORT/../x", 403],
  ["http://localhost:PORT/%2e%2e/%2e%2e/etc/passwd", 403],
  ["/%c0%ae%c0%ae/", 400],
  ["/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", 400],
  ["/%ff", 400],
  ["/%e2%82", 400],
  ["/%00", 400],
  ["/index.html%00.txt", 400],
  ["/index.html%00", 400],
  ["/%zz", 400],
  ["/%", 400],
  ["/%2", 400],
  ["/%u002e%u002e/etc/passwd", 400],
  ["/%0a", 400],
  ["/%252e%252e/etc/passwd", 404],
  ["/%252e%252e%252f%252e%252e%252fetc%252fpasswd", 404],
  ["/....//....//etc/passwd", 404],
  ["//etc/passwd", 404],
  ["/index.html?/../../etc/passwd", 200],
  ["/index.html?%2e%2e%2f%00", 200],
];

Deno.test("path safety: every traversal vector gets its exact status and /etc/passwd never leaks", async () => {
  await withBastion(
    { args: NO_LIMITS, files: { "sub/index.html": "<p>sub</p>" } },
    async (server) => {
      const failures: string[] = [];
      for (const [template, status] of TRAVERSAL_TABLE) {
        const target = template.replace("PORT", String(server.port));
        const response = await roundTrip(server.port, get(target));
        const everything = response.head + "\n" + response.text();
        if (response.status !== status) {
          failures.push(`${target}: ${response.status}, want ${status}`);
        }
        if (/root:/.test(everything)) failures.push(`${target}: leaked /etc/passwd`);
        if (everything.includes(server.root)) failures.push(`${target}: shows the web root path`);
        if (response.status >= 400) {
          assertEquals(response.header("content-type"), "text/plain; charset=utf-8", target);
        }
      }
      assertEquals(failures, []);
      assertEquals((await fetchPath(server, "/")).status, 200, "server still serves");
    },
  );
});

Deno.test("dotfiles and dot-directories are 404, even when they exist", async () => {
  const secret = "SECRET=hunter2";
  await withBastion({
    files: {
      ".env": secret,
      ".git/config": secret,
      ".git/index.html": secret,
      ".hidden/x.html": secret,
      ".hidden.html": secret,
      "sub/.secret.html": secret,
      "uploads/.upload-0123abcd.tmp": secret,
    },
  }, async (server) => {
    const paths = [
      "/.env",
      "/.git/config",
      "/.git/",
      "/.git",
      "/.hidden/x.html",
      "/.hidden/",
      "/.hidden.html",
      "/sub/.secret.html",
      "/uploads/.upload-0123abcd.tmp",
      "/%2eenv",
      "/%2Egit/config",
    ];
    for (const path of paths) {
      const response = await fetchPath(server, path);
      assertEquals(response.status, 404, path);
      assertNotMatch(response.text(), /hunter2/, path);
      const head = await roundTrip(
        server.port,
        `HEAD ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`,
        {
          head: true,
        },
      );
      assertEquals(head.status, 404, `HEAD ${path}`);
    }
  });
});

async function checkSymlinks(server: Bastion): Promise<void> {
  const base = dirname(server.root);
  await Deno.writeTextFile(join(base, "secret.html"), "TOP-SECRET file");
  await Deno.mkdir(join(base, "outside"));
  await Deno.writeTextFile(join(base, "outside", "index.html"), "TOP-SECRET index");
  await Deno.writeTextFile(join(base, "outside", "page.html"), "TOP-SECRET page");
  await Deno.symlink(join(base, "secret.html"), join(server.root, "leak.html"));
  await Deno.symlink("../secret.html", join(server.root, "relative-leak.html"));
  await Deno.symlink(join(base, "outside"), join(server.root, "outdir"));
  await Deno.symlink("/etc/passwd", join(server.root, "passwd.html"));
  await Deno.symlink("/etc", join(server.root, "etc"));
  await Deno.symlink(join(server.root, "about.html"), join(server.root, "alias.html"));
  await Deno.symlink("sub", join(server.root, "subalias"));
  const expected: [string, number][] = [
    ["/leak.html", 403],
    ["/relative-leak.html", 403],
    ["/outdir/page.html", 403],
    ["/outdir/", 403],
    ["/passwd.html", 403],
    ["/etc/passwd", 403],
  ];
  for (const [path, status] of expected) {
    const response = await fetchPath(server, path);
    assertEquals(response.status, status, path);
    assertNotMatch(response.text(), /TOP-SECRET|root:/, path);
  }
  const alias = await fetchPath(server, "/alias.html");
  assertEquals(alias.status, 200);
  assertEquals(alias.text(), await fileText(server, "about.html"));
  const subAlias = await fetchPath(server, "/subalias/");
  assertEquals(subAlias.status, 200);
  assertEquals(subAlias.text(), "<p>sub</p>");
}

Deno.test("symlinks: links leaving the web root are 403, links inside it are served", async () => {
  await withBastion({ files: { "sub/index.html": "<p>sub</p>" } }, async (server) => {
    await checkSymlinks(server);
  });
});

Deno.test("symlinks: escapes are 403 even when the process may read the target", async () => {
  const { base, root, uploads } = await makeRoot({ files: { "sub/index.html": "<p>sub</p>" } });
  const server = await startOnRoot(root, [
    "--allow-net",
    `--allow-read=${base},/etc`,
    `--allow-write=${uploads}`,
  ]);
  try {
    await checkSymlinks(server);
  } finally {
    await server.stop();
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
});

Deno.test("odd file-system states (name too long, symlink loops, dangling links) are 404 or 403, never 500", async () => {
  await withBastion({ args: NO_LIMITS }, async (server) => {
    await Deno.symlink("loop.html", join(server.root, "loop.html"));
    await Deno.symlink("ping.html", join(server.root, "pong.html"));
    await Deno.symlink("pong.html", join(server.root, "ping.html"));
    await Deno.symlink("nowhere.html", join(server.root, "dangling.html"));
    await Deno.mkdir(join(server.root, "loopdir"));
    await Deno.symlink("../loopdir", join(server.root, "loopdir", "again"));
    const cases: [string, number[]][] = [
      [`/${"a".repeat(300)}.html`, [404]],
      [`/${"a".repeat(300)}/index.html`, [404]],
      [`/${"%C3%A9".repeat(200)}.html`, [404]],
      ["/a/".repeat(1300), [404]],
      ["/index.html/x.html", [404]],
      ["/dangling.html", [404]],
      ["/loop.html", [403, 404]],
      ["/ping.html", [403, 404]],
      ["/loopdir/again/again/again/", [404]],
    ];
    const failures: string[] = [];
    for (const [path, statuses] of cases) {
      const response = await fetchPath(server, path);
      if (!statuses.includes(response.status)) {
        failures.push(`${path.slice(0, 40)}…: ${response.status}, want ${statuses.join(" or ")}`);
      }
      assertEquals(response.text().includes(server.root), false, "no file-system path in the body");
    }
    assertEquals(failures, []);
  });
});

Deno.test("a FIFO in the web root is answered 404 at once instead of blocking the request", async () => {
  await withBastion({
    args: ["--shutdown-timeout", "1s"],
    files: { "sub/placeholder.html": "x" },
  }, async (server) => {
    const fifos = [join(server.root, "pipe.html"), join(server.root, "fifodir", "index.html")];
    await Deno.mkdir(join(server.root, "fifodir"));
    const made = await Promise.all(
      fifos.map((fifo) => new Deno.Command("mkfifo", { args: [fifo] }).output().catch(() => null)),
    );
    try {
      if (made.some((result) => !result?.success)) return; // no mkfifo here
      for (const path of ["/pipe.html", "/fifodir/"]) {
        const client = await RawClient.connect(server.port);
        try {
          await client.send(get(path));
          const response = await client.response({ timeoutMs: 5000 }).catch((error) =>
            error as Error
          );
          assertEquals(response instanceof Error ? response.message : response.status, 404, path);
        } finally {
          client.close();
        }
      }
    } finally {
      // Unblock a server stuck opening a FIFO: an O_RDWR open of a FIFO never blocks on Linux.
      for (const fifo of fifos) {
        await new Deno.Command("sh", { args: ["-c", 'exec 3<>"$1"', "sh", fifo] }).output()
          .catch(() => {});
      }
    }
  });
});

Deno.test("HEAD answers with GET's headers and Content-Length but no body", async () => {
  await withBastion(async (server) => {
    const client = await RawClient.connect(server.port);
    try {
      for (const path of ["/", "/about.html", "/sample.txt", "/logo.png", "/missing.html"]) {
        await client.send(
          `HEAD ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n` + get(path),
        );
        const head = await client.response({ head: true });
        const full = await client.response();
        assertEquals(head.status, full.status, path);
        const comparable = (response: RawResponse) =>
          response.headers.filter(([name]) => name !== "date" && name !== "x-request-id");
        assertEquals(comparable(head), comparable(full), path);
        assertEquals(head.header("content-length"), String(full.body.length), path);
        assertEquals(head.header("transfer-encoding"), undefined, path);
      }
      assertEquals(client.pending.length, 0, "no stray body bytes after HEAD");
    } finally {
      client.close();
    }
  });
});

const BIG_SIZE = 100 * 1024 * 1024;
async function peakRssKiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]);
}

Deno.test("a 100 MiB file downloads completely, byte-exact, without growing the server's memory", async () => {
  await withBastion(async (server) => {
    const expected = await writePseudoRandomFile(join(server.root, "big.txt"), BIG_SIZE);
    // Warm up code paths so the peak before the download is representative.
    for (let i = 0; i < 3; i++) assertEquals((await fetchPath(server, "/logo.png")).status, 200);
    const before = await peakRssKiB(server.pid);
    const result = await downloadHash(server.port, "/big.txt");
    const after = await peakRssKiB(server.pid);
    assertEquals(result.status, 200);
    assertEquals(result.length, BIG_SIZE);
    assertEquals(result.received, BIG_SIZE);
    assertEquals(result.sha256, expected);
    const grownMiB = (after - before) / 1024;
    assertTrue(grownMiB < 24, `peak RSS grew by ${grownMiB.toFixed(1)} MiB during the download`);
    assertEquals((await fetchPath(server, "/")).status, 200, "server still serves");
  });
});
