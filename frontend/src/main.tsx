/**
 * Entry point: load /config.json (the stage's API URL and key), then start the app; when the
 * configuration cannot be loaded, say so instead of showing a blank page. The offline support
 * (service worker, queued submissions, update prompt) is loaded after, in its own chunk.
 */

import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createApi } from "./api";
import { App, preloadRoute } from "./App";
import { loadConfig } from "./config";
import { setOfflineStatus } from "./offline/status";
import "./styles.css";

const root = createRoot(document.getElementById("root")!);
preloadRoute(window.location.pathname);

loadConfig()
  .then((config) => {
    root.render(
      <StrictMode>
        <App api={createApi(config)} config={config} />
      </StrictMode>,
    );
  })
  .catch((error: unknown) => {
    root.render(
      <main id="main" className="container">
        <div className="state state-error" role="alert">
          <p className="state-title">This site is not configured</p>
          <p>{error instanceof Error ? error.message : String(error)}</p>
          <p>Reload the page; if this persists, the deployment is missing its config.json.</p>
        </div>
      </main>,
    );
  })
  .finally(() => {
    void import("./offline/start")
      .then(({ startOffline }) => startOffline({ report: setOfflineStatus, worker: import.meta.env.PROD }))
      .catch((error: unknown) => console.warn("offline support is unavailable:", error)); // the app works online
  });
