/**
 * Entry point: load /config.json (the stage's API URL and key), then start the app; when the
 * configuration cannot be loaded, say so instead of showing a blank page.
 */

import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createApi } from "./api";
import { App, preloadRoute } from "./App";
import { loadConfig } from "./config";
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
  });
