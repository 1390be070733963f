import { createRoute } from "@hono/zod-openapi";
import { paymentStats, readSettings } from "../../shared/payments/settings.js";
import { getSale } from "../../shared/sales/view.js";
import type { ApiCtx } from "../context.js";
import { jobCounts } from "../live.js";
import { json, router } from "../openapi.js";
import { statsSchema } from "../schemas/ops.js";

// Throughput is measured over this window of samples.
const WINDOW_MS = 10_000;

interface Sample {
  at: number;
  saleId: string;
  sold: number;
  accepted: number;
}

const route = createRoute({
  method: "get",
  path: "/stats",
  tags: ["operators"],
  summary: "The current sale's stock, the queue, the payment slots and throughput",
  responses: { 200: json(statsSchema, "A snapshot; throughput is over the last 10 s of calls.") },
});

export function statsRoutes(ctx: ApiCtx) {
  const samples: Sample[] = [];
  return router().openapi(route, async (c) => {
    const { deps } = ctx;
    const [open] = await ctx.directory.open();
    const [sale, counts, settings, payments, held] = await Promise.all([
      open ? getSale(deps, open.saleId) : null,
      jobCounts(ctx.queue),
      readSettings(deps),
      paymentStats(deps),
      deps.redis.zcount(deps.keys.slots, Date.now(), "+inf"),
    ]);
    const now = Date.now();
    let throughput = { purchases_per_s: 0, accepted_per_s: 0 };
    if (sale) {
      const accepted = Number((await deps.redis.hget(deps.keys.sale(sale.sale_id), "tseq")) ?? 0);
      samples.push({ at: now, saleId: sale.sale_id, sold: sale.stock.sold, accepted });
      while (samples.length > 1 && (samples[0] as Sample).at < now - WINDOW_MS) samples.shift();
      const first = samples.find((s) => s.saleId === sale.sale_id);
      if (first && now > first.at) {
        const secs = (now - first.at) / 1000;
        throughput = {
          purchases_per_s: Math.round((sale.stock.sold - first.sold) / secs),
          accepted_per_s: Math.round((accepted - first.accepted) / secs),
        };
      }
    }
    return c.json(
      {
        sale,
        queue: counts,
        slots: { slots: settings.slots, held, ...payments },
        throughput,
      },
      200,
    );
  });
}
