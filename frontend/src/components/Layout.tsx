/**
 * The page frame: a skip link, the site header with the three pages' navigation, and the main
 * region. After a client-side navigation the new page's heading takes focus once the page is
 * shown (its code may still be loading when the path changes), so screen readers announce the
 * page the way a full page load would. The header says when the browser is offline and counts
 * the submissions queued on this device; a bar offers a new version of the app once one is ready.
 */

import { createContext, useContext, useEffect, useLayoutEffect, useRef, type ReactNode, type RefObject } from "react";
import { NavLink, useLocation } from "react-router";
import { useServices } from "../context";
import { useOfflineStatus } from "../offline/status";

const PAGES = [
  { to: "/", label: "Give feedback" },
  { to: "/browse", label: "Browse" },
  { to: "/analytics", label: "Analytics" },
];

/** Whether the path has changed since the app started: the first page keeps the focus where it is. */
const NavigatedContext = createContext<RefObject<boolean>>({ current: false });

export function Layout({ children }: { children: ReactNode }) {
  const { config } = useServices();
  const { offline, queued, update } = useOfflineStatus();
  const { pathname } = useLocation();
  const shown = useRef(pathname);
  const navigated = useRef(false);
  if (shown.current !== pathname) {
    shown.current = pathname;
    navigated.current = true;
  }

  return (
    <NavigatedContext.Provider value={navigated}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <div className="container header-row">
          <span className="brand">
            <span aria-hidden="true" className="brand-mark">
              ★
            </span>{" "}
            Feedback
          </span>
          <span className="header-badges">
            {offline ? (
              <span className="badge-offline" title="No connection: feedback sent now is queued on this device">
                Offline
              </span>
            ) : null}
            {queued > 0 ? (
              <span className="badge-queued" title="Saved on this device; sent when the connection returns">
                {queued} queued
              </span>
            ) : null}
            {config.stage && config.stage !== "prod" ? (
              <span className="stage" title="The stage this page talks to">
                {config.stage}
              </span>
            ) : null}
          </span>
        </div>
        <nav aria-label="Main" className="container">
          <ul className="nav-list">
            {PAGES.map((page) => (
              <li key={page.to}>
                <NavLink to={page.to} end className="nav-link">
                  {page.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      {update ? (
        <div className="update-bar" role="status">
          <p className="container">
            A new version is available —{" "}
            <button type="button" className="button small" onClick={update}>
              Reload
            </button>
          </p>
        </div>
      ) : null}
      <main id="main" className="container" tabIndex={-1}>
        {children}
      </main>
    </NavigatedContext.Provider>
  );
}

/**
 * Rendered beside a page, inside its Suspense boundary: focuses the heading once the page shows.
 * A layout effect runs in the same commit that reveals the page, so the heading never appears
 * without the focus (a passive effect after a Suspense reveal may run a task later).
 */
export function FocusOnArrival() {
  const navigated = useContext(NavigatedContext);
  useLayoutEffect(() => {
    if (navigated.current) document.querySelector<HTMLElement>("#main h1")?.focus();
  }, [navigated]);
  return null;
}

/** Sets the document title for the page being shown. */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Feedback`;
  }, [title]);
}
