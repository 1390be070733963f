import { createRoute, z } from "@hono/zod-openapi";
import { ambiguous } from "../../shared/checkout/admit.js";
import { AppError } from "../../shared/errors.js";
import { getItem, latestSaleWithItem } from "../../shared/sales/view.js";
import type { ApiCtx } from "../context.js";
import { errors, json, router } from "../openapi.js";
import { itemSchema, saleIdString } from "../schemas/common.js";
import { itemParams } from "../schemas/sales.js";

/**
 * The sale an item id refers to now: the one open sale that has it, else the newest that
 * had it. Several open sales with the item are refused (sale_ambiguous), as at checkout.
 */
export async function saleOfItem(ctx: ApiCtx, itemId: string): Promise<string> {
  const open = await ctx.directory.withItem(await ctx.directory.open(), itemId);
  if (open.length > 1) throw ambiguous(itemId, open);
  if (open[0]) return open[0].saleId;
  const saleId =
    (await ctx.directory.anyWithItem(itemId))?.saleId ?? (await latestSaleWithItem(ctx.deps, itemId));
  if (!saleId) throw new AppError("item_not_found", `no item ${itemId} in any sale`);
  return saleId;
}

const route = createRoute({
  method: "get",
  path: "/items/{item_id}",
  tags: ["shoppers"],
  summary: "An item, in the sale asked for or the one open sale that has it (else the newest that had it)",
  description:
    "Without `sale_id`, an item id open in more than one sale is `409 sale_ambiguous`, naming them.",
  request: {
    params: itemParams,
    query: z.object({ sale_id: saleIdString.optional().openapi({ description: "The sale to look in." }) }),
  },
  responses: {
    200: json(itemSchema, "The item."),
    ...errors("invalid_request", "item_not_found", "sale_ambiguous"),
  },
});

export function itemRoutes(ctx: ApiCtx) {
  return router().openapi(route, async (c) => {
    const { item_id: itemId } = c.req.valid("param");
    const { sale_id: asked } = c.req.valid("query");
    const saleId = asked ?? (await saleOfItem(ctx, itemId));
    const item = await getItem(ctx.deps, saleId, itemId);
    if (!item)
      throw new AppError("item_not_found", `no item ${itemId} in ${asked ? `sale ${asked}` : "any sale"}`);
    return c.json(item, 200);
  });
}
