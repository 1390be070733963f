import { Hono } from "hono";
import { AppError } from "../../shared/errors.js";
import { getItem, latestSaleWithItem } from "../../shared/sales/view.js";
import type { ApiCtx } from "../context.js";
import { idString, parse } from "../validation.js";

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

export function itemRoutes(ctx: ApiCtx) {
  return new Hono().get("/items/:item_id", async (c) => {
    const itemId = parse(idString, c.req.param("item_id"), "item_id");
    const item = await getItem(ctx.deps, await saleOfItem(ctx, itemId), itemId);
    if (!item) throw new AppError("item_not_found", `no item ${itemId} in any sale`);
    return c.json(item);
  });
}
