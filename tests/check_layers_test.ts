// scripts/check_layers.ts: the layer rule and the cycle finder, on made-up
// graphs, and on the repository itself (which must be clean).
import { assertEquals } from "./_assert.ts";
import { REPO } from "./_harness.ts";
import { importCycles, importGraph, layerViolations } from "../scripts/check_layers.ts";

Deno.test("layerViolations() flags upward imports and imports between handlers/ and server/", () => {
  const graph = new Map([
    ["src/http/request.ts", ["src/log.ts", "src/http/head_parser.ts"]],
    ["src/http/head_parser.ts", []],
    ["src/handlers/app.ts", ["src/http/request.ts", "src/server/metrics.ts"]],
    ["src/server/server.ts", ["src/handlers/app.ts", "src/startup.ts", "src/shared/quota.ts"]],
    ["src/shared/quota.ts", ["src/guard/trust_proxy.ts"]],
    ["src/assemble.ts", ["src/server/server.ts", "src/handlers/app.ts"]],
  ]);
  assertEquals(layerViolations(graph), [
    "src/handlers/app.ts (handlers) imports src/server/metrics.ts (server): sibling layers",
    "src/server/server.ts (server) imports src/handlers/app.ts (handlers): sibling layers",
    "src/server/server.ts (server) imports src/startup.ts (entry): upward",
    "src/shared/quota.ts (shared) imports src/guard/trust_proxy.ts (guard): upward",
  ]);
});

Deno.test("importCycles() finds each cycle once, however it is entered", () => {
  const graph = new Map([
    ["a.ts", ["b.ts"]],
    ["b.ts", ["c.ts", "a.ts"]],
    ["c.ts", ["b.ts"]],
    ["d.ts", ["a.ts"]],
  ]);
  assertEquals(importCycles(graph), [["a.ts", "b.ts", "a.ts"], ["b.ts", "c.ts", "b.ts"]]);
  assertEquals(importCycles(new Map([["a.ts", ["b.ts"]], ["b.ts", []]])), []);
});

Deno.test("bastion's own modules import downward only, with no cycle", async () => {
  const graph = await importGraph(REPO);
  assertEquals(graph.has("src/server/connection.ts"), true, "the graph holds the server");
  assertEquals(layerViolations(graph), []);
});
