import { createRoute } from "@hono/zod-openapi";
import { paymentStats, readSettings } from "../../shared/payments/settings.js";
import { slotsHeld } from "../../shared/payments/slots.js";
import { paymentsView } from "../../shared/payments/view.js";
import { getSale } from "../../shared/sales/view.js";
import type { ApiCtx } from "../context.js";
import { createLiveSampler, jobCounts, totals } from "../live.js";
import { adminSecurity, errors, json, router } from "../openapi.js";
import { liveSchema } from "../schemas/admin.js";

const route = createRoute({
  method: "get",
  path: "/admin/live",
  tags: ["admin"],
  security: adminSecurity,
  summary: "Everything the live sale page shows, in one answer",
  responses: {
    200: json(liveSchema, "A snapshot and the last minutes' samples."),
    ...errors("unauthorized"),
  },
});

export function adminLiveRoutes(ctx: ApiCtx) {
  const sampler = createLiveSampler(ctx);
  return router().openapi(route, async (c) => {
    const [open] = await ctx.directory.open();
    const [sale, queue, settings, stats, held, payments, sums] = await Promise.all([
      open ? getSale(ctx.deps, open.saleId) : null,
      jobCounts(ctx.queue),
      readSettings(ctx.deps),
      paymentStats(ctx.deps),
      slotsHeld(ctx.deps),
      paymentsView(ctx.deps),
      totals(ctx),
    ]);
    return c.json(
      {
        now: Date.now(),
        sale,
        queue,
        slots: { slots: settings.slots, held, ...stats },
        payments,
        totals: sums,
        history: sampler.history(),
      },
      200,
    );
  });
}
