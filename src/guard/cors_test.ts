import { assertEquals } from "../../tests/_assert.ts";
import { CorsPolicy } from "./cors.ts";

Deno.test("CorsPolicy.headers() allows only the configured origin and varies on Origin", () => {
  const cors = new CorsPolicy("https://app.example");
  assertEquals(cors.headers([["origin", "https://app.example"]], "GET"), [
    ["Access-Control-Allow-Origin", "https://app.example"],
    ["Vary", "Origin"],
  ]);
  assertEquals(cors.headers([["origin", "https://evil.example"]], "GET"), [["Vary", "Origin"]]);
  assertEquals(cors.headers([], "GET"), [["Vary", "Origin"]]);
});

Deno.test("CorsPolicy.preflight() answers for allowed methods of the resource only", () => {
  const cors = new CorsPolicy("*");
  const ask = (method: string): [string, string][] => [
    ["origin", "https://a.example"],
    ["access-control-request-method", method],
  ];
  assertEquals(cors.preflight(ask("POST"), "POST, OPTIONS")[1], [
    "Access-Control-Allow-Methods",
    "POST",
  ]);
  assertEquals(cors.preflight(ask("GET"), "POST, OPTIONS"), []);
  assertEquals(cors.preflight(ask("PUT"), "GET, HEAD, OPTIONS"), []);
  assertEquals(cors.preflight(ask("GET"), "GET, HEAD, OPTIONS")[0], [
    "Access-Control-Allow-Origin",
    "*",
  ]);
  assertEquals(CorsPolicy.isPreflight("OPTIONS", ask("GET")), true);
  assertEquals(CorsPolicy.isPreflight("OPTIONS", [["origin", "x"]]), false);
});
