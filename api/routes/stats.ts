import { createRoute, z } from "@hono/zod-openapi";
import { AppError } from "../../shared/errors.js";
import { acceptedCount, type SaleView } from "../../shared/sale/view.js";
import { readSnapshot } from "../../shared/snapshot.js";
import type { ApiCtx } from "../context.js";
import { errors, json, router } from "../openapi.js";
import { saleIdString } from "../schemas/common.js";
import { statsSchema } from "../schemas/ops.js";

// Throughput is measured over this window of samples.
const WINDOW_MS = 10_000;

interface Sample {
  at: number;
  sold: number;
  accepted: number;
}

const route = createRoute({
  method: "get",
  path: "/stats",
  tags: ["operators"],
  summary: "A sale's stock and throughput, every open sale's, the queue and the payment slots",
  description:
    "`sale` and `throughput` are those of `?sale_id=` if given, else of the current sale (the newest open one), as before several sales could be open; `sales` has each open sale with its own throughput (with `?sale_id=`, that sale alone). The queue and the payment slots are shared by every sale.",
  request: {
    query: z.object({ sale_id: saleIdString.optional().openapi({ description: "The sale to report." }) }),
  },
  responses: {
    200: json(statsSchema, "A snapshot; throughput is over the last 10 s of calls."),
    ...errors("invalid_request", "sale_not_found"),
  },
});

export function statsRoutes(ctx: ApiCtx) {
  // Per sale, the samples of the last WINDOW_MS (at least one); a sale not asked about for that long is dropped.
  const samples = new Map<string, Sample[]>();
  const throughputOf = (sale: SaleView, accepted: number, now: number) => {
    const list = samples.get(sale.sale_id) ?? [];
    samples.set(sale.sale_id, list);
    list.push({ at: now, sold: sale.stock.sold, accepted });
    while (list.length > 1 && (list[0] as Sample).at < now - WINDOW_MS) list.shift();
    const first = list[0] as Sample;
    if (now <= first.at) return { purchases_per_s: 0, accepted_per_s: 0 };
    const secs = (now - first.at) / 1000;
    return {
      purchases_per_s: Math.round((sale.stock.sold - first.sold) / secs),
      accepted_per_s: Math.round((accepted - first.accepted) / secs),
    };
  };

  return router().openapi(route, async (c) => {
    const { deps } = ctx;
    const { sale_id: asked } = c.req.valid("query");
    const ids = asked ? [asked] : (await ctx.directory.open()).map((s) => s.saleId);
    // Read side by side: each sale's accepted count with the snapshot, not after it.
    const [snap, accepted] = await Promise.all([
      readSnapshot(deps, ctx.queue, ids),
      Promise.all(ids.map(async (id) => [id, await acceptedCount(deps, id)] as const)),
    ]);
    if (asked && !snap.sales[0]) throw new AppError("sale_not_found", `no sale ${asked}`);
    const now = Date.now();
    const acceptedOf = new Map(accepted);
    const sales = snap.sales.map((sale) => ({
      sale,
      throughput: throughputOf(sale, acceptedOf.get(sale.sale_id) ?? 0, now),
    }));
    for (const [id, list] of samples)
      if ((list[list.length - 1] as Sample).at < now - WINDOW_MS) samples.delete(id);
    const [first] = sales;
    return c.json(
      {
        sale: first?.sale ?? null,
        queue: snap.queue,
        slots: snap.slots,
        throughput: first?.throughput ?? { purchases_per_s: 0, accepted_per_s: 0 },
        sales,
      },
      200,
    );
  });
}
