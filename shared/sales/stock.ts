import { and, eq, sql } from "drizzle-orm";
import { items } from "../db/schema.js";
import type { Deps } from "../deps.js";
import { AppError } from "../errors.js";

/**
 * Adds or removes units of an item. Removal is decided in Redis first, where
 * reservations happen, then recorded in PostgreSQL; an addition is recorded in
 * PostgreSQL first, so PostgreSQL's stock is never below what Redis may sell.
 * Returns the ticket seqs of waiting tickets that were handed a new unit.
 */
export async function adjustStock(
  deps: Deps,
  saleId: string,
  itemId: string,
  delta: number,
): Promise<string[]> {
  const { db, redis, keys } = deps;
  const where = and(eq(items.saleId, Number(saleId)), eq(items.itemId, itemId));
  const runRedis = async (d: number) =>
    (await redis.run(
      "adjustStock",
      [
        keys.sale(saleId),
        keys.item(saleId, itemId),
        keys.held(saleId),
        keys.pending(saleId),
        keys.waitlist(saleId, itemId),
        keys.line(saleId, itemId),
      ],
      [d, keys.ticketPrefix(saleId), keys.events(saleId)],
    )) as string[];

  if (delta > 0) {
    const updated = await db
      .update(items)
      .set({ stock: sql`${items.stock} + ${delta}` })
      .where(where)
      .returning();
    if (updated.length === 0) throw new AppError("item_not_found", `no item ${itemId} in sale ${saleId}`);
    const [status, ...handed] = await runRedis(delta);
    if (status === "item_not_found") return []; // not loaded in Redis: PostgreSQL alone is the record.
    return handed;
  }

  const [status, available] = await runRedis(delta);
  if (status === "insufficient") {
    throw new AppError("insufficient_stock", `only ${available} units are available to remove`);
  }
  try {
    const updated = await db
      .update(items)
      .set({ stock: sql`${items.stock} + ${delta}` })
      .where(and(where, sql`${items.stock} + ${delta} >= ${items.sold}`))
      .returning();
    if (updated.length === 0) {
      if (status === "ok") await runRedis(-delta);
      throw new AppError("item_not_found", `no item ${itemId} in sale ${saleId}`);
    }
  } catch (err) {
    if (!(err instanceof AppError) && status === "ok") await runRedis(-delta);
    throw err;
  }
  return [];
}
