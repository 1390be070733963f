import { and, desc, gt, inArray, lt, lte, sql } from "drizzle-orm";
import { items, sales } from "../db/schema.js";
import type { Deps } from "../deps.js";
import type { SaleStatus } from "./directory.js";
import { liveSale, type SaleView, storedSale } from "./view.js";

export interface SalesQuery {
  /** `next_cursor` of the previous page: the last sale id it listed. */
  cursor?: string;
  limit: number;
  /** Only the sales in this state now. */
  status?: SaleStatus;
}

/**
 * One page of sales, newest first (by id, the order they were created): upcoming, open and
 * ended alike, or those of one `status`. PostgreSQL lists them, so a sale retired from Redis
 * (shared/sale/retire.ts) is listed too; each is shown as getSale shows it, live from Redis
 * while it is there.
 */
export async function listSales(deps: Deps, q: SalesQuery, now = Date.now()) {
  const at = new Date(now);
  const window = {
    scheduled: gt(sales.startsAt, at),
    open: and(lte(sales.startsAt, at), gt(sales.endsAt, at)),
    closed: lte(sales.endsAt, at),
  };
  const rows = await deps.db
    .select()
    .from(sales)
    .where(
      and(q.cursor ? lt(sales.id, Number(q.cursor)) : undefined, q.status ? window[q.status] : undefined),
    )
    .orderBy(desc(sales.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  // Every sale's Redis read at once (auto-pipelined), then one query for those Redis no longer has.
  const live = await Promise.all(page.map((s) => liveSale(deps, String(s.id))));
  const stored = page.filter((_, i) => !live[i]).map((s) => s.id);
  const sums = new Map<number, { total: number; sold: number }>();
  if (stored.length) {
    const totals = await deps.db
      .select({
        saleId: items.saleId,
        total: sql<string>`sum(${items.stock})`,
        sold: sql<string>`sum(${items.sold})`,
      })
      .from(items)
      .where(inArray(items.saleId, stored))
      .groupBy(items.saleId);
    for (const t of totals) sums.set(t.saleId, { total: Number(t.total), sold: Number(t.sold) });
  }
  const views: SaleView[] = page.map((s, i) => {
    const sum = sums.get(s.id) ?? { total: 0, sold: 0 };
    return live[i] ?? storedSale(s, sum.total, sum.sold);
  });
  return {
    sales: views,
    next_cursor: rows.length > q.limit ? String(page[page.length - 1]?.id) : null,
  };
}
