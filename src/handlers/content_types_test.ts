import { assertEquals, assertMatch, assertTrue } from "../../tests/_assert.ts";
import { parseCommand } from "../config.ts";
import { attachmentDisposition, ContentTypes } from "./content_types.ts";

const DOWNLOAD = { type: "application/octet-stream", attachment: true };
const HTML = { type: "text/html; charset=utf-8", attachment: false };
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
  const seed = new ContentTypes();
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
  const seed = new ContentTypes();
  for (const ext of [...WEB_ONLY, "exe", "sh", "gz", "php", "HTML~", "bak"]) {
    assertEquals(seed.lookup(`file.${ext}`), null, ext);
  }
});

Deno.test("ContentTypes refuses names without an extension", () => {
  for (const profile of ["seed", "web"] as const) {
    const types = new ContentTypes({ profile });
    for (const name of ["README", "html", ".html", "a.", "archive.tar.gz"]) {
      assertEquals(types.lookup(name), null, `${profile}: ${name}`);
    }
  }
});

Deno.test("ContentTypes web profile serves real types inline", () => {
  const web = new ContentTypes({ profile: "web" });
  assertEquals(web.lookup("sample.txt"), { type: "text/plain; charset=utf-8", attachment: false });
  assertEquals(web.lookup("logo.png"), { type: "image/png", attachment: false });
  assertEquals(web.lookup("photo.jpg"), { type: "image/jpeg", attachment: false });
  assertEquals(web.lookup("photo.JPEG"), { type: "image/jpeg", attachment: false });
  assertEquals(web.lookup("index.html"), HTML);
  assertEquals(web.lookup("a.svg")?.type, "image/svg+xml");
  assertEquals(web.lookup("a.wasm")?.type, "application/wasm");
  assertEquals(web.lookup("a.json")?.type, "application/json");
  assertMatch(web.lookup("a.css")!.type, /^text\/css/);
  assertMatch(web.lookup("a.js")!.type, /^text\/javascript/);
  for (const ext of WEB_ONLY) {
    const served = web.lookup(`file.${ext}`);
    assertTrue(served !== null, ext);
    assertEquals(served.attachment, false, ext);
    assertTrue(served.type !== "application/octet-stream", ext);
  }
});

Deno.test("ContentTypes web profile still refuses unknown types", () => {
  const web = new ContentTypes({ profile: "web" });
  for (const ext of ["exe", "sh", "php", "gz", "br", "tmp"]) {
    assertEquals(web.lookup(`f.${ext}`), null);
  }
});

Deno.test("ContentTypes --type makes a seed download inline", () => {
  const types = typesFrom(["--type", "txt=text/plain"]);
  assertEquals(types.lookup("sample.txt"), { type: "text/plain", attachment: false });
  assertEquals(types.lookup("logo.png"), DOWNLOAD);
});

Deno.test("ContentTypes --type adds an extension and matches it case-insensitively", () => {
  const types = typesFrom(["--type", "MD=text/markdown; charset=utf-8", "--type", ".csv=text/csv"]);
  assertEquals(types.lookup("notes.md"), {
    type: "text/markdown; charset=utf-8",
    attachment: false,
  });
  assertEquals(types.lookup("NOTES.MD")?.type, "text/markdown; charset=utf-8");
  assertEquals(types.lookup("data.Csv")?.type, "text/csv");
});

Deno.test("ContentTypes --type changes a web profile type", () => {
  const types = typesFrom(["--profile", "web", "--type", "js=application/javascript"]);
  assertEquals(types.lookup("app.js"), { type: "application/javascript", attachment: false });
});

Deno.test("ContentTypes --attachment makes an extension a download as the seed profile does", () => {
  const types = typesFrom(["--profile", "web", "--attachment", "PDF", "--attachment", ".png"]);
  assertEquals(types.lookup("paper.pdf"), DOWNLOAD);
  assertEquals(types.lookup("logo.PNG"), DOWNLOAD);
  assertEquals(types.lookup("a.svg")?.attachment, false);
  const seed = typesFrom(["--attachment", "html", "--attachment", "zip"]);
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
