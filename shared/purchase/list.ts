import { and, asc, eq, gt } from "drizzle-orm";
import { purchases } from "../db/schema.js";
import type { Deps } from "../deps.js";

export interface PurchaseView {
  purchase_id: string;
  ticket_id: string;
  item_id: string;
  sale_id: string;
  created_at: string;
}

export interface PurchasesPage {
  /** The last purchase's id when another page follows, else null. */
  next_cursor: string | null;
  purchases: PurchaseView[];
}

export interface PurchasesQuery {
  saleId?: string | undefined;
  /** The id of the last purchase already seen: the page starts after it. */
  cursor?: string | undefined;
  limit: number;
}

/** A user's purchases in PostgreSQL, oldest first, a page at a time (an unknown user has none). */
export async function listPurchases(deps: Deps, userId: string, q: PurchasesQuery): Promise<PurchasesPage> {
  const where = and(
    eq(purchases.userId, userId),
    q.saleId ? eq(purchases.saleId, Number(q.saleId)) : undefined,
    q.cursor ? gt(purchases.id, Number(q.cursor)) : undefined,
  );
  // One more than the page, to know whether another follows.
  const found = await deps.db
    .select()
    .from(purchases)
    .where(where)
    .orderBy(asc(purchases.id))
    .limit(q.limit + 1);
  const rows = found.slice(0, q.limit);
  const last = rows.at(-1);
  return {
    next_cursor: found.length > q.limit && last ? String(last.id) : null,
    purchases: rows.map((p) => ({
      purchase_id: String(p.id),
      ticket_id: p.ticketId,
      item_id: p.itemId,
      sale_id: String(p.saleId),
      created_at: p.createdAt.toISOString(),
    })),
  };
}
