/**
 * The app's routes: `/` give feedback, `/browse`, `/analytics`; anything else is a friendly
 * not-found page (the host serves index.html for every unknown path).
 */

import { BrowserRouter, Link, Route, Routes } from "react-router";
import type { Api } from "./api";
import type { AppConfig } from "./config";
import { ServicesProvider } from "./context";
import { Layout, usePageTitle } from "./components/Layout";
import { AnalyticsPage } from "./pages/AnalyticsPage";
import { BrowsePage } from "./pages/BrowsePage";
import { SubmitPage } from "./pages/SubmitPage";

export function AppRoutes() {
  return (
    <Layout>
      <Routes>
        <Route path="/" element={<SubmitPage />} />
        <Route path="/browse" element={<BrowsePage />} />
        <Route path="/analytics" element={<AnalyticsPage />} />
        <Route path="*" element={<NotFound />} />
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
