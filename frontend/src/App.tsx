/**
 * The app's routes: `/` give feedback, `/browse`, `/analytics`; anything else is a friendly
 * not-found page (the host serves index.html for every unknown path). Each page is its own
 * chunk, loaded when its route is first shown, so giving feedback never downloads the browse
 * list or the charts (the sizes are held by scripts/bundle-budget.mjs).
 */

import { lazy, Suspense, type ComponentType, type ReactNode } from "react";
import { BrowserRouter, Link, Route, Routes } from "react-router";
import type { Api } from "./api";
import type { AppConfig } from "./config";
import { ServicesProvider } from "./context";
import { FocusOnArrival, Layout, usePageTitle } from "./components/Layout";
import { Loading } from "./components/Status";

/** The page modules by path; calling a loader again returns the module already loaded. */
const LOADERS: Record<string, () => Promise<{ default: ComponentType }>> = {
  "/": () => import("./pages/SubmitPage").then((m) => ({ default: m.SubmitPage })),
  "/browse": () => import("./pages/BrowsePage").then((m) => ({ default: m.BrowsePage })),
  "/analytics": () => import("./pages/AnalyticsPage").then((m) => ({ default: m.AnalyticsPage })),
};

const PAGES = Object.entries(LOADERS).map(([path, load]) => ({ path, Page: lazy(load) }));

/** Starts downloading the page at `pathname` (while the configuration loads, say). */
export function preloadRoute(pathname: string): void {
  const load = LOADERS[pathname.replace(/(.)\/+$/, "$1")];
  if (load) void load().catch(() => undefined); // a failed download is retried when rendered
}

/** A page inside its Suspense boundary; keyed by path, so each page arrives afresh. */
function Arrive({ children }: { children: ReactNode }) {
  return (
    <Suspense fallback={<Loading label="Loading the page…" />}>
      <FocusOnArrival />
      {children}
    </Suspense>
  );
}

export function AppRoutes() {
  return (
    <Layout>
      <Routes>
        {PAGES.map(({ path, Page }) => (
          <Route
            key={path}
            path={path}
            element={
              <Arrive key={path}>
                <Page />
              </Arrive>
            }
          />
        ))}
        <Route
          path="*"
          element={
            <Arrive key="*">
              <NotFound />
            </Arrive>
          }
        />
      </Routes>
    </Layout>
  );
}

export function App({ api, config }: { api: Api; config: AppConfig }) {
  return (
    <ServicesProvider api={api} config={config}>
      <BrowserRouter>
        <AppRoutes />
      </BrowserRouter>
    </ServicesProvider>
  );
}

function NotFound() {
  usePageTitle("Not found");
  return (
    <section aria-labelledby="nf-title">
      <h1 id="nf-title" tabIndex={-1}>
        Page not found
      </h1>
      <p>
        There is nothing here. <Link to="/">Give feedback</Link> or <Link to="/browse">browse it</Link>.
      </p>
    </section>
  );
}
