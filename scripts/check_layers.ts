/**
 * Fails when bastion's modules import in a cycle or against the layers: a
 * layer imports only those below it (base ← http ← shared ← guard ←
 * handlers | server ← entry), and the two siblings `handlers/` and `server/`
 * never import each other. Reads the module graph from `deno info --json`
 * of the entry modules; tests and scripts are not part of the product and
 * are not checked.
 *
 * Run: `deno task layers` (part of `.ci/run`).
 * @module
 */

import { relative } from "node:path";
import { fileURLToPath } from "node:url";

/** Module → the modules it imports (repository-relative paths, local only). */
export type ImportGraph = Map<string, string[]>;

/** The entry modules whose graphs are the product. */
const ENTRIES = ["main.ts", "launch.ts"];
/** Entry-level modules: they put the layers together, so they may import any. */
const ENTRY_MODULES = new Set(["main.ts", "launch.ts", "src/assemble.ts", "src/startup.ts"]);
/** Folders under `src/` by rank: a module imports only lower ranks, or its own folder. */
const FOLDER_RANK: Record<string, number> = {
  http: 1,
  shared: 2,
  guard: 3,
  handlers: 4,
  server: 4,
};
const BASE_RANK = 0;
const ENTRY_RANK = 5;

/** A module's layer: its name and rank. */
export function layerOf(path: string): { layer: string; rank: number } {
  if (ENTRY_MODULES.has(path)) return { layer: "entry", rank: ENTRY_RANK };
  const folder = /^src\/([^/]+)\//.exec(path)?.[1];
  if (folder === undefined) return { layer: "base", rank: BASE_RANK };
  return { layer: folder, rank: FOLDER_RANK[folder] ?? ENTRY_RANK };
}

/**
 * Every import against the layers, and every cycle, as one line each.
 *
 * @example
 * ```ts
 * import { layerViolations } from "./check_layers.ts";
 * layerViolations(new Map([["src/http/a.ts", ["src/server/b.ts"]], ["src/server/b.ts", []]]));
 * // ["src/http/a.ts (http) imports src/server/b.ts (server): upward"]
 * ```
 */
export function layerViolations(graph: ImportGraph): string[] {
  const lines: string[] = [];
  for (const [from, imports] of graph) {
    const a = layerOf(from);
    for (const to of imports) {
      const b = layerOf(to);
      if (a.layer === b.layer) continue;
      if (b.rank > a.rank) lines.push(`${from} (${a.layer}) imports ${to} (${b.layer}): upward`);
      else if (b.rank === a.rank) {
        lines.push(`${from} (${a.layer}) imports ${to} (${b.layer}): sibling layers`);
      }
    }
  }
  for (const cycle of importCycles(graph)) lines.push(`import cycle: ${cycle.join(" → ")}`);
  return lines;
}

/**
 * The import cycles of `graph`, each once, from its first module in path
 * order, sorted.
 *
 * @example
 * ```ts
 * import { importCycles } from "./check_layers.ts";
 * importCycles(new Map([["a.ts", ["b.ts"]], ["b.ts", ["a.ts"]]])); // [["a.ts", "b.ts", "a.ts"]]
 * ```
 */
export function importCycles(graph: ImportGraph): string[][] {
  const cycles = new Map<string, string[]>();
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (module: string) => {
    state.set(module, "open");
    path.push(module);
    for (const next of graph.get(module) ?? []) {
      if (state.get(next) === "open") {
        const cycle = path.slice(path.indexOf(next));
        const start = cycle.indexOf([...cycle].sort()[0]);
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        cycles.set(rotated.join(" "), [...rotated, rotated[0]]);
      } else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(module, "done");
  };
  for (const module of [...graph.keys()].sort()) if (!state.has(module)) visit(module);
  return [...cycles.keys()].sort().map((key) => cycles.get(key)!);
}

/** The local import graph of `entries`, from `deno info --json`, paths relative to `repo`. */
export async function importGraph(repo: string, entries = ENTRIES): Promise<ImportGraph> {
  const graph: ImportGraph = new Map();
  for (const entry of entries) {
    const { stdout, success, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: repo,
    }).output();
    if (!success) throw new Error(`deno info ${entry} failed: ${new TextDecoder().decode(stderr)}`);
    const info = JSON.parse(new TextDecoder().decode(stdout)) as {
      modules: {
        specifier: string;
        dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
      }[];
    };
    const local = (specifier: string) =>
      specifier.startsWith("file:") ? relative(repo, fileURLToPath(specifier)) : null;
    for (const module of info.modules) {
      const from = local(module.specifier);
      if (from === null) continue;
      // Type-only imports count too: a cycle of types is still a knot to untie.
      const imports = (module.dependencies ?? [])
        .flatMap((dependency) => [dependency.code?.specifier, dependency.type?.specifier])
        .filter((specifier): specifier is string => specifier !== undefined)
        .map(local)
        .filter((path): path is string => path !== null);
      graph.set(from, [...new Set(imports)]);
    }
  }
  return graph;
}

if (import.meta.main) {
  const repo = fileURLToPath(new URL("..", import.meta.url));
  const graph = await importGraph(repo);
  const violations = layerViolations(graph);
  for (const line of violations) console.log(line);
  console.log(`${graph.size} modules: ${violations.length} layer violations or cycles`);
  Deno.exit(violations.length === 0 ? 0 : 1);
}
