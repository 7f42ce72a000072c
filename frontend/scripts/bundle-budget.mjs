#!/usr/bin/env node
/**
 * The per-route bundle budget: builds the app in memory (nothing written to dist/), measures what
 * each route's first load downloads (the entry chunk, the route's own chunk and every chunk they
 * import statically, plus the CSS), gzip -9 as the docs state it, and fails when a route exceeds
 * its budget in bundle-budget.json or loads a module that budget forbids it.
 *
 *   node scripts/bundle-budget.mjs          # `npm test` runs it after vitest; `npm run size`
 */

import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "vite";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const budget = JSON.parse(readFileSync(resolve(root, "bundle-budget.json"), "utf8"));

const result = await build({ root, logLevel: "warn", build: { write: false } });
const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) => r.output);
const byName = new Map(outputs.map((o) => [o.fileName, o]));
const gzipped = (source) => gzipSync(typeof source === "string" ? Buffer.from(source) : source, { level: 9 }).length;
const source = (id) => relative(root, id).split("\\").join("/");

/** A chunk and every chunk it imports statically (what the browser fetches before running it). */
function closure(chunk, seen = new Set()) {
  if (seen.has(chunk.fileName)) return seen;
  seen.add(chunk.fileName);
  for (const name of chunk.imports) closure(byName.get(name), seen);
  return seen;
}

const chunks = outputs.filter((o) => o.type === "chunk");
const entry = chunks.find((c) => c.isEntry);
let failed = false;
const rows = [];
for (const [path, rule] of Object.entries(budget.routes)) {
  const page = chunks.find((c) => c.facadeModuleId && source(c.facadeModuleId) === rule.module);
  if (!page) {
    console.error(`bundle-budget: no chunk is built from ${rule.module} (route ${path})`);
    failed = true;
    continue;
  }
  const files = closure(page, closure(entry));
  const loaded = [...files].map((name) => byName.get(name));
  const css = new Set(loaded.flatMap((c) => [...(c.viteMetadata?.importedCss ?? [])]));
  const js = loaded.reduce((sum, c) => sum + gzipped(c.code), 0);
  const styles = [...css].reduce((sum, name) => sum + gzipped(byName.get(name).source), 0);
  const modules = new Set(loaded.flatMap((c) => c.moduleIds.map(source)));
  const forbidden = (rule.forbid ?? []).filter((m) => modules.has(m));
  const over = js > rule.maxJsGzipBytes;
  failed ||= over || forbidden.length > 0;
  rows.push({ path, js, styles, limit: rule.maxJsGzipBytes, chunks: [...files].join(" "), over, forbidden });
}

const kb = (bytes) => `${(bytes / 1000).toFixed(1)} kB`;
console.log("route        JS gzip   budget    CSS gzip  chunks");
for (const r of rows) {
  const flag = r.over ? "  OVER BUDGET" : "";
  console.log(`${r.path.padEnd(12)} ${kb(r.js).padStart(8)}  ${kb(r.limit).padStart(8)}  ${kb(r.styles).padStart(8)}  ${r.chunks}${flag}`);
  if (r.forbidden.length > 0) console.log(`  loads what it must not: ${r.forbidden.join(", ")}`);
}
if (failed) {
  console.error("bundle-budget: a route is over its budget or loads code it must not (bundle-budget.json)");
  process.exit(1);
}
