import { asc, eq } from "drizzle-orm";
import { items, sales } from "../db/schema.js";
import type { Deps } from "../deps.js";

// Items per script call: big enough to load 10,000 items in a few round trips,
// small enough not to block Redis for long.
const LOAD_BATCH = 500;

/**
 * Loads a sale from PostgreSQL into Redis: items first, the sale hash last, so a
 * sale visible in Redis always has all its items. Loading again changes nothing.
 */
export async function loadSale(deps: Deps, saleId: string): Promise<boolean> {
  const { db, redis, keys } = deps;
  if ((await redis.exists(keys.sale(saleId))) === 1) return false;
  const [sale] = await db
    .select()
    .from(sales)
    .where(eq(sales.id, Number(saleId)))
    .limit(1);
  if (!sale) throw new Error(`sale ${saleId} is not in PostgreSQL`);
  const rows = await db
    .select({ itemId: items.itemId, stock: items.stock, sold: items.sold })
    .from(items)
    .where(eq(items.saleId, sale.id))
    .orderBy(asc(items.itemId));
  let total = 0;
  let sold = 0;
  for (let i = 0; i < rows.length; i += LOAD_BATCH) {
    const chunk = rows.slice(i, i + LOAD_BATCH);
    await redis.run(
      "loadItems",
      chunk.map((r) => keys.item(saleId, r.itemId)),
      chunk.flatMap((r) => [r.stock, r.sold]),
    );
  }
  for (const r of rows) {
    total += r.stock;
    sold += r.sold;
  }
  const published = await redis.run(
    "loadSale",
    [keys.sale(saleId), keys.timeline],
    [saleId, sale.startsAt.getTime(), sale.endsAt.getTime(), sale.userLimit, rows.length, total, sold],
  );
  return published === 1;
}
