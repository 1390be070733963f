import { createRoute } from "@hono/zod-openapi";
import { profileRequest } from "../../shared/payment/profiles.js";
import { setProfile, updateSettings } from "../../shared/payment/settings.js";
import { paymentSettingsPatch } from "../../shared/payment/settings-shape.js";
import { paymentsView } from "../../shared/payment/view.js";
import type { ApiCtx } from "../context.js";
import { adminSecurity, errors, json, router } from "../openapi.js";
import { paymentsView as paymentsSchema } from "../schemas/admin.js";
import { jsonRequired } from "../validation.js";

const common = { tags: ["admin"], security: adminSecurity };
const body = <S extends typeof paymentSettingsPatch | typeof profileRequest>(schema: S) => ({
  required: true,
  content: { "application/json": { schema } },
});

const read = createRoute({
  ...common,
  method: "get",
  path: "/admin/payments",
  summary: "The payment simulator and the slot count",
  responses: { 200: json(paymentsSchema, "In force now."), ...errors("unauthorized") },
});

const change = createRoute({
  ...common,
  method: "put",
  path: "/admin/payments",
  summary: "Change the payment simulator or the slot count",
  description:
    "Only the fields sent change; every worker follows within a second. Ends any fault profile in force and starts a new `peak_in_flight`.",
  middleware: jsonRequired,
  request: { body: body(paymentSettingsPatch) },
  responses: {
    200: json(paymentsSchema, "In force now."),
    ...errors("invalid_request", "unauthorized", "unsupported_media_type"),
  },
});

const profile = createRoute({
  ...common,
  method: "put",
  path: "/admin/payments/profile",
  summary: "Switch to a named fault profile for a while",
  description: "`healthy`, `flaky`, `slow` or `outage` for `duration_s`; `name: null` ends the one in force.",
  middleware: jsonRequired,
  request: { body: body(profileRequest) },
  responses: {
    200: json(paymentsSchema, "In force now."),
    ...errors("invalid_request", "unauthorized", "unsupported_media_type"),
  },
});

export function adminPaymentRoutes(ctx: ApiCtx) {
  return router()
    .openapi(read, async (c) => c.json(await paymentsView(ctx.deps), 200))
    .openapi(change, async (c) => {
      await updateSettings(ctx.deps, c.req.valid("json"));
      return c.json(await paymentsView(ctx.deps), 200);
    })
    .openapi(profile, async (c) => {
      const { name, duration_s } = c.req.valid("json");
      await setProfile(ctx.deps, name, duration_s);
      return c.json(await paymentsView(ctx.deps), 200);
    });
}
