/**
 * Precompressed siblings of a file (`style.css.br`, `style.css.gz`), served
 * instead of the file to a client that accepts their coding: regular files
 * only (not links), and not older than the file itself.
 * @module
 */

import type { Coding } from "./encoding.ts";
import type { Sibling } from "./file_cache.ts";
import { fileId } from "./open_inside.ts";

/** Codings and the suffix of their sibling, in the order they are looked for. */
const SUFFIXES = [["br", ".br"], ["gzip", ".gz"]] as const;

/**
 * The siblings of the file at `path`, last modified at `mtimeMs`.
 *
 * @example
 * ```ts
 * import { precompressedSiblings } from "./siblings.ts";
 * const info = await Deno.stat("deno.json");
 * await precompressedSiblings("deno.json", info.mtime?.getTime() ?? 0); // Map(0) {}
 * ```
 */
export async function precompressedSiblings(
  path: string,
  mtimeMs: number,
): Promise<Map<Coding, Sibling>> {
  const siblings = new Map<Coding, Sibling>();
  for (const [coding, suffix] of SUFFIXES) {
    const info = await Deno.lstat(path + suffix).catch(() => null);
    if (info?.isFile && (info.mtime?.getTime() ?? 0) >= mtimeMs) {
      siblings.set(coding, { path: path + suffix, size: info.size, id: fileId(info) });
    }
  }
  return siblings;
}
