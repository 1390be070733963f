import { z } from "zod";
import type { PaymentSettingsPatch } from "./settings-shape.js";

// Named fault profiles a tester switches to for a while; when the time is up the
// settings underneath apply again, with no one needing to switch back.
export const PROFILES = {
  healthy: { failure_rate: 0, hang_rate: 0, latency_ms: { min: 10, max: 50 } },
  // The classic flash-sale demo: one payment in 45 goes through.
  flaky: { failure_rate: 44 / 45, hang_rate: 0 },
  slow: { failure_rate: 0, hang_rate: 0, latency_ms: { min: 500, max: 2000 } },
  // The provider stops answering: every payment hangs until its timeout.
  outage: { hang_rate: 1 },
} satisfies Record<string, PaymentSettingsPatch>;

export type ProfileName = keyof typeof PROFILES;
export const PROFILE_NAMES = Object.keys(PROFILES) as [ProfileName, ...ProfileName[]];

export const profileRequest = z
  .object({
    name: z.enum(PROFILE_NAMES).nullable(),
    duration_s: z.number().int().min(1).max(86_400).default(60),
  })
  .strict();

export interface ActiveProfile {
  name: ProfileName;
  until: number;
}

export function parseActiveProfile(raw: string | undefined, now = Date.now()): ActiveProfile | null {
  if (!raw) return null;
  try {
    const p = JSON.parse(raw) as ActiveProfile;
    return p.until > now && p.name in PROFILES ? p : null;
  } catch {
    return null;
  }
}
