/**
 * The web root every server serves: `page.html` (2 KiB), `big1m.html`
 * (1 MiB), `big1g.html` (1 GiB, sparse, so it costs no disk writes) and an
 * empty `uploads/`. `.html` because every server answers it with 200 and the
 * same type (bastion's seed profile refuses other extensions).
 * @module
 */

/** Sizes and paths of the fixture files. */
export const FIXTURE = {
  page: { path: "/page.html", bytes: 2048 },
  file1m: { path: "/big1m.html", bytes: 1024 * 1024 },
  file1g: { path: "/big1g.html", bytes: 1024 * 1024 * 1024 },
} as const;

/**
 * Writes the web root under `dir` and returns its path. Directories are made
 * world-readable so nginx's unprivileged workers can serve them.
 *
 * @example
 * ```ts ignore
 * const root = await buildFixture(await Deno.makeTempDir());
 * ```
 */
export async function buildFixture(dir: string): Promise<string> {
  const root = `${dir}/root`;
  await Deno.mkdir(`${root}/uploads`, { recursive: true });
  for (const path of [dir, root]) await Deno.chmod(path, 0o755);
  await Deno.writeTextFile(`${root}${FIXTURE.page.path}`, _page(FIXTURE.page.bytes));
  await Deno.writeFile(`${root}${FIXTURE.file1m.path}`, _bytes(FIXTURE.file1m.bytes));
  const big = await Deno.open(`${root}${FIXTURE.file1g.path}`, { write: true, create: true });
  await big.truncate(FIXTURE.file1g.bytes);
  big.close();
  for (const { path } of Object.values(FIXTURE)) await Deno.chmod(`${root}${path}`, 0o644);
  await _readThrough(`${root}${FIXTURE.file1g.path}`);
  return root;
}

function _page(bytes: number): string {
  const head = "<!doctype html>\n<html><head><title>bench</title></head><body>\n";
  const tail = "</body></html>\n";
  const line = "<p>The quick brown fox jumps over the lazy dog.</p>\n";
  let body = "";
  while (head.length + body.length + line.length + tail.length <= bytes) body += line;
  return head + body + " ".repeat(bytes - head.length - body.length - tail.length) + tail;
}

function _bytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = 32 + (i * 7919) % 95;
  return bytes;
}

/** Puts the big file in the page cache once, so no server pays for the first read. */
async function _readThrough(path: string): Promise<void> {
  using file = await Deno.open(path);
  const buffer = new Uint8Array(1024 * 1024);
  while (await file.read(buffer) !== null) { /* discarded */ }
}
