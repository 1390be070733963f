import { createBatcher } from "../shared/batcher.js";
import type { Sql } from "../shared/db/client.js";
import type { Deps } from "../shared/deps.js";
import { parseTicketId } from "../shared/keys.js";
import { lockSaleSettlement } from "../shared/recovery/settle-lock.js";

export interface Settlement {
  ticketId: string;
  saleId: string;
  itemId: string;
  userId: string;
}

/** A committed purchase, or the constraint that refused it (the second guard at work). */
export type SettleResult = { purchaseId: string } | { refused: "sold_out" | "user_limit_reached" };

type SettleDeps = Pick<Deps, "db" | "redis" | "keys">;

/** Thrown to a ticket whose payment Redis no longer knows: it was lost with Redis, and the ticket runs again. */
export class StaleSettlement extends Error {
  constructor(ticketId: string) {
    super(`ticket ${ticketId} was not settled: Redis was rebuilt since its payment and queued it again`);
    this.name = "StaleSettlement";
  }
}

// Settled, refused by a constraint, or fenced off (see paidInRedis).
type Outcome = SettleResult | { stale: true };

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
// How long the check of Redis may hold the settlement lock; past it Redis counts as away.
const FENCE_TIMEOUT_MS = 1000;

/**
 * The tickets of a batch that may settle, asked of Redis while the sale's settlement
 * lock is held. A reload of the sale (shared/sales/load.ts) holds the same lock from
 * its first read of PostgreSQL until it has published the sale in Redis, so here
 * either the sale is not (yet) in Redis and no reload began, so its reload will read
 * this commit; or a reload died half-way (its marker stands without the sale hash)
 * and the next keeps what it read before this commit, so nothing of the sale may
 * settle until one publishes; or the sale is there, and a ticket not shown paying
 * and paid (or purchased, for a retry) was lost with the Redis that knew its payment
 * and has been queued again or dropped: settling it now would sell a unit the rebuilt
 * Redis counts as available, to a buyer it counts short. When this process cannot ask
 * Redis (its connection not ready, or no answer within FENCE_TIMEOUT_MS) everything
 * settles, as it must while Redis is down, so an approved payment is kept: the gap is
 * a Redis another process has rebuilt meanwhile (docs/reliability.md).
 */
async function paidInRedis(deps: SettleDeps, batch: Settlement[]): Promise<Set<string>> {
  const { redis, keys } = deps;
  const ok = new Set(batch.map((b) => b.ticketId));
  if (redis.status !== "ready") return ok;
  const bySale = new Map<string, Settlement[]>();
  for (const b of batch) {
    const group = bySale.get(b.saleId);
    if (group) group.push(b);
    else bySale.set(b.saleId, [b]);
  }
  const checked = Promise.all(
    [...bySale].map(async ([saleId, group]) => {
      // One pipeline per sale: its keys share one cluster slot.
      const pipe = redis.pipeline().exists(keys.sale(saleId)).exists(keys.saleUnpublished(saleId));
      for (const b of group)
        pipe.hmget(keys.ticket(saleId, parseTicketId(b.ticketId)?.seq ?? ""), "st", "paid");
      const res = (await pipe.exec()) ?? [];
      if (res.some(([err]) => err)) throw new Error("redis check failed");
      if (res[0]?.[1] === 0) {
        // Not in Redis, and no reload begun: its reload waits for this lock and will read this commit.
        if (res[1]?.[1] === 0) return;
        // A reload died half-way: the next one keeps what it wrote (read before this commit),
        // and it re-created these tickets or will.
        for (const b of group) ok.delete(b.ticketId);
        return;
      }
      group.forEach((b, i) => {
        const [st, paid] = (res[i + 2]?.[1] ?? []) as (string | null)[];
        if (!((st === "paying" && paid === "1") || st === "purchased")) ok.delete(b.ticketId);
      });
    }),
  );
  const answered = await withTimeout(checked, FENCE_TIMEOUT_MS, "redis check").then(
    () => true,
    () => false,
  );
  // No answer: settle them all, as while Redis is down.
  return answered ? ok : new Set(batch.map((b) => b.ticketId));
}

/**
 * Batches of one sale settle one after the other, across all worker processes:
 * concurrent batches would lock the same items and user rows in different
 * orders and deadlock (PostgreSQL notices only after deadlock_timeout). The same
 * lock keeps a settlement from landing in the middle of a sale's reload into Redis.
 */
async function settleLocked(
  deps: SettleDeps,
  batch: Settlement[],
): Promise<{ ids: Map<string, string>; stale: Set<string> }> {
  const sales = [...new Set(batch.map((b) => Number(b.saleId)))].sort((a, b) => a - b);
  return (await deps.db.client.begin(async (tx) => {
    const sql = tx as unknown as Sql;
    // A settlement stuck behind a lock held by a vanished client fails and is retried, not blocked for hours.
    await sql`set local lock_timeout = '5s'`;
    for (const saleId of sales) await lockSaleSettlement(sql, saleId);
    const ok = await paidInRedis(deps, batch);
    const live = batch.filter((b) => ok.has(b.ticketId));
    const stale = new Set(batch.filter((b) => !ok.has(b.ticketId)).map((b) => b.ticketId));
    return { ids: live.length ? await settleMany(sql, live) : new Map(), stale };
  })) as { ids: Map<string, string>; stale: Set<string> };
}

async function settleBatch(deps: SettleDeps, batch: Settlement[]): Promise<Outcome[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      const { ids, stale } = await settleLocked(deps, batch);
      return batch.map((b): Outcome => {
        if (stale.has(b.ticketId)) return { stale: true };
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
      const out: Outcome[] = [];
      for (const b of batch) out.push(...(await settleBatch(deps, [b])));
      return out;
    }
  }
}

// A batch not settled by then fails, so its tickets' jobs retry instead of waiting on a
// query a lost connection may never answer. Safe: settling is idempotent (a purchase
// committed late is found by the retry), and it is far above a healthy batch's time.
const SETTLE_TIMEOUT_MS = 20_000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Settles purchases in PostgreSQL, batching those that arrive together. A ticket whose
 * payment the Redis of today does not know is refused with StaleSettlement (its job is
 * one from before a Redis loss; the ticket was queued again and runs anew).
 */
export function createSettler(deps: SettleDeps) {
  const batcher = createBatcher<Settlement, Outcome>(
    (batch) => withTimeout(settleBatch(deps, batch), SETTLE_TIMEOUT_MS, "settlement"),
    {
      max: 500,
      // At a few hundred purchases a second a 2 ms wait settled them one transaction each;
      // 10 ms gathers several (PostgreSQL CPU per purchase 20-30 % lower in the intake bench)
      // for at most 10 ms more before a ticket shows purchased. Busy, batches fill anyway.
      waitMs: 10,
      concurrency: 2,
    },
  );
  return {
    async settle(s: Settlement): Promise<SettleResult> {
      const out = await batcher.push(s);
      if ("stale" in out) throw new StaleSettlement(s.ticketId);
      return out;
    },
    drain: () => batcher.drain(),
  };
}

export type Settler = ReturnType<typeof createSettler>;
