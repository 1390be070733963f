import { Hono } from "hono";
import { z } from "zod";
import { AppError } from "../../shared/errors.js";
import { ticketId } from "../../shared/keys.js";
import { adjustStock } from "../../shared/sales/stock.js";
import { getItem } from "../../shared/sales/view.js";
import type { ApiCtx } from "../context.js";
import { idString, jsonBody, parse, requireJsonBody, saleIdString } from "../validation.js";
import { saleOfItem } from "./items.js";

const bodySchema = z
  .object({
    delta: z
      .number()
      .int()
      .min(-1_000_000)
      .max(1_000_000)
      .refine((d) => d !== 0, "must not be 0"),
    sale_id: saleIdString.optional(),
  })
  .strict();

export function adminStockRoutes(ctx: ApiCtx) {
  return new Hono().post("/admin/items/:item_id/stock", async (c) => {
    const itemId = parse(idString, c.req.param("item_id"), "item_id");
    const body = parse(bodySchema, requireJsonBody(await jsonBody(c)), "body");
    const saleId = body.sale_id ?? (await saleOfItem(ctx, itemId));
    const handed = await adjustStock(ctx.deps, saleId, itemId, body.delta);
    // Waiting tickets that got one of the new units are woken now.
    for (const seq of handed) {
      const job = await ctx.queue.getJob(ticketId(saleId, seq));
      await job?.promote().catch(() => {});
    }
    const item = await getItem(ctx.deps, saleId, itemId);
    if (!item) throw new AppError("item_not_found", `no item ${itemId} in sale ${saleId}`);
    return c.json(item);
  });
}
