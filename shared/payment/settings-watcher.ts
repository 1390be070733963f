import type { Deps } from "../deps.js";
import { defaultSettings, readSettings } from "./settings.js";
import type { PaymentSettings } from "./settings-shape.js";

// Re-read often enough that a PUT /admin/payments reaches every worker within a second.
const POLL_MS = 250;

/** Keeps a fresh copy of the payment settings in this process. */
export function watchSettings(deps: Deps) {
  let current: PaymentSettings = defaultSettings(deps.cfg);
  const refresh = async () => {
    try {
      current = await readSettings(deps);
    } catch (err) {
      deps.log.warn({ err: String(err) }, "could not read payment settings; keeping the last ones");
    }
  };
  const timer = setInterval(refresh, POLL_MS);
  timer.unref();
  return {
    ready: refresh(),
    get: () => current,
    stop: () => clearInterval(timer),
  };
}

export type SettingsWatcher = ReturnType<typeof watchSettings>;
