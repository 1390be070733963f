import { createBatcher } from "../shared/batcher.js";
import type { Deps } from "../shared/deps.js";

export interface Settlement {
  ticketId: string;
  saleId: string;
  itemId: string;
  userId: string;
}

/** A committed purchase, or the constraint that refused it (the second guard at work). */
export type SettleResult = { purchaseId: string } | { refused: "sold_out" | "user_limit_reached" };

type Sql = Deps["db"]["client"];

// One statement settles a whole batch: purchases, items.sold and the per-user
// count, all under PostgreSQL's constraints. A ticket already settled (a retried
// job) gets its existing purchase back instead of a second one.
async function settleMany(sql: Sql, batch: Settlement[]): Promise<Map<string, string>> {
  const rows = await sql<{ ticket_id: string; id: string; user_id: string; item_id: string }[]>`
    with input as (
      select * from unnest(
        ${sql.array(batch.map((b) => b.ticketId))}::text[],
        ${sql.array(batch.map((b) => b.saleId))}::bigint[],
        ${sql.array(batch.map((b) => b.itemId))}::text[],
        ${sql.array(batch.map((b) => b.userId))}::text[]
      ) as t(ticket_id, sale_id, item_id, user_id)
    ), ins as (
      insert into purchases (ticket_id, sale_id, item_id, user_id)
      select ticket_id, sale_id, item_id, user_id from input
      on conflict (ticket_id) do nothing
      returning id, ticket_id, sale_id, item_id, user_id
    ), sold as (
      update items set sold = items.sold + c.n
      from (select sale_id, item_id, count(*)::int as n from ins group by sale_id, item_id) c
      where items.sale_id = c.sale_id and items.item_id = c.item_id
      returning 1
    ), users as (
      insert into sale_users (sale_id, user_id, purchased, user_limit)
      select ins.sale_id, ins.user_id, count(*)::int, s.user_limit
      from ins join sales s on s.id = ins.sale_id
      group by ins.sale_id, ins.user_id, s.user_limit
      on conflict (sale_id, user_id) do update set purchased = sale_users.purchased + excluded.purchased
      returning 1
    )
    select ticket_id, id::text, user_id, item_id from ins
    union all
    select p.ticket_id, p.id::text, p.user_id, p.item_id from purchases p join input i on i.ticket_id = p.ticket_id`;
  const byTicket = new Map(batch.map((b) => [b.ticketId, b]));
  for (const r of rows) {
    const b = byTicket.get(r.ticket_id);
    // Ticket ids are never reused (see shared/sales/load.ts); if one were, another
    // shopper's purchase must not be handed to this ticket.
    if (b && (b.userId !== r.user_id || b.itemId !== r.item_id)) {
      throw new Error(`ticket ${r.ticket_id} already settled for another purchase`);
    }
  }
  return new Map(rows.map((r) => [r.ticket_id, r.id]));
}

const REFUSALS: Record<string, "sold_out" | "user_limit_reached"> = {
  items_sold_within_stock: "sold_out",
  sale_users_within_limit: "user_limit_reached",
};

function refusalOf(err: unknown): "sold_out" | "user_limit_reached" | null {
  const e = err as { code?: string; constraint_name?: string };
  if (e.code !== "23514" || !e.constraint_name) return null;
  return REFUSALS[e.constraint_name] ?? null;
}

const DEADLOCK = "40P01";
// Namespace of the advisory locks that serialize settlement per sale (any constant).
const SETTLE_LOCK = 7_242_002;

/**
 * Batches of one sale settle one after the other, across all worker processes:
 * concurrent batches would lock the same items and user rows in different
 * orders and deadlock (PostgreSQL notices only after deadlock_timeout).
 */
async function settleLocked(sql: Sql, batch: Settlement[]): Promise<Map<string, string>> {
  const sales = [...new Set(batch.map((b) => Number(b.saleId)))].sort((a, b) => a - b);
  return (await sql.begin(async (tx) => {
    // A settlement stuck behind a lock held by a vanished client fails and is retried, not blocked for hours.
    await tx`set local lock_timeout = '5s'`;
    for (const saleId of sales) await tx`select pg_advisory_xact_lock(${SETTLE_LOCK}, ${saleId % 2 ** 31})`;
    return settleMany(tx as unknown as Sql, batch);
  })) as Map<string, string>;
}

async function settleBatch(sql: Sql, batch: Settlement[]): Promise<SettleResult[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      const ids = await settleLocked(sql, batch);
      return batch.map((b) => {
        const id = ids.get(b.ticketId);
        if (!id) throw new Error(`ticket ${b.ticketId} was not settled`);
        return { purchaseId: id };
      });
    } catch (err) {
      // Two batches touching the same items in another order: PostgreSQL aborts one; run it again.
      if ((err as { code?: string }).code === DEADLOCK && attempt < 5) continue;
      if (!refusalOf(err) || batch.length === 1) {
        const refused = refusalOf(err);
        if (refused) return [{ refused }];
        throw err;
      }
      // A constraint refused one of them: settle each alone to find which.
      const out: SettleResult[] = [];
      for (const b of batch) out.push(...(await settleBatch(sql, [b])));
      return out;
    }
  }
}

// A batch not settled by then fails, so its tickets' jobs retry instead of waiting on a
// query a lost connection may never answer. Safe: settling is idempotent (a purchase
// committed late is found by the retry), and it is far above a healthy batch's time.
const SETTLE_TIMEOUT_MS = 20_000;

function withTimeout<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("settlement timed out")), SETTLE_TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Settles purchases in PostgreSQL, batching those that arrive together. */
export function createSettler(deps: Pick<Deps, "db">) {
  const batcher = createBatcher<Settlement, SettleResult>(
    (batch) => withTimeout(settleBatch(deps.db.client, batch)),
    {
      max: 500,
      // At a few hundred purchases a second a 2 ms wait settled them one transaction each;
      // 10 ms gathers several (PostgreSQL CPU per purchase 20-30 % lower in the intake bench)
      // for at most 10 ms more before a ticket shows purchased. Busy, batches fill anyway.
      waitMs: 10,
      concurrency: 2,
    },
  );
  return { settle: (s: Settlement) => batcher.push(s), drain: () => batcher.drain() };
}

export type Settler = ReturnType<typeof createSettler>;
