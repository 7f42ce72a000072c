/**
 * Build and test configuration. `npm run build` writes dist/ (hashed files under assets/, which
 * the deploy caches for a year; index.html and config.json are served no-cache). The dev server
 * proxies the local platform's API (`/local/...` on 127.0.0.1:8000), as config.json points there.
 */

import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [react()],
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
