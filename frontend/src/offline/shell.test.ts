/**
 * The service worker's rules: a build's manifest and version, the cache named after it, the
 * caches an activating worker deletes, and how each request is answered.
 */

import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  cacheName,
  isApiUrl,
  precacheUrls,
  shellManifest,
  staleCaches,
  strategyFor,
  type BuiltFile,
  type RequestFacts,
} from "./shell";

const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

const BUILD: BuiltFile[] = [
  { fileName: "index.html", content: '<script src="/assets/index-a1.js"></script>' },
  { fileName: "assets/index-a1.js", content: "console.log('app')" },
  { fileName: "assets/SubmitPage-b2.js", content: "export const page = 1" },
  { fileName: "assets/index-c3.css", content: new TextEncoder().encode("body{}") },
  { fileName: "config.json", content: '{"apiBaseUrl":"/local"}' },
  { fileName: "assets/logo-d4.svg", content: "<svg/>" },
];

describe("shellManifest", () => {
  it("lists the build's scripts and styles and fingerprints index.html", () => {
    const manifest = shellManifest(BUILD, sha256);
    expect(manifest.assets).toEqual(["/assets/SubmitPage-b2.js", "/assets/index-a1.js", "/assets/index-c3.css"]);
    expect(manifest.indexSha256).toBe(sha256(BUILD[0].content));
    expect(manifest.version).toMatch(/^[0-9a-f]{16}$/);
    expect(precacheUrls(manifest)).toEqual(["/index.html", ...manifest.assets]);
  });

  it("keeps the version while the shell is the same, whatever the order or the other files", () => {
    const version = shellManifest(BUILD, sha256).version;
    expect(shellManifest([...BUILD].reverse(), sha256).version).toBe(version);
    const otherConfig = BUILD.map((f) => (f.fileName === "config.json" ? { ...f, content: "{}" } : f));
    expect(shellManifest(otherConfig, sha256).version).toBe(version);
  });

  it("changes the version when a shell file's content or name changes", () => {
    const version = shellManifest(BUILD, sha256).version;
    const editedIndex = BUILD.map((f) => (f.fileName === "index.html" ? { ...f, content: "<p>new</p>" } : f));
    const renamed = BUILD.map((f) => (f.fileName === "assets/index-a1.js" ? { ...f, fileName: "assets/index-e5.js" } : f));
    const versions = new Set([version, shellManifest(editedIndex, sha256).version, shellManifest(renamed, sha256).version]);
    expect(versions.size).toBe(3);
  });

  it("refuses a build without index.html", () => {
    expect(() => shellManifest(BUILD.slice(1), sha256)).toThrow("no index.html");
  });
});

describe("caches", () => {
  it("names a build's cache after its version", () => {
    expect(cacheName("0123456789abcdef")).toBe("feedback-shell-0123456789abcdef");
  });

  it("deletes on activate every other build's cache and nothing that is not the shell's", () => {
    const names = ["feedback-shell-old1", "other-app-cache", "feedback-shell-new2", "feedback-shell-old3"];
    expect(staleCaches(names, "new2")).toEqual(["feedback-shell-old1", "feedback-shell-old3"]);
    expect(staleCaches(["feedback-shell-new2"], "new2")).toEqual([]);
  });
});

describe("strategyFor", () => {
  const origin = "https://feedback.example.com";
  const precached = new Set(["/index.html", "/assets/index-a1.js"]);
  const get = (path: string, mode = "cors"): RequestFacts => ({ url: `${origin}${path}`, method: "GET", mode });

  it("answers page loads with the shell, except for files", () => {
    expect(strategyFor(get("/", "navigate"), origin, precached)).toBe("shell");
    expect(strategyFor(get("/browse?rating=5", "navigate"), origin, precached)).toBe("shell");
    expect(strategyFor(get("/config.json", "navigate"), origin, precached)).toBe("network");
  });

  it("answers the build's files from the cache and config.json from the network first", () => {
    expect(strategyFor(get("/assets/index-a1.js"), origin, precached)).toBe("precached");
    expect(strategyFor(get("/config.json"), origin, precached)).toBe("config");
  });

  it("leaves the API, other origins, writes and unknown files to the network", () => {
    expect(strategyFor(get("/local/feedback?limit=10"), origin, precached)).toBe("network");
    expect(strategyFor({ ...get("/local/feedback"), method: "POST" }, origin, precached)).toBe("network");
    expect(strategyFor({ ...get("/config.json"), method: "POST" }, origin, precached)).toBe("network");
    const api = { url: "https://abc.execute-api.eu-west-1.amazonaws.com/prod/analytics", method: "GET", mode: "cors" };
    expect(strategyFor(api, origin, precached)).toBe("network");
    expect(strategyFor(get("/assets/index-a1.js?v=2"), origin, precached)).toBe("network");
    expect(strategyFor(get("/assets/AnalyticsPage-old.js"), origin, precached)).toBe("network");
  });

  it("tells the API's paths from the site's", () => {
    expect(isApiUrl(`${origin}/local/health`, "/local", origin)).toBe(true);
    expect(isApiUrl(`${origin}/local`, `${origin}/local/`, origin)).toBe(true);
    expect(isApiUrl(`${origin}/localities`, "/local", origin)).toBe(false);
    expect(isApiUrl(`${origin}/browse`, "https://abc.execute-api.eu-west-1.amazonaws.com/prod", origin)).toBe(false);
    expect(isApiUrl(`${origin}/browse`, null, origin)).toBe(false);
  });
});
