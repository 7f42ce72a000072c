/**
 * The service worker's rules as pure functions: which files of a build make the app shell, the
 * build's version (a hash of those files) and the cache named after it, which caches an
 * activating worker deletes, and how each request is answered. The build (vite.config.ts) and
 * the worker (sw.ts) both use them; the tests check them without a browser.
 */

export const CACHE_PREFIX = "feedback-shell-";
export const SHELL_URL = "/index.html";
export const CONFIG_URL = "/config.json";
export const WORKER_URL = "/sw.js";

/** What a build's worker precaches, injected into sw.js when the app is built. */
export interface ShellManifest {
  /** The build's version: a hash of every precached file's name and content. */
  version: string;
  /** index.html's SHA-256 (hex): a worker refuses to install another build's index.html. */
  indexSha256: string;
  /** The hashed scripts and styles, as absolute paths ("/assets/index-abc123.js"). */
  assets: string[];
}

export interface BuiltFile {
  fileName: string;
  content: string | Uint8Array;
}

/** Whether a built file belongs to the shell: index.html and every script and style. */
export function isShellFile(fileName: string): boolean {
  return fileName === "index.html" || /^assets\/[^/]+\.(?:js|css)$/.test(fileName);
}

/**
 * The manifest of a build from its output files. The version changes when any shell file's
 * name or content does, and only then, whatever order the files come in.
 */
export function shellManifest(files: readonly BuiltFile[], sha256: (data: string | Uint8Array) => string): ShellManifest {
  const shell = files.filter((f) => isShellFile(f.fileName)).sort((a, b) => (a.fileName < b.fileName ? -1 : 1));
  const index = shell.find((f) => f.fileName === "index.html");
  if (!index) throw new Error("the build has no index.html");
  const listing = shell.map((f) => `${f.fileName}\0${sha256(f.content)}\n`).join("");
  return {
    version: sha256(listing).slice(0, 16),
    indexSha256: sha256(index.content),
    assets: shell.filter((f) => f !== index).map((f) => `/${f.fileName}`),
  };
}

/** The Cache Storage cache holding one build's shell. */
export function cacheName(version: string): string {
  return `${CACHE_PREFIX}${version}`;
}

/** The caches an activating worker of `version` deletes: every other build's, nothing else's. */
export function staleCaches(names: readonly string[], version: string): string[] {
  const current = cacheName(version);
  return names.filter((name) => name.startsWith(CACHE_PREFIX) && name !== current);
}

/** What the worker fetches into a new build's cache on install (config.json when reachable). */
export function precacheUrls(manifest: ShellManifest): string[] {
  return [SHELL_URL, ...manifest.assets];
}

/**
 * How the worker answers a request:
 * - `shell`: a page load inside the site, answered with the cached index.html (the routes are
 *   client-side), unless it is under the API's path (checked with the configuration, later);
 * - `precached`: one of this build's files, from the cache;
 * - `config`: config.json from the network, the last copy only when the network fails;
 * - `network`: left to the browser (the worker does not answer): the API and anything else.
 */
export type Strategy = "shell" | "precached" | "config" | "network";

export interface RequestFacts {
  url: string;
  method: string;
  mode: string;
}

export function strategyFor(request: RequestFacts, origin: string, precached: ReadonlySet<string>): Strategy {
  if (request.method !== "GET") return "network";
  const url = new URL(request.url);
  if (url.origin !== origin) return "network";
  if (request.mode === "navigate") return /\.[^/]*$/.test(url.pathname) ? "network" : "shell";
  if (url.pathname === CONFIG_URL) return "config";
  if (precached.has(url.pathname) && url.search === "") return "precached";
  return "network";
}

/** Whether `url` is under the API's base URL (config.json's apiBaseUrl, maybe relative). */
export function isApiUrl(url: string, apiBaseUrl: string | null | undefined, origin: string): boolean {
  if (!apiBaseUrl) return false;
  const target = new URL(url);
  const base = new URL(apiBaseUrl, origin);
  if (target.origin !== base.origin) return false;
  const prefix = base.pathname.replace(/\/+$/, "");
  return prefix === "" || target.pathname === prefix || target.pathname.startsWith(`${prefix}/`);
}
