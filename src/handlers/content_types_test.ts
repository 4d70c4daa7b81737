import { assertEquals, assertMatch, assertTrue } from "../../tests/_assert.ts";
import { parseCommand } from "../config.ts";
import db from "mime-db/db.json" with { type: "json" };
import { attachmentDisposition, ContentTypes } from "./content_types.ts";

const DOWNLOAD = { type: "application/octet-stream", attachment: true, compressible: false };
const HTML = { type: "text/html; charset=utf-8", attachment: false, compressible: true };
const WEB_ONLY = [
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

function typesFrom(args: string[]): ContentTypes {
  const command = parseCommand(args);
  if (command.kind !== "run") throw new Error("Expected a run command");
  return new ContentTypes(command.config);
}

Deno.test("ContentTypes seed profile serves .html and .htm inline", () => {
  const seed = new ContentTypes({ profile: "seed" });
  assertEquals(seed.lookup("index.html"), HTML);
  assertEquals(seed.lookup("old.htm"), HTML);
  assertEquals(seed.lookup("INDEX.HTML"), HTML);
});

Deno.test("ContentTypes seed profile serves .txt .png .jpg .jpeg as downloads", () => {
  const seed = new ContentTypes({ profile: "seed" });
  for (const name of ["sample.txt", "logo.png", "photo.jpg", "photo.jpeg", "LOGO.PNG"]) {
    assertEquals(seed.lookup(name), DOWNLOAD, name);
  }
});

Deno.test("ContentTypes seed profile refuses web-only and unknown types", () => {
  const seed = new ContentTypes({ profile: "seed" });
  for (const ext of [...WEB_ONLY, "exe", "sh", "gz", "php", "HTML~", "bak"]) {
    assertEquals(seed.lookup(`file.${ext}`), null, ext);
  }
});

Deno.test("ContentTypes seed profile refuses names without an extension", () => {
  const seed = new ContentTypes({ profile: "seed" });
  for (const name of ["README", "html", ".html", "a.", "archive.tar.gz"]) {
    assertEquals(seed.lookup(name), null, name);
  }
});

Deno.test("ContentTypes web profile serves names without a known extension as downloads", () => {
  const web = new ContentTypes({ profile: "web" });
  for (const name of ["README", "html", ".html", "a.", "Makefile", "x.unknownext", "a.b.xyzzy"]) {
    assertEquals(web.lookup(name), DOWNLOAD, name);
  }
});

Deno.test("ContentTypes web profile serves real types inline", () => {
  const web = new ContentTypes({ profile: "web" });
  assertEquals(web.lookup("sample.txt"), {
    type: "text/plain; charset=utf-8",
    attachment: false,
    compressible: true,
  });
  assertEquals(web.lookup("logo.png"), {
    type: "image/png",
    attachment: false,
    compressible: false,
  });
  assertEquals(web.lookup("photo.jpg")?.type, "image/jpeg");
  assertEquals(web.lookup("photo.JPEG")?.type, "image/jpeg");
  assertEquals(web.lookup("index.html"), HTML);
  assertEquals(web.lookup("a.svg")?.type, "image/svg+xml; charset=utf-8");
  assertEquals(web.lookup("a.wasm")?.type, "application/wasm");
  assertEquals(web.lookup("a.json")?.type, "application/json; charset=utf-8");
  assertMatch(web.lookup("a.css")!.type, /^text\/css/);
  assertMatch(web.lookup("a.js")!.type, /^text\/javascript/);
  for (const ext of WEB_ONLY) {
    const served = web.lookup(`file.${ext}`);
    assertTrue(served !== null, ext);
    assertEquals(served.attachment, false, ext);
    assertTrue(served.type !== "application/octet-stream", ext);
  }
});

Deno.test("ContentTypes web profile is the default and never refuses a type", () => {
  assertEquals(new ContentTypes().lookup("a.css")?.type, "text/css; charset=utf-8");
  const web = new ContentTypes({ profile: "web" });
  for (const ext of ["exe", "sh", "php", "gz", "br", "tmp", "bak"]) {
    assertTrue(web.lookup(`f.${ext}`) !== null, ext);
  }
  assertEquals(web.lookup("f.br"), DOWNLOAD, "mime-db has no .br");
});

/** The served type of the common web extensions, by name. */
const COMMON_WEB: [string, string][] = [
  ["style.css", "text/css; charset=utf-8"],
  ["app.js", "text/javascript; charset=utf-8"],
  ["app.mjs", "text/javascript; charset=utf-8"],
  ["data.json", "application/json; charset=utf-8"],
  ["app.js.map", "application/json; charset=utf-8"],
  ["logo.svg", "image/svg+xml; charset=utf-8"],
  ["logo.png", "image/png"],
  ["photo.jpg", "image/jpeg"],
  ["photo.jpeg", "image/jpeg"],
  ["anim.gif", "image/gif"],
  ["photo.webp", "image/webp"],
  ["photo.avif", "image/avif"],
  ["favicon.ico", "image/vnd.microsoft.icon"],
  ["font.woff", "font/woff"],
  ["font.woff2", "font/woff2"],
  ["paper.pdf", "application/pdf"],
  ["module.wasm", "application/wasm"],
  ["song.mp3", "audio/mpeg"],
  ["clip.mp4", "video/mp4"],
  ["clip.webm", "video/webm"],
  ["table.csv", "text/csv; charset=utf-8"],
  ["README.md", "text/markdown; charset=utf-8"],
  ["bundle.zip", "application/zip"],
  ["archive.gz", "application/gzip"],
  ["archive.tar.gz", "application/gzip"],
  ["feed.xml", "application/xml; charset=utf-8"],
  ["notes.txt", "text/plain; charset=utf-8"],
  ["page.htm", "text/html; charset=utf-8"],
];

Deno.test("ContentTypes web profile gives the common web extensions their usual types, inline", () => {
  const web = new ContentTypes();
  for (const [name, type] of COMMON_WEB) {
    assertEquals(web.lookup(name)?.type, type, name);
    assertEquals(web.lookup(name.toUpperCase())?.type, type, name.toUpperCase());
    assertEquals(web.lookup(name)?.attachment, false, name);
  }
});

Deno.test("ContentTypes web profile serves every extension of mime-db with one of its types, inline", () => {
  const web = new ContentTypes();
  const listed = new Map<string, string[]>();
  for (const [type, entry] of Object.entries(db as Record<string, { extensions?: string[] }>)) {
    for (const ext of entry.extensions ?? []) listed.set(ext, [...listed.get(ext) ?? [], type]);
  }
  assertTrue(listed.size > 1000, `${listed.size} extensions`);
  for (const [ext, types] of listed) {
    const served = web.lookup(`file.${ext}`);
    if (types.every((type) => type === "application/octet-stream")) {
      assertEquals(served, DOWNLOAD, ext);
      continue;
    }
    assertTrue(served !== null && !served.attachment, ext);
    assertTrue(types.includes(served.type.split(";")[0]), `${ext}: ${served.type}`);
    assertEquals(web.lookup(`FILE.${ext.toUpperCase()}`), served, ext);
  }
});

Deno.test("ContentTypes web profile resolves types mime-db gives one extension as mime-types v3 does", () => {
  const web = new ContentTypes();
  const expected: [string, string][] = [
    ["js", "text/javascript; charset=utf-8"], // iana over apache's application/javascript
    ["mp4", "video/mp4"], // video over application/mp4 (RFC 4337)
    ["mp3", "audio/mpeg"], // iana over audio/mp3
    ["xml", "application/xml; charset=utf-8"], // application over text/xml
    ["zip", "application/zip"], // iana over application/x-zip-compressed
    ["ico", "image/vnd.microsoft.icon"], // vnd. and iana over apache's image/x-icon
    ["rtf", "application/rtf"],
    ["wav", "audio/wav"], // mime-db's own over audio/x-wav
    ["exe", "application/x-msdos-program"], // application/octet-stream never wins
    ["bmp", "image/bmp"], // iana over nginx
    ["stl", "model/stl"],
    ["m4a", "audio/mp4"],
  ];
  for (const [ext, type] of expected) assertEquals(web.lookup(`f.${ext}`)?.type, type, ext);
});

Deno.test("ContentTypes web profile adds a utf-8 charset to text, JSON, JavaScript and XML types only", () => {
  const web = new ContentTypes();
  const withCharset = ["html", "txt", "css", "csv", "md", "json", "jsonld", "webmanifest", "xml"];
  for (const ext of [...withCharset, "svg", "xhtml", "atom", "js", "mjs", "ics", "vtt"]) {
    assertMatch(web.lookup(`f.${ext}`)!.type, /^[^;]+; charset=utf-8$/, ext);
  }
  for (const ext of ["png", "pdf", "wasm", "zip", "mp4", "woff2", "gz", "ttf"]) {
    assertEquals(web.lookup(`f.${ext}`)!.type.includes(";"), false, ext);
  }
});

Deno.test("ContentTypes marks compressible the SPEC types and mime-db's compressible ones, never a download", () => {
  const web = new ContentTypes();
  for (
    const ext of ["html", "txt", "css", "js", "json", "xml", "svg", "wasm", "md", "csv", "ttf"]
  ) {
    assertEquals(web.lookup(`f.${ext}`)?.compressible, true, ext);
  }
  for (const ext of ["png", "jpg", "gif", "webp", "zip", "gz", "mp3", "mp4", "woff2", "pdf"]) {
    assertEquals(web.lookup(`f.${ext}`)?.compressible, false, ext);
  }
  assertEquals(web.lookup("f.unknownext")?.compressible, false);
  const downloads = typesFrom(["--attachment", "html", "--attachment", "txt"]);
  assertEquals(downloads.lookup("index.html")?.compressible, false);
  assertEquals(typesFrom(["--type", "log=text/plain"]).lookup("a.log")?.compressible, true);
});

Deno.test("ContentTypes the longest matching --type / --attachment suffix wins, case-insensitively", () => {
  const types = typesFrom([
    "--type",
    "tar.gz=application/x-tar",
    "--attachment",
    "min.js",
    "--type",
    "d.ts=text/plain",
  ]);
  assertEquals(types.lookup("a.tar.gz")?.type, "application/x-tar");
  assertEquals(types.lookup("A.TAR.GZ")?.type, "application/x-tar");
  assertEquals(types.lookup("a.b.tar.gz")?.type, "application/x-tar");
  assertEquals(types.lookup("a.gz")?.type, "application/gzip", "mime-db's gz still serves .gz");
  assertEquals(types.lookup("tar.gz")?.type, "application/gzip", "a suffix needs a name before it");
  assertEquals(types.lookup("a.xtar.gz")?.type, "application/gzip");
  assertEquals(types.lookup("app.min.js"), DOWNLOAD);
  assertEquals(types.lookup("app.js")?.type, "text/javascript; charset=utf-8");
  assertEquals(types.lookup("lib.d.ts")?.type, "text/plain");
  const seed = typesFrom(["--profile", "seed", "--type", "tar.gz=application/gzip"]);
  assertEquals(seed.lookup("a.tar.gz")?.type, "application/gzip");
  assertEquals(seed.lookup("a.gz"), null, "seed still refuses plain .gz");
});

Deno.test("ContentTypes --type makes a seed download inline", () => {
  const types = typesFrom(["--profile", "seed", "--type", "txt=text/plain"]);
  assertEquals(types.lookup("sample.txt"), {
    type: "text/plain",
    attachment: false,
    compressible: true,
  });
  assertEquals(types.lookup("logo.png"), DOWNLOAD);
});

Deno.test("ContentTypes --type adds an extension and matches it case-insensitively", () => {
  const types = typesFrom([
    "--profile",
    "seed",
    "--type",
    "MD=text/markdown; charset=utf-8",
    "--type",
    ".csv=text/csv",
  ]);
  assertEquals(types.lookup("notes.md"), {
    type: "text/markdown; charset=utf-8",
    attachment: false,
    compressible: true,
  });
  assertEquals(types.lookup("NOTES.MD")?.type, "text/markdown; charset=utf-8");
  assertEquals(types.lookup("data.Csv")?.type, "text/csv");
});

Deno.test("ContentTypes --type changes a web profile type", () => {
  const types = typesFrom(["--profile", "web", "--type", "js=application/javascript"]);
  assertEquals(types.lookup("app.js"), {
    type: "application/javascript",
    attachment: false,
    compressible: true,
  });
});

Deno.test("ContentTypes --attachment makes an extension a download as the seed profile does", () => {
  const types = typesFrom(["--profile", "web", "--attachment", "PDF", "--attachment", ".png"]);
  assertEquals(types.lookup("paper.pdf"), DOWNLOAD);
  assertEquals(types.lookup("logo.PNG"), DOWNLOAD);
  assertEquals(types.lookup("a.svg")?.attachment, false);
  const seed = typesFrom(["--profile", "seed", "--attachment", "html", "--attachment", "zip"]);
  assertEquals(seed.lookup("index.html"), DOWNLOAD);
  assertEquals(seed.lookup("bundle.zip"), DOWNLOAD);
});

Deno.test("attachmentDisposition() quotes a plain ASCII name", () => {
  assertEquals(attachmentDisposition("logo.png"), 'attachment; filename="logo.png"');
  assertEquals(attachmentDisposition("my file (1).txt"), 'attachment; filename="my file (1).txt"');
  assertEquals(attachmentDisposition("it's.txt"), `attachment; filename="it's.txt"`);
});

Deno.test("attachmentDisposition() adds filename* in UTF-8 for a non-ASCII name", () => {
  assertEquals(
    attachmentDisposition("café.txt"),
    `attachment; filename="caf_.txt"; filename*=UTF-8''caf%C3%A9.txt`,
  );
  assertEquals(
    attachmentDisposition("日本.png"),
    `attachment; filename="__.png"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.png`,
  );
  assertEquals(
    attachmentDisposition("l'été (1).jpg"),
    `attachment; filename="l'_t_ (1).jpg"; filename*=UTF-8''l%27%C3%A9t%C3%A9%20%281%29.jpg`,
  );
});

Deno.test("attachmentDisposition() never puts a quote or backslash inside the quoted name", () => {
  assertEquals(
    attachmentDisposition('say "hi".txt'),
    `attachment; filename="say _hi_.txt"; filename*=UTF-8''say%20%22hi%22.txt`,
  );
  assertEquals(
    attachmentDisposition("a\\b.txt"),
    `attachment; filename="a_b.txt"; filename*=UTF-8''a%5Cb.txt`,
  );
});

Deno.test("attachmentDisposition() gives a header-safe ASCII value for hostile names", () => {
  const names = [
    "a\r\nSet-Cookie: x=1.txt",
    "tab\there.txt",
    "nul\x00.txt",
    "del\x7f.txt",
    "😀.png",
    '";filename="evil.exe',
    "semi;colon,comma.txt",
    "%41%42.txt",
  ];
  for (const name of names) {
    const value = attachmentDisposition(name);
    assertMatch(value, /^[\x20-\x7e]*$/, JSON.stringify(name));
    const quoted =
      /^attachment; filename="([^"\\]*)"(; filename\*=UTF-8''([A-Za-z0-9!#$&+.^_`|~%-]+))?$/
        .exec(value);
    assertTrue(quoted !== null, `${JSON.stringify(name)} → ${value}`);
    if (quoted[3] !== undefined) assertEquals(decodeURIComponent(quoted[3]), name);
  }
});
