import { createRoute } from "@hono/zod-openapi";
import { AppError } from "../../shared/errors.js";
import { getItem, latestSaleWithItem } from "../../shared/sales/view.js";
import type { ApiCtx } from "../context.js";
import { errors, json, router } from "../openapi.js";
import { itemSchema } from "../schemas/common.js";
import { itemParams } from "../schemas/sales.js";

/** The sale an item id refers to now: the newest open sale that has it, else the newest that had it. */
export async function saleOfItem(ctx: ApiCtx, itemId: string): Promise<string> {
  const inRedis = await ctx.directory.anyWithItem(itemId);
  const open = (await ctx.directory.open()).map((s) => s.saleId);
  if (inRedis && open.includes(inRedis.saleId)) return inRedis.saleId;
  for (const saleId of open) {
    if ((await ctx.deps.redis.exists(ctx.deps.keys.item(saleId, itemId))) === 1) return saleId;
  }
  const saleId = inRedis?.saleId ?? (await latestSaleWithItem(ctx.deps, itemId));
  if (!saleId) throw new AppError("item_not_found", `no item ${itemId} in any sale`);
  return saleId;
}

const route = createRoute({
  method: "get",
  path: "/items/{item_id}",
  tags: ["shoppers"],
  summary: "An item, in the newest open sale that has it (else the newest that had it)",
  request: { params: itemParams },
  responses: { 200: json(itemSchema, "The item."), ...errors("invalid_request", "item_not_found") },
});

export function itemRoutes(ctx: ApiCtx) {
  return router().openapi(route, async (c) => {
    const { item_id: itemId } = c.req.valid("param");
    const item = await getItem(ctx.deps, await saleOfItem(ctx, itemId), itemId);
    if (!item) throw new AppError("item_not_found", `no item ${itemId} in any sale`);
    return c.json(item, 200);
  });
}
