/**
 * Integration tests for `--dir-listing` (SPEC §3): an escaped, sorted HTML
 * listing with sizes and dates (JSON on `Accept: application/json`) for a
 * directory without index.html, never showing dotfiles, which stay 404 on
 * direct access; off by default; an index.html still wins.
 * @module
 */

import { join } from "node:path";
import { assertEquals, assertMatch, assertNotMatch, assertTrue } from "./_assert.ts";
import { type Bastion, NO_LIMITS, type RawResponse, roundTrip, withBastion } from "./_harness.ts";

const MTIME = Date.UTC(2024, 2, 3, 4, 5, 6, 789);
const SECRET = "SECRET-DOTFILE-CONTENT";

const FILES: Record<string, string> = {
  "list/b file.html": "bb",
  "list/a&b.html": "a and b",
  "list/<x>.html": "<x>",
  'list/q"uote.html': "quoted name",
  "list/sub dir/index.html": "<p>sub index</p>",
  "list/zdir/x.html": "x",
  "list/adir/y.html": "y",
  "list/a<b/c.html": "c",
  "list/.secret.html": SECRET,
  "list/.env": SECRET,
  "list/.git/config": SECRET,
  "list/.hidden/index.html": SECRET,
};
/** The visible entries of /list/: directories first, then files, each by name. */
const LISTED: [string, "directory" | "file"][] = [
  ["a<b", "directory"],
  ["adir", "directory"],
  ["sub dir", "directory"],
  ["zdir", "directory"],
  ["<x>.html", "file"],
  ["a&b.html", "file"],
  ["b file.html", "file"],
  ['q"uote.html', "file"],
];

async function send(
  server: Bastion,
  path: string,
  headers: [string, string][] = [],
  method = "GET",
): Promise<RawResponse> {
  const fields = headers.map(([name, value]) => `${name}: ${value}\r\n`).join("");
  return await roundTrip(
    server.port,
    `${method} ${path} HTTP/1.1\r\nHost: localhost\r\n${fields}\r\n`,
    { head: method === "HEAD" },
  );
}

function unescapeHtml(text: string): string {
  return text.replace(
    /&(lt|gt|quot|#39|#x27|amp);/g,
    (_, name: string) =>
      ({ lt: "<", gt: ">", quot: '"', "#39": "'", "#x27": "'", amp: "&" })[name]!,
  );
}

/** Each table row with a link: its href and text (both as written), and the other cells. */
function rows(html: string): { href: string; label: string; cells: string[] }[] {
  const found = [];
  for (const [, row] of html.matchAll(/<tr>(.*?)<\/tr>/gs)) {
    const link = /<a href="([^"]*)">([^<]*)<\/a>/.exec(row);
    if (link === null) continue;
    const cells = [...row.matchAll(/<td>([^<]*)<\/td>/g)].map(([, cell]) => cell.trim());
    found.push({ href: link[1], label: link[2], cells });
  }
  return found;
}

/** Starts bastion on FILES, all dated MTIME, with `extra` flags; runs `body`, and stops it. */
function withListing(extra: string[], body: (server: Bastion) => Promise<void>): Promise<void> {
  return withBastion({ args: [...NO_LIMITS, ...extra], files: FILES }, async (server) => {
    for (const name of Object.keys(FILES)) {
      const path = join(server.root, name);
      await Deno.utime(path, new Date(MTIME), new Date(MTIME));
    }
    await body(server);
  });
}

Deno.test("--dir-listing: an HTML listing, directories first then files by name, with sizes and dates", async () => {
  await withListing(["--dir-listing"], async (server) => {
    const response = await send(server, "/list/");
    assertEquals(response.status, 200);
    assertEquals(response.header("content-type"), "text/html; charset=utf-8");
    const html = response.text();
    const listed = rows(html).filter((row) => row.href !== "../");
    assertEquals(
      listed.map((row) => unescapeHtml(row.label).replace(/\/$/, "")),
      LISTED.map(([name]) => name),
    );
    assertTrue(rows(html).some((row) => row.href === "../"), "a link to the parent");
    for (const row of listed) {
      const name = unescapeHtml(row.label).replace(/\/$/, "");
      const directory = LISTED.find(([listed]) => listed === name)![1] === "directory";
      assertEquals(row.href.endsWith("/"), directory, `${name}: directories link with a slash`);
      if (!directory) {
        const size = new TextEncoder().encode(FILES[`list/${name}`]).length;
        assertTrue(row.cells.includes(String(size)), `${name}: size ${size} in ${row.cells}`);
      }
      const dates = row.cells.map((cell) => Date.parse(cell)).filter((ms) => !Number.isNaN(ms));
      const mtime = (await Deno.stat(join(server.root, "list", name))).mtime!.getTime();
      if (!directory) assertEquals(mtime, MTIME);
      assertTrue(
        dates.some((ms) => Math.abs(ms - mtime) < 1000),
        `${name}: modification date in ${row.cells}`,
      );
    }
    assertTrue(!html.includes(server.root), "no file-system path");

    const head = await send(server, "/list/", [], "HEAD");
    assertEquals(head.status, 200);
    assertEquals(head.header("content-length"), String(response.body.length));
    assertEquals(head.body.length, 0);

    const redirect = await send(server, "/list");
    assertEquals(redirect.status, 301);
    assertEquals(redirect.header("location"), "/list/");
  });
});

Deno.test('--dir-listing: names with < & " and spaces are HTML-escaped in text and percent-encoded in links that work', async () => {
  await withListing(["--dir-listing"], async (server) => {
    const html = (await send(server, "/list/")).text();
    assertNotMatch(html, /<x>/, "no markup injected by a file name");
    assertNotMatch(html, /<b\b|a<b/, "no raw < from a directory name");
    assertNotMatch(html, /q"uote/, "no raw quote from a file name");
    assertNotMatch(html, /&b\.html/, "no raw ampersand from a file name");
    for (const row of rows(html).filter((row) => row.href !== "../")) {
      const href = unescapeHtml(row.href);
      assertNotMatch(href, /[\s<>"]|&|%(?![0-9A-Fa-f]{2})/, `${href} is percent-encoded`);
      assertEquals(
        decodeURIComponent(href),
        unescapeHtml(row.label),
        "the link names the entry",
      );
      // Following the link reaches the entry.
      const target = await send(server, `/list/${href}`);
      assertEquals(target.status, 200, href);
      const name = decodeURIComponent(href);
      if (!name.endsWith("/")) assertEquals(target.text(), FILES[`list/${name}`], href);
    }
    assertMatch(html, /b%20file\.html/);
    assertMatch(html, /a%26b\.html/);
    assertMatch(html, /%3Cx%3E\.html/);
    assertMatch(html, /q%22uote\.html/);
    assertMatch(html, /&lt;x&gt;\.html/);
    assertMatch(html, /a&amp;b\.html/);

    // The escaped path of a directory whose own name needs escaping.
    const nested = await send(server, "/list/a%3Cb/");
    assertEquals(nested.status, 200);
    assertMatch(nested.text(), /a&lt;b/);
    assertNotMatch(nested.text(), /a<b/);
    assertEquals(rows(nested.text()).map((row) => row.label).filter((l) => l !== "../"), [
      "c.html",
    ]);
  });
});

Deno.test("--dir-listing: dotfiles are never listed and stay 404 on direct access, dot-directories are not listed either", async () => {
  await withListing(["--dir-listing"], async (server) => {
    for (const accept of ["text/html", "application/json"]) {
      const listing = await send(server, "/list/", [["Accept", accept]]);
      assertEquals(listing.status, 200);
      assertNotMatch(listing.text(), /\.secret|\.env|\.git|\.hidden|SECRET/, accept);
    }
    for (
      const path of [
        "/list/.secret.html",
        "/list/.env",
        "/list/.git/config",
        "/list/.git/",
        "/list/.git",
        "/list/.hidden/",
        "/list/%2Esecret.html",
      ]
    ) {
      for (const method of ["GET", "HEAD"]) {
        const response = await send(server, path, [], method);
        assertEquals(response.status, 404, `${method} ${path}`);
        assertNotMatch(response.text(), /SECRET|Index of/, path);
      }
    }
  });
});

Deno.test("--dir-listing: Accept: application/json gives the same entries as JSON with type, size and date", async () => {
  await withListing(["--dir-listing"], async (server) => {
    for (const accept of ["application/json", "application/json, text/plain;q=0.5"]) {
      const response = await send(server, "/list/", [["Accept", accept]]);
      assertEquals(response.status, 200, accept);
      assertMatch(response.header("content-type") ?? "", /^application\/json\b/, accept);
      const entries = JSON.parse(response.text()) as {
        name: string;
        type: string;
        size: number;
        modified: string;
      }[];
      assertEquals(entries.map((entry) => [entry.name, entry.type]), LISTED, accept);
      for (const entry of entries.filter((entry) => entry.type === "file")) {
        assertEquals(entry.size, new TextEncoder().encode(FILES[`list/${entry.name}`]).length);
        assertEquals(Date.parse(entry.modified), MTIME, entry.name);
      }
      assertEquals(response.header("content-length"), String(response.body.length));
    }
    const strict = await fetch(`http://127.0.0.1:${server.port}/list/`, {
      headers: { accept: "application/json" },
    });
    assertEquals(strict.status, 200);
    const names = (await strict.json() as { name: string }[]).map((entry) => entry.name);
    assertEquals(names, LISTED.map(([name]) => name));
  });
});

Deno.test("--dir-listing: a listing says it varies by Accept, since the same URL is HTML or JSON", async () => {
  await withListing(["--dir-listing"], async (server) => {
    for (const accept of ["text/html", "application/json"]) {
      const response = await send(server, "/list/", [["Accept", accept]]);
      assertEquals(response.status, 200);
      const vary = (response.header("vary") ?? "").split(",").map((name) => name.trim());
      assertTrue(
        vary.some((name) => name.toLowerCase() === "accept"),
        `Vary: ${response.header("vary")}`,
      );
    }
  });
});

Deno.test("--dir-listing: a listing carries ETag and Last-Modified and revalidates to 304 until it changes", async () => {
  await withListing(["--dir-listing"], async (server) => {
    // An HTTP date has whole seconds: the directories' own times are put in the past.
    for (const dir of ["", "a<b", "adir", "sub dir", "zdir"]) {
      await Deno.utime(join(server.root, "list", dir), new Date(MTIME), new Date(MTIME));
    }
    const first = await send(server, "/list/");
    assertEquals(first.status, 200);
    assertEquals(first.header("cache-control"), "no-cache");
    const etag = first.header("etag") ?? "";
    assertMatch(etag, /^"[^"]+"$/);
    const lastModified = first.header("last-modified") ?? "";
    assertTrue(!Number.isNaN(Date.parse(lastModified)), `Last-Modified: ${lastModified}`);
    assertEquals((await send(server, "/list/")).header("etag"), etag, "stable while unchanged");

    for (const [name, value] of [["If-None-Match", etag], ["If-Modified-Since", lastModified]]) {
      for (const method of ["GET", "HEAD"]) {
        const response = await send(server, "/list/", [[name, value]], method);
        assertEquals(response.status, 304, `${method} ${name}`);
        assertEquals(response.header("etag"), etag, `${method} ${name}`);
        assertEquals(response.body.length, 0);
      }
    }
    const json = await send(server, "/list/", [["Accept", "application/json"], [
      "If-None-Match",
      etag,
    ]]);
    assertEquals(json.status, 200, "the JSON listing has its own tag");
    assertTrue(json.header("etag") !== etag);

    await Deno.writeTextFile(join(server.root, "list", "new.html"), "new");
    const changed = await send(server, "/list/", [["If-None-Match", etag]]);
    assertEquals(changed.status, 200, "a new entry changes the tag");
    assertTrue(changed.header("etag") !== etag);
    assertMatch(changed.text(), /new\.html/);
    const stale = await send(server, "/list/", [["If-Modified-Since", lastModified]]);
    assertEquals(stale.status, 200, "and the directory's time");
  });
});

Deno.test("--dir-listing: a directory with an index.html serves the index, not a listing", async () => {
  await withListing(["--dir-listing"], async (server) => {
    const sub = await send(server, "/list/sub%20dir/");
    assertEquals(sub.status, 200);
    assertEquals(sub.text(), "<p>sub index</p>");
    const root = await send(server, "/");
    assertEquals(root.status, 200);
    assertEquals(root.text(), await Deno.readTextFile(join(server.root, "index.html")));
    assertNotMatch(root.text(), /Index of/);
  });
});

Deno.test("without --dir-listing a directory without index.html is 404 and nothing is listed", async () => {
  await withListing([], async (server) => {
    for (const accept of ["text/html", "application/json"]) {
      for (const path of ["/list/", "/list/zdir/", "/list/.git/"]) {
        const response = await send(server, path, [["Accept", accept]]);
        assertEquals(response.status, 404, `${path} ${accept}`);
        assertNotMatch(response.text(), /Index of|b file|zdir/, path);
      }
    }
    assertEquals((await send(server, "/list/sub%20dir/")).text(), "<p>sub index</p>");
    assertEquals((await send(server, "/list/b%20file.html")).text(), "bb");
  });
});
