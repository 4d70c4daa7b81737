import { join } from "node:path";
import { assertEquals, assertRejects, assertTrue } from "../../tests/_assert.ts";
import { HttpError } from "../http/http_error.ts";
import {
  FileChangedError,
  fileId,
  type FileOnDisk,
  openInside,
  readInside,
} from "./open_inside.ts";

const INSIDE = "inside the root\n";
const SECRET = "secret outside\n";

/** `<base>/www/d/passwd` and `<base>/outside/passwd`, both real paths. */
async function tree(): Promise<{ base: string; root: string; outside: string }> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "bastion-open-inside-" }));
  const root = join(base, "www");
  const outside = join(base, "outside");
  await Deno.mkdir(join(root, "d"), { recursive: true });
  await Deno.mkdir(outside);
  await Deno.writeTextFile(join(root, "d", "passwd"), INSIDE);
  await Deno.writeTextFile(join(outside, "passwd"), SECRET);
  return { base, root, outside };
}

/** `d/passwd` as a request resolves it: its real path and identity. */
async function resolved(root: string): Promise<FileOnDisk & { size: number }> {
  const path = await Deno.realPath(join(root, "d", "passwd"));
  const info = await Deno.stat(path);
  return { path, root, id: fileId(info), size: info.size };
}

/** Swaps the directory `d` for a symlink `d` → `target`. */
async function swapForLink(root: string, target: string): Promise<void> {
  await Deno.rename(join(root, "d"), join(root, ".d-away"));
  await Deno.symlink(target, join(root, "d"));
}

Deno.test("openInside() opens the resolved file when nothing changed", async () => {
  const { base, root } = await tree();
  try {
    const file = await resolved(root);
    using opened = await openInside(file);
    assertEquals((await opened.stat()).size, INSIDE.length);
    assertEquals(new TextDecoder().decode(await readInside(file) ?? undefined), INSIDE);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("openInside() refuses with 403 traversal when a directory was swapped for a symlink out of the root after resolving", async () => {
  const { base, root, outside } = await tree();
  try {
    const file = await resolved(root);
    await swapForLink(root, outside);
    for (const open of [() => openInside(file), () => readInside(file)]) {
      const error = await assertRejects(open);
      assertTrue(error instanceof HttpError, String(error));
      assertEquals([error.status, error.reason], [403, "traversal"]);
    }
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("openInside() refuses with 404 a file that is not the one resolved, even inside the root", async () => {
  const { base, root } = await tree();
  try {
    const file = await resolved(root);
    const replacement = join(root, "replacement");
    await Deno.writeTextFile(replacement, INSIDE);
    await Deno.rename(replacement, file.path);
    for (const open of [() => openInside(file), () => readInside(file)]) {
      const error = await assertRejects(open);
      assertTrue(error instanceof FileChangedError, String(error));
      assertEquals(error.status, 404);
    }
    // Without an identity to keep, what the path names now is accepted.
    (await openInside({ ...file, id: null })).close();
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("readInside() gives null for a file whose size is not the one resolved", async () => {
  const { base, root } = await tree();
  try {
    const file = await resolved(root);
    await Deno.writeTextFile(file.path, "grew: " + INSIDE);
    assertEquals(await readInside(file), null);
    await Deno.truncate(file.path, 3);
    assertEquals(await readInside(file), null);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
