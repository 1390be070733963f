import { Hono } from "hono";
import {
  paymentSettingsPatch,
  paymentStats,
  readSettings,
  updateSettings,
} from "../../shared/payments/settings.js";
import type { ApiCtx } from "../context.js";
import { jsonBody, parse, requireJsonBody } from "../validation.js";

export function adminPaymentRoutes(ctx: ApiCtx) {
  const view = async () => ({ ...(await readSettings(ctx.deps)), ...(await paymentStats(ctx.deps)) });
  return new Hono()
    .get("/admin/payments", async (c) => c.json(await view()))
    .put("/admin/payments", async (c) => {
      const patch = parse(paymentSettingsPatch, requireJsonBody(await jsonBody(c)), "body");
      await updateSettings(ctx.deps, patch);
      return c.json(await view());
    });
}
