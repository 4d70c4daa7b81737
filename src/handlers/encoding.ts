/**
 * Content coding (`docs/protocol.md`): which types are compressed, and which coding a
 * client's Accept-Encoding picks among those on offer, by q-value.
 * @module
 */

// The data alone, not the CommonJS entry (see content_types.ts).
import db from "mime-db/db.json" with { type: "json" };

/**
 * Media types (without parameters) worth compressing: those `docs/protocol.md` names,
 * and every type mime-db marks compressible but `application/octet-stream`
 * (mime-db says yes; `docs/protocol.md` says a download never is).
 */
const COMPRESSIBLE: ReadonlySet<string> = new Set([
  "text/html",
  "text/plain",
  "text/css",
  "text/javascript",
  "application/json",
  "application/xml",
  "image/svg+xml",
  "application/wasm",
  ...Object.entries(db as Readonly<Record<string, { compressible?: boolean }>>)
    .filter(([type, entry]) => entry.compressible === true && type !== "application/octet-stream")
    .map(([type]) => type),
]);

/** Smaller bodies are sent as they are. */
export const MIN_COMPRESS_BYTES = 1024;

/** A coding bastion can send. */
export type Coding = "br" | "gzip";

/**
 * Whether a Content-Type value is one `docs/protocol.md` compresses (decided once per
 * served type, see `ServedType.compressible`).
 *
 * @example
 * ```ts
 * import { isCompressible } from "./encoding.ts";
 * isCompressible("text/html; charset=utf-8"); // true
 * ```
 */
export function isCompressible(contentType: string): boolean {
  return COMPRESSIBLE.has(contentType.split(";")[0].trim().toLowerCase());
}

/**
 * The coding to send: the offered one with the highest q-value the client
 * accepts (br before gzip on a tie), or `null` for identity.
 *
 * @example
 * ```ts
 * import { chooseCoding } from "./encoding.ts";
 * chooseCoding("gzip;q=0.5, br;q=0.9", ["br", "gzip"]); // "br"
 * ```
 */
export function chooseCoding(acceptEncoding: string | undefined, offered: Coding[]): Coding | null {
  if (acceptEncoding === undefined) return null;
  const weights = new Map<string, number>();
  for (const item of acceptEncoding.split(",")) {
    const [name, ...params] = item.trim().toLowerCase().split(";");
    if (name === "") continue;
    const q = params.map((param) => /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/.exec(param))
      .find((found) => found !== null);
    weights.set(name.trim(), q ? Number(q[1]) : 1);
  }
  let best: Coding | null = null;
  let bestWeight = 0;
  for (const coding of offered) {
    const weight = weights.get(coding) ?? weights.get("*") ?? 0;
    if (weight > bestWeight) {
      best = coding;
      bestWeight = weight;
    }
  }
  // An explicit preference for identity over every offered coding is honoured.
  return (weights.get("identity") ?? 0) > bestWeight ? null : best;
}

/**
 * How many bodies may be gzipped on the fly at once (in one worker): each
 * costs many times the CPU of sending the file as it is, so past the budget
 * a file is sent as it is (a valid answer to any Accept-Encoding that does
 * not refuse identity) instead of starving every other client.
 *
 * @example
 * ```ts
 * import { CompressionBudget } from "./encoding.ts";
 * const budget = new CompressionBudget(1);
 * budget.take(); // true
 * budget.take(); // false: one is running
 * budget.give();
 * ```
 */
export class CompressionBudget {
  #free: number;

  constructor(size: number) {
    this.#free = size;
  }

  /** Whether a slot is free now. */
  get available(): boolean {
    return this.#free > 0;
  }

  /** Takes a slot; false when none is free. */
  take(): boolean {
    if (this.#free <= 0) return false;
    this.#free--;
    return true;
  }

  /** Gives a taken slot back. */
  give(): void {
    this.#free++;
  }
}
