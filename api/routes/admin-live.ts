import { createRoute } from "@hono/zod-openapi";
import { paymentsView } from "../../shared/payment/view.js";
import { readSnapshot } from "../../shared/snapshot.js";
import type { ApiCtx } from "../context.js";
import { createLiveSampler, totals } from "../live.js";
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
    const [snap, payments, sums] = await Promise.all([
      readSnapshot(ctx.deps, ctx.queue, open ? [open.saleId] : []),
      paymentsView(ctx.deps),
      totals(ctx),
    ]);
    return c.json(
      {
        now: Date.now(),
        sale: snap.sales[0] ?? null,
        queue: snap.queue,
        slots: snap.slots,
        payments,
        totals: sums,
        history: sampler.history(),
      },
      200,
    );
  });
}
