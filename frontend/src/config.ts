/**
 * Runtime configuration: /config.json, written next to index.html when a stage is deployed, names
 * the API's base URL, its key (if the stage uses one) and the stage. One build serves every stage.
 */

export interface AppConfig {
  apiBaseUrl: string;
  apiKey: string | null;
  stage: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Checks the shape of a parsed config.json; a relative apiBaseUrl is kept (same-origin API). */
export function parseConfig(raw: unknown): AppConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError("config.json must hold a JSON object");
  }
  const { apiBaseUrl, apiKey = null, stage = "" } = raw as Record<string, unknown>;
  if (typeof apiBaseUrl !== "string" || apiBaseUrl.trim() === "") {
    throw new ConfigError("config.json must name apiBaseUrl, the API's base URL");
  }
  if (apiKey !== null && typeof apiKey !== "string") {
    throw new ConfigError("config.json: apiKey must be a string or null");
  }
  if (typeof stage !== "string") throw new ConfigError("config.json: stage must be a string");
  return { apiBaseUrl: apiBaseUrl.trim().replace(/\/+$/, ""), apiKey: apiKey || null, stage };
}

/** Fetches and checks /config.json; never cached, so a redeploy takes effect on the next load. */
export async function loadConfig(fetchImpl: typeof fetch = fetch, url = "/config.json"): Promise<AppConfig> {
  let response: Response;
  try {
    response = await fetchImpl(url, { cache: "no-store", headers: { Accept: "application/json" } });
  } catch {
    throw new ConfigError(`could not fetch ${url}: the site is unreachable`);
  }
  if (!response.ok) throw new ConfigError(`could not load ${url} (HTTP ${response.status})`);
  let raw: unknown;
  try {
    raw = await response.json();
  } catch {
    throw new ConfigError(`${url} is not valid JSON`);
  }
  return parseConfig(raw);
}
