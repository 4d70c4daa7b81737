/**
 * Parsers for the human units used by flags: sizes (`8KiB`) and durations (`10s`).
 * @module
 */

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  KIB: 1024,
  MIB: 1024 ** 2,
  GIB: 1024 ** 3,
};

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
};

/**
 * Parses a byte size such as `512`, `8KiB`, `1MiB` or `1GiB` into bytes.
 * Returns `null` when the text is not a size.
 *
 * @example
 * ```ts
 * import { parseSize } from "./units.ts";
 * parseSize("8KiB"); // 8192
 * ```
 */
export function parseSize(text: string): number | null {
  const match = /^(\d+)[ \t]*([A-Za-z]*)$/.exec(text.replace(/^[ \t]+|[ \t]+$/g, ""));
  if (!match) return null;
  const unit = SIZE_UNITS[match[2].toUpperCase()];
  if (unit === undefined) return null;
  const value = Number(match[1]) * unit;
  return Number.isSafeInteger(value) ? value : null;
}

/**
 * Parses a duration such as `250ms`, `10s` or `5m` into milliseconds.
 * Returns `null` when the text is not a duration.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./units.ts";
 * parseDuration("10s"); // 10000
 * ```
 */
export function parseDuration(text: string): number | null {
  const match = /^(\d+)[ \t]*(ms|s|m)$/.exec(text.replace(/^[ \t]+|[ \t]+$/g, ""));
  if (!match) return null;
  const value = Number(match[1]) * DURATION_UNITS[match[2]];
  return Number.isSafeInteger(value) ? value : null;
}

/**
 * Formats a byte count the way flags are written (`1MiB`, `8KiB`, `100B`).
 *
 * @example
 * ```ts
 * import { formatSize } from "./units.ts";
 * formatSize(1048576); // "1MiB"
 * ```
 */
export function formatSize(bytes: number): string {
  for (const unit of ["GiB", "MiB", "KiB"]) {
    const size = SIZE_UNITS[unit.toUpperCase()];
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}

/**
 * Formats milliseconds the way flags are written (`10s`, `250ms`, `5m`).
 *
 * @example
 * ```ts
 * import { formatDuration } from "./units.ts";
 * formatDuration(10000); // "10s"
 * ```
 */
export function formatDuration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
