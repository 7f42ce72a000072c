/**
 * The page frame: a skip link, the site header with the three pages' navigation, and the main
 * region. After a client-side navigation the new page's heading takes focus once the page is
 * shown (its code may still be loading when the path changes), so screen readers announce the
 * page the way a full page load would.
 */

import { createContext, useContext, useEffect, useRef, type ReactNode, type RefObject } from "react";
import { NavLink, useLocation } from "react-router";
import { useServices } from "../context";

const PAGES = [
  { to: "/", label: "Give feedback" },
  { to: "/browse", label: "Browse" },
  { to: "/analytics", label: "Analytics" },
];

/** Whether the path has changed since the app started: the first page keeps the focus where it is. */
const NavigatedContext = createContext<RefObject<boolean>>({ current: false });

export function Layout({ children }: { children: ReactNode }) {
  const { config } = useServices();
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
          {config.stage && config.stage !== "prod" ? (
            <span className="stage" title="The stage this page talks to">
              {config.stage}
            </span>
          ) : null}
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
      <main id="main" className="container" tabIndex={-1}>
        {children}
      </main>
    </NavigatedContext.Provider>
  );
}

/** Rendered beside a page, inside its Suspense boundary: focuses the heading once the page shows. */
export function FocusOnArrival() {
  const navigated = useContext(NavigatedContext);
  useEffect(() => {
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
