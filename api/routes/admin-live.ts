import { Hono } from "hono";
import { paymentStats, readSettings } from "../../shared/payments/settings.js";
import { getSale } from "../../shared/sales/view.js";
import type { ApiCtx } from "../context.js";
import { createLiveSampler, totals } from "../live.js";
import { paymentsView } from "./admin-payments.js";

/** Everything the live sale page shows, in one answer. */
export function adminLiveRoutes(ctx: ApiCtx) {
  const sampler = createLiveSampler(ctx);
  return new Hono().get("/admin/live", async (c) => {
    const [open] = await ctx.directory.open();
    const [sale, queue, settings, stats, held, payments, sums] = await Promise.all([
      open ? getSale(ctx.deps, open.saleId) : null,
      ctx.queue.getJobCounts("waiting", "active", "delayed", "completed", "failed"),
      readSettings(ctx.deps),
      paymentStats(ctx.deps),
      ctx.deps.redis.zcount(ctx.deps.keys.slots, Date.now(), "+inf"),
      paymentsView(ctx),
      totals(ctx),
    ]);
    return c.json({
      now: Date.now(),
      sale,
      queue,
      slots: { slots: settings.slots, held, ...stats },
      payments,
      totals: sums,
      history: sampler.history(),
    });
  });
}
