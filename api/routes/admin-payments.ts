import { Hono } from "hono";
import { profileRequest } from "../../shared/payments/profiles.js";
import {
  paymentSettingsPatch,
  paymentStats,
  readProfile,
  readSettings,
  setProfile,
  updateSettings,
} from "../../shared/payments/settings.js";
import type { ApiCtx } from "../context.js";
import { jsonBody, parse, requireJsonBody } from "../validation.js";

/** The settings in force (a profile's, while one runs), the profile, and the simulator's counts. */
export async function paymentsView(ctx: ApiCtx) {
  const [settings, stats, profile] = await Promise.all([
    readSettings(ctx.deps),
    paymentStats(ctx.deps),
    readProfile(ctx.deps),
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

export function adminPaymentRoutes(ctx: ApiCtx) {
  return new Hono()
    .get("/admin/payments", async (c) => c.json(await paymentsView(ctx)))
    .put("/admin/payments", async (c) => {
      const patch = parse(paymentSettingsPatch, requireJsonBody(await jsonBody(c)), "body");
      await updateSettings(ctx.deps, patch);
      return c.json(await paymentsView(ctx));
    })
    .put("/admin/payments/profile", async (c) => {
      const body = parse(profileRequest, requireJsonBody(await jsonBody(c)), "body");
      await setProfile(ctx.deps, body.name, body.duration_s);
      return c.json(await paymentsView(ctx));
    });
}
