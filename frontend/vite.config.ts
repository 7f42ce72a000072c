/**
 * Build and test configuration. `npm run build` writes dist/ (hashed files under assets/, which
 * the deploy caches for a year; index.html, config.json and sw.js are served no-cache) and the
 * service worker dist/sw.js: src/offline/sw.ts bundled on its own with the build's shell
 * manifest (its files and version, src/offline/shell.ts). The dev server proxies the local
 * platform's API (`/local/...` on 127.0.0.1:8000), as config.json points there.
 */

import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { build, type Plugin } from "vite";
import { defineConfig } from "vitest/config";
import { shellManifest, WORKER_URL } from "./src/offline/shell.js";

const WORKER_SOURCE = fileURLToPath(new URL("./src/offline/sw.ts", import.meta.url));

const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

/** Emits sw.js after the app's files are final, with their manifest compiled in. */
function serviceWorker(): Plugin {
  return {
    name: "feedbackctl:service-worker",
    apply: "build",
    enforce: "post",
    generateBundle: {
      order: "post",
      async handler(_options, bundle) {
        const files = Object.values(bundle).map((out) => ({
          fileName: out.fileName,
          content: out.type === "chunk" ? out.code : out.source,
        }));
        const manifest = shellManifest(files, sha256);
        const result = await build({
          configFile: false,
          publicDir: false,
          logLevel: "warn",
          define: { __SHELL_MANIFEST__: JSON.stringify(manifest) },
          build: {
            write: false,
            target: "es2022",
            minify: true,
            lib: { entry: WORKER_SOURCE, formats: ["iife"], name: "feedbackWorker", fileName: () => "sw.js" },
          },
        });
        const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) => ("output" in r ? r.output : []));
        const code = outputs.find((o) => o.type === "chunk")?.code;
        if (!code) throw new Error("the service worker build produced no script");
        this.emitFile({ type: "asset", fileName: WORKER_URL.slice(1), source: code });
      },
    },
  };
}

export default defineConfig({
  plugins: [react(), serviceWorker()],
  build: {
    target: "es2022",
    assetsDir: "assets",
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    host: "127.0.0.1",
    port: 5173,
    strictPort: true,
    proxy: { "/local": "http://127.0.0.1:8000" },
  },
  preview: { host: "127.0.0.1", port: 4173 },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    css: false,
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
