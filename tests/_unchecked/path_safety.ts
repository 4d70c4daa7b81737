/**
 * TEST-ONLY stand-in for `src/guard/path_safety.ts` with every check of ours
 * switched off: `..` passes, hidden segments pass, any real path counts as
 * inside the root. `tests/sandbox_test.ts` maps the real module to this one
 * with an import map, so that the permission sandbox is seen on its own.
 * Never imported by the server itself.
 * @module
 */

/** Same shape as the real module's. */
export interface SafePath {
  segments: string[];
  trailingSlash: boolean;
}

/** Percent-decodes `rawPath` and splits it; refuses nothing. */
export function decodePath(rawPath: string): SafePath {
  const decoded = decodeURIComponent(rawPath);
  const segments = decoded.split("/").filter((segment) => segment !== "");
  return { segments, trailingSlash: decoded.endsWith("/") };
}

/** Nothing is hidden. */
export function isHidden(_segments: readonly string[]): boolean {
  return false;
}

/** Everything is inside. */
export function insideRoot(_root: string, _real: string): boolean {
  return true;
}
