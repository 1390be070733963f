import { and, eq, sql } from "drizzle-orm";
import { items } from "../db/schema.js";
import type { Deps } from "../deps.js";
import { AppError } from "../errors.js";
import { defineScript, str } from "../scripts/define.js";

const adjustStockScript = defineScript({
  name: "adjustStock",
  lua: new URL("./adjust-stock.lua", import.meta.url),
  helpers: ["now_ms", "left_line"],
  keys: ["sale", "item", "held", "pending", "waitlist", "line"],
  args: ["delta", "ticketPrefix", "events"],
  // 'ok' (handed: the waiters given an added unit), 'insufficient' (available: what there
  // is to remove) or 'item_not_found' (not in Redis, or its sale still loading).
  decode: (raw) => {
    const outcome = str(raw, 0);
    const rest = Array.isArray(raw) ? raw.slice(1).map(String) : [];
    return {
      outcome,
      handed: outcome === "ok" ? rest : [],
      available: outcome === "insufficient" ? Number(rest[0]) : 0,
    };
  },
});

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
  const runRedis = (d: number) =>
    adjustStockScript.run(
      redis,
      {
        sale: keys.sale(saleId),
        item: keys.item(saleId, itemId),
        held: keys.held(saleId),
        pending: keys.pending(saleId),
        waitlist: keys.waitlist(saleId, itemId),
        line: keys.line(saleId, itemId),
      },
      { delta: d, ticketPrefix: keys.ticketPrefix(saleId), events: keys.events(saleId) },
    );

  if (delta > 0) {
    const updated = await db
      .update(items)
      .set({ stock: sql`${items.stock} + ${delta}` })
      .where(where)
      .returning();
    if (updated.length === 0) throw new AppError("item_not_found", `no item ${itemId} in sale ${saleId}`);
    const { outcome, handed } = await runRedis(delta);
    if (outcome === "item_not_found") return []; // not loaded in Redis: PostgreSQL alone is the record.
    return handed;
  }

  const { outcome: status, available } = await runRedis(delta);
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
