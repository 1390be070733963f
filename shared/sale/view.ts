import { and, asc, eq, sql } from "drizzle-orm";
import { itemIdNumber, itemIdPrefix, items, sales } from "../db/schema.js";
import type { Deps } from "../deps.js";
import { STOCK_FIELDS, type Stock, stockOf } from "../fields.js";
import { saleStatus } from "./directory.js";
import type { CheckoutMode } from "./mode.js";

const num = (v: string | null | undefined) => Number(v ?? 0);

export interface SaleView {
  sale_id: string;
  starts_at: string;
  ends_at: string;
  status: string;
  user_limit: number;
  item_count: number;
  stock: Stock;
  /** How it sells (see shared/sale/mode.ts); hold_s only for two_step. */
  checkout_mode: CheckoutMode;
  hold_s: number | null;
}

export interface ItemView {
  item_id: string;
  sale_id: string;
  name: string;
  image_url: string;
  stock: Stock;
}

/** Live numbers come from Redis; a sale not (or no longer) in Redis is read from PostgreSQL. */
export async function getSale(deps: Deps, saleId: string): Promise<SaleView | null> {
  const live = await liveSale(deps, saleId);
  if (live) return live;
  if (!/^[0-9]{1,18}$/.test(saleId)) return null;
  const [row] = await deps.db
    .select({
      sale: sales,
      total: sql<string>`coalesce(sum(${items.stock}), 0)`,
      sold: sql<string>`coalesce(sum(${items.sold}), 0)`,
    })
    .from(sales)
    .leftJoin(items, eq(items.saleId, sales.id))
    .where(eq(sales.id, Number(saleId)))
    .groupBy(sales.id);
  return row ? storedSale(row.sale, Number(row.total), Number(row.sold)) : null;
}

/** A sale as Redis has it now, or null when it is not (or no longer) there. */
export async function liveSale(deps: Pick<Deps, "redis" | "keys">, saleId: string): Promise<SaleView | null> {
  const { redis, keys } = deps;
  // Sent together (auto-pipelined): one round trip.
  const [v, mode] = await Promise.all([
    redis.hmget(keys.sale(saleId), "sa", "ea", "st", "ul", "n", ...STOCK_FIELDS),
    redis.hmget(keys.saleMode(saleId), "cm", "hold"),
  ]);
  if (!v[0] || !v[1]) return null;
  const w = { saleId, startsAt: num(v[0]), endsAt: num(v[1]), closed: v[2] === "closed" };
  return {
    sale_id: saleId,
    starts_at: new Date(w.startsAt).toISOString(),
    ends_at: new Date(w.endsAt).toISOString(),
    status: saleStatus(w),
    user_limit: num(v[3]),
    item_count: num(v[4]),
    stock: stockOf(v.slice(5)),
    ...(mode[0] === "two_step"
      ? { checkout_mode: "two_step", hold_s: num(mode[1]) / 1000 }
      : { checkout_mode: "direct", hold_s: null }),
  };
}

/** A sale from its PostgreSQL row and its items' summed stock and sales: nothing reserved, at rest. */
export function storedSale(s: typeof sales.$inferSelect, total: number, sold: number): SaleView {
  const saleId = String(s.id);
  return {
    sale_id: saleId,
    starts_at: s.startsAt.toISOString(),
    ends_at: s.endsAt.toISOString(),
    status: saleStatus({ saleId, startsAt: s.startsAt.getTime(), endsAt: s.endsAt.getTime(), closed: false }),
    user_limit: s.userLimit,
    item_count: s.itemCount,
    stock: { total, available: total - sold, reserved: 0, sold },
    checkout_mode: s.checkoutMode === "two_step" ? "two_step" : "direct",
    hold_s: s.checkoutMode === "two_step" ? s.holdS : null,
  };
}

async function liveStock(
  deps: Deps,
  saleId: string,
  rows: { itemId: string; stock: number; sold: number }[],
) {
  const pipe = deps.redis.pipeline();
  for (const r of rows) pipe.hmget(deps.keys.item(saleId, r.itemId), ...STOCK_FIELDS);
  const res = (await pipe.exec()) ?? [];
  return rows.map((r, i): Stock => {
    const v = res[i]?.[1] as (string | null)[] | undefined;
    if (v?.[0] != null) return stockOf(v);
    return { total: r.stock, available: r.stock - r.sold, reserved: 0, sold: r.sold };
  });
}

export async function getItem(deps: Deps, saleId: string, itemId: string): Promise<ItemView | null> {
  const [row] = await deps.db
    .select()
    .from(items)
    .where(and(eq(items.saleId, Number(saleId)), eq(items.itemId, itemId)))
    .limit(1);
  if (!row) return null;
  const [stock] = await liveStock(deps, saleId, [row]);
  return {
    item_id: row.itemId,
    sale_id: saleId,
    name: row.name,
    image_url: row.imageUrl,
    stock: stock as Stock,
  };
}

/** The newest sale in PostgreSQL that has this item (for items of sales not open now). */
export async function latestSaleWithItem(deps: Deps, itemId: string): Promise<string | null> {
  const [row] = await deps.db
    .select({ saleId: items.saleId })
    .from(items)
    .where(eq(items.itemId, itemId))
    .orderBy(sql`${items.saleId} desc`)
    .limit(1);
  return row ? String(row.saleId) : null;
}

/**
 * The window (ms) of a sale in PostgreSQL that has this item, or null: for a sale no longer,
 * or not yet, in Redis.
 */
export async function storedItemWindow(
  deps: Pick<Deps, "db">,
  saleId: string,
  itemId: string,
): Promise<{ startsAt: number; endsAt: number } | null> {
  if (!/^[0-9]{1,18}$/.test(saleId)) return null;
  const [row] = await deps.db
    .select({ startsAt: sales.startsAt, endsAt: sales.endsAt })
    .from(items)
    .innerJoin(sales, eq(sales.id, items.saleId))
    .where(and(eq(items.saleId, Number(saleId)), eq(items.itemId, itemId)))
    .limit(1);
  return row ? { startsAt: row.startsAt.getTime(), endsAt: row.endsAt.getTime() } : null;
}

const idPrefix = itemIdPrefix(items.itemId);
const idNumber = itemIdNumber(items.itemId);

/**
 * One page of a sale's items in natural id order (1, 2, 10, 100); `cursor` is the last item
 * id of the previous page.
 */
export async function listItems(deps: Deps, saleId: string, cursor: string | undefined, limit: number) {
  // Keyset paging on the same three keys the page is sorted by, taken from the cursor's id.
  const after = cursor
    ? sql`(${idPrefix}, ${idNumber}, ${items.itemId}) >
        (${itemIdPrefix(sql`${cursor}::text`)}, ${itemIdNumber(sql`${cursor}::text`)}, ${cursor}::text)`
    : undefined;
  const rows = await deps.db
    .select()
    .from(items)
    .where(and(eq(items.saleId, Number(saleId)), after))
    .orderBy(idPrefix, idNumber, asc(items.itemId))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const stocks = await liveStock(deps, saleId, page);
  return {
    items: page.map((r, i) => ({
      item_id: r.itemId,
      name: r.name,
      image_url: r.imageUrl,
      stock: stocks[i] as Stock,
    })),
    next_cursor: rows.length > limit ? (page[page.length - 1]?.itemId ?? null) : null,
  };
}

/** Checkouts a sale has accepted so far: its ticket sequence in Redis (0 when it is not there). */
export async function acceptedCount(deps: Pick<Deps, "redis" | "keys">, saleId: string): Promise<number> {
  return Number((await deps.redis.hget(deps.keys.sale(saleId), "tseq")) ?? 0);
}
