/**
 * What every page reads from the app: the API client and the runtime configuration. Tests
 * provide a fake Api through the same context.
 */

import { createContext, useContext, useMemo, type ReactNode } from "react";
import type { Api } from "./api";
import type { AppConfig } from "./config";

interface AppServices {
  api: Api;
  config: AppConfig;
}

const ServicesContext = createContext<AppServices | null>(null);

export function ServicesProvider({ api, config, children }: AppServices & { children: ReactNode }) {
  const value = useMemo(() => ({ api, config }), [api, config]);
  return <ServicesContext.Provider value={value}>{children}</ServicesContext.Provider>;
}

export function useServices(): AppServices {
  const services = useContext(ServicesContext);
  if (services === null) throw new Error("useServices() outside <ServicesProvider>");
  return services;
}

export function useApi(): Api {
  return useServices().api;
}
