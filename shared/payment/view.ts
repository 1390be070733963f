import type { Deps } from "../deps.js";
import { paymentStats, readProfile, readSettings } from "./settings.js";

/** The settings in force (a profile's, while one runs), the profile, and the simulator's counts. */
export async function paymentsView(deps: Pick<Deps, "redis" | "keys" | "cfg">) {
  const [settings, stats, profile] = await Promise.all([
    readSettings(deps),
    paymentStats(deps),
    readProfile(deps),
  ]);
  return {
    ...settings,
    ...stats,
    profile: profile
      ? {
          name: profile.name,
          until: new Date(profile.until).toISOString(),
          remaining_s: Math.ceil((profile.until - Date.now()) / 1000),
        }
      : null,
  };
}
