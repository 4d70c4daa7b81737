import { join } from "node:path";
import { assertEquals, assertMatch, assertNotMatch, assertTrue } from "../../tests/_assert.ts";
import type { BodyStream } from "../http/response.ts";
import { directoryListing, escapeHtml, listDirectory, type ListedEntry } from "./dir_listing.ts";

const decoder = new TextDecoder();
const MTIME = Date.UTC(2024, 0, 2, 3, 4, 5, 678);

Deno.test("escapeHtml() escapes the five HTML-significant characters and nothing else", () => {
  assertEquals(escapeHtml(`<a href="x">&'`), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  assertEquals(escapeHtml("&amp;"), "&amp;amp;", "already escaped text is escaped again");
  assertEquals(escapeHtml("plain name-1_2.html"), "plain name-1_2.html");
  assertEquals(escapeHtml("café ü 日本"), "café ü 日本");
  assertEquals(escapeHtml(""), "");
  assertEquals(escapeHtml("<<>>"), "&lt;&lt;&gt;&gt;");
});

const ENTRIES: ListedEntry[] = [
  { name: "sub dir", directory: true, size: 0, mtimeMs: MTIME },
  { name: `<b>&"x'.html`, directory: false, size: 1234, mtimeMs: MTIME },
  { name: "a b.html", directory: false, size: 0, mtimeMs: null },
  { name: "100%#?.html", directory: false, size: 7, mtimeMs: MTIME },
];

function bodyText(body: Uint8Array | BodyStream | null): string {
  if (!(body instanceof Uint8Array)) throw new Error("expected a byte body");
  return decoder.decode(body);
}

/** Each row's link target, link text, size cell and date cell, as they appear in the HTML. */
function rows(html: string): { href: string; label: string; size: string; date: string }[] {
  const pattern = /<tr><td><a href="([^"]*)">([^<]*)<\/a><\/td><td>([^<]*)<\/td><td>([^<]*)<\/td>/g;
  return [...html.matchAll(pattern)].map(([, href, label, size, date]) => ({
    href,
    label,
    size,
    date,
  }));
}

function unescapeHtml(text: string): string {
  return text.replace(
    /&(lt|gt|quot|#39|amp);/g,
    (_, name: string) => ({ lt: "<", gt: ">", quot: '"', "#39": "'", amp: "&" })[name]!,
  );
}

Deno.test("directoryListing(): HTML names are escaped in text and percent-encoded in links", () => {
  const response = directoryListing(ENTRIES, { path: "/docs/", json: false, head: false });
  assertEquals(response.status, 200);
  assertEquals(
    response.headers.find(([name]) => name.toLowerCase() === "content-type")?.[1],
    "text/html; charset=utf-8",
  );
  const html = bodyText(response.body);
  assertNotMatch(html, /<b>/, "no markup from a file name");
  assertNotMatch(html, /&"x/, "no raw quote or ampersand from a file name");
  const listed = rows(html).filter((row) => row.href !== "../");
  assertEquals(listed.length, ENTRIES.length);
  listed.forEach((row, i) => {
    const entry = ENTRIES[i];
    const suffix = entry.directory ? "/" : "";
    assertEquals(unescapeHtml(row.label), entry.name + suffix, "the label is the escaped name");
    assertNotMatch(row.href, /[\s<>"&]/, `href of ${entry.name} is fully encoded`);
    assertEquals(decodeURIComponent(unescapeHtml(row.href)), entry.name + suffix);
  });
  assertEquals(listed[0].href, "sub%20dir/");
  assertEquals(listed[2].href, "a%20b.html");
  assertEquals(listed[3].href, "100%25%23%3F.html", "% # ? cannot change the link's meaning");
  assertEquals(listed[1].label, "&lt;b&gt;&amp;&quot;x&#39;.html");
});

Deno.test("directoryListing(): rows show sizes and dates, directories marked, parent link below the root", () => {
  const html = bodyText(
    directoryListing(ENTRIES, { path: "/docs/", json: false, head: false }).body,
  );
  const [parent, ...listed] = rows(html);
  assertEquals(parent.href, "../");
  assertEquals(listed[0].size, "-", "no size for a directory");
  assertEquals(listed[1].size, "1234");
  assertEquals(listed[3].size, "7");
  assertEquals(new Date(listed[1].date).getTime(), MTIME, "the date is the modification time");
  assertEquals(listed[2].date, "-", "unknown time");
  assertMatch(html, /<title>Index of \/docs\/<\/title>/);

  const root = bodyText(directoryListing(ENTRIES, { path: "/", json: false, head: false }).body);
  assertEquals(rows(root).some((row) => row.href === "../"), false, "no parent above the root");
});

Deno.test("directoryListing(): the directory path in the title is escaped", () => {
  const html = bodyText(
    directoryListing([], { path: `/<i>&"/`, json: false, head: false }).body,
  );
  assertMatch(html, /Index of \/&lt;i&gt;&amp;&quot;\//);
  assertNotMatch(html, /<i>/);
});

Deno.test("directoryListing(): JSON lists name, type, size and ISO date in the same order", () => {
  const response = directoryListing(ENTRIES, { path: "/docs/", json: true, head: false });
  assertEquals(
    response.headers.find(([name]) => name.toLowerCase() === "content-type")?.[1],
    "application/json",
  );
  assertEquals(JSON.parse(bodyText(response.body)), [
    { name: "sub dir", type: "directory", size: 0, modified: new Date(MTIME).toISOString() },
    { name: `<b>&"x'.html`, type: "file", size: 1234, modified: new Date(MTIME).toISOString() },
    { name: "a b.html", type: "file", size: 0, modified: null },
    { name: "100%#?.html", type: "file", size: 7, modified: new Date(MTIME).toISOString() },
  ]);
});

Deno.test("directoryListing(): HEAD announces GET's length without a body", async () => {
  for (const json of [false, true]) {
    const get = directoryListing(ENTRIES, { path: "/docs/", json, head: false });
    const head = directoryListing(ENTRIES, { path: "/docs/", json, head: true });
    assertEquals(head.status, 200);
    assertEquals(head.headers, get.headers);
    const body = head.body as BodyStream;
    assertEquals(body.length, (get.body as Uint8Array).length);
    let bytes = 0;
    for await (const piece of body.chunks()) bytes += piece.length;
    assertEquals(bytes, 0);
    body.close();
  }
});

Deno.test("directoryListing(): a tag of the bytes and the latest time as validators; a match is 304", () => {
  const header = (fields: Record<string, string>) => (name: string) => fields[name];
  const ok = directoryListing(ENTRIES, { path: "/docs/", json: false, head: false, mtimeMs: 0 });
  const etag = ok.headers.find(([name]) => name === "ETag")![1];
  assertMatch(etag, /^"[A-Za-z0-9_-]+"$/);
  assertEquals(
    ok.headers.find(([name]) => name === "Last-Modified")?.[1],
    new Date(MTIME).toUTCString(),
    "the latest entry's time",
  );
  const json = directoryListing(ENTRIES, { path: "/docs/", json: true, head: false });
  assertTrue(json.headers.find(([name]) => name === "ETag")![1] !== etag);
  const renamed = directoryListing(ENTRIES.slice(1), { path: "/docs/", json: false, head: false });
  assertTrue(renamed.headers.find(([name]) => name === "ETag")![1] !== etag);

  const lastModified = ok.headers.find(([name]) => name === "Last-Modified")![1];
  const conditions: Record<string, string>[] = [
    { "if-none-match": etag },
    { "if-modified-since": lastModified },
  ];
  for (const fields of conditions) {
    const again = directoryListing(ENTRIES, {
      path: "/docs/",
      json: false,
      head: false,
      header: header(fields),
    });
    assertEquals(again.status, 304, JSON.stringify(fields));
    assertEquals(again.body, null);
    assertEquals(again.headers.find(([name]) => name === "ETag")?.[1], etag);
  }
  let refused: unknown = null;
  try {
    directoryListing(ENTRIES, {
      path: "/docs/",
      json: false,
      head: false,
      header: header({ "if-match": '"other"' }),
    });
  } catch (error) {
    refused = error;
  }
  assertEquals((refused as { status?: number } | null)?.status, 412);
});

Deno.test("directoryListing(): without any known time there is no Last-Modified and If-Modified-Since is ignored", () => {
  const entries: ListedEntry[] = [{ name: "a.html", directory: false, size: 1, mtimeMs: null }];
  const response = directoryListing(entries, {
    path: "/",
    json: false,
    head: false,
    header: (name) => name === "if-modified-since" ? new Date().toUTCString() : undefined,
  });
  assertEquals(response.status, 200);
  assertEquals(response.headers.some(([name]) => name === "Last-Modified"), false);
});

Deno.test("listDirectory(): no dotfiles, directories first, then names in code-point order, with sizes and times", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bastion-listing-" });
  try {
    const files: Record<string, string> = {
      "b.html": "bb",
      "B.html": "BBB",
      "a.html": "a",
      ".env": "SECRET",
      ".hidden.html": "SECRET",
      "a b.html": "",
    };
    for (const [name, content] of Object.entries(files)) {
      await Deno.writeTextFile(join(dir, name), content);
      await Deno.utime(join(dir, name), new Date(MTIME), new Date(MTIME));
    }
    for (const name of ["zdir", "Adir", ".git"]) await Deno.mkdir(join(dir, name));
    const entries = await listDirectory(dir);
    assertEquals(entries.map((entry) => entry.name), [
      "Adir",
      "zdir",
      "B.html",
      "a b.html",
      "a.html",
      "b.html",
    ]);
    assertEquals(entries.map((entry) => entry.directory), [true, true, false, false, false, false]);
    const byName = new Map(entries.map((entry) => [entry.name, entry]));
    assertEquals(byName.get("B.html")?.size, 3);
    assertEquals(byName.get("b.html")?.size, 2);
    assertEquals(byName.get("a b.html")?.size, 0);
    assertEquals(byName.get("a.html")?.mtimeMs, MTIME);
    assertTrue(entries.every((entry) => !entry.name.startsWith(".")), "dotfiles never listed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
