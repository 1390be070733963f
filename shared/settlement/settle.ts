import { createBatcher, groupIndexes } from "../batcher.js";
import type { Sql } from "../db/client.js";
import type { Deps } from "../deps.js";
import { parseTicketId, refOf } from "../keys.js";
import type { CounterSink } from "../metrics/counters.js";
import { defineBatchScript } from "../scripts/define.js";
import { type Finalized, finalizeMany } from "../ticket/finalize.js";
import { ticketKeys } from "../ticket/ticket-keys.js";
import { withTimeout } from "../time.js";
import { lockSaleSettlement } from "./lock.js";

export interface Settlement {
  ticketId: string;
  saleId: string;
  itemId: string;
  userId: string;
  /** Mirror the purchase in Redis too, with the batch's other purchases of its sale (one call). */
  finalize?: boolean;
}

/**
 * A committed purchase (with what finalizing it in Redis did, when asked for), or the
 * constraint that refused it (the second guard at work).
 */
export type SettleResult =
  | { purchaseId: string; finalized?: Finalized }
  | { refused: "sold_out" | "user_limit_reached" };

type SettleDeps = Pick<Deps, "db" | "redis" | "keys">;
/** Where the settler reports its transactions' sizes and its tickets' lag: the process's counters. */
type SettleMetrics = Pick<CounterSink, "observe">;
type SettleCtx = SettleDeps & { metrics: SettleMetrics };
const UNOBSERVED: SettleMetrics = { observe() {} };

/** Thrown to a ticket whose payment Redis no longer knows: it was lost with Redis, and the ticket runs again. */
export class StaleSettlement extends Error {
  constructor(ticketId: string) {
    super(
      `ticket ${refOf(ticketId)} was not settled: Redis was rebuilt since its payment and queued it again`,
    );
    this.name = "StaleSettlement";
  }
}

// Settled, refused by a constraint, fenced off (see confirmInRedis), or an error of its own.
type Outcome = SettleResult | { stale: true } | { error: Error };

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
    // Ticket ids are never reused (see shared/sale/load.ts); if one were, another
    // shopper's purchase must not be handed to this ticket.
    if (b && (b.userId !== r.user_id || b.itemId !== r.item_id)) {
      throw new Error(`ticket ${refOf(r.ticket_id)} already settled for another purchase`);
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

/** What Redis said of each ticket under the lock (confirm-paid.lua). */
type Verdict = "ok" | "stale";

const confirmPaid = defineBatchScript({
  name: "confirmPaid",
  lua: new URL("./confirm-paid.lua", import.meta.url),
  keys: ["sale", "saleUnpublished"],
  args: [],
  each: { keys: ["ticket"], args: [] },
  // One verdict per ticket; the sale's state (the first field) tells a reader of the script alone.
  decode: (raw) => ((raw as [string, Verdict[]])[1] ?? []) as (Verdict | undefined)[],
});

/**
 * The tickets of a batch that may settle, asked of Redis while the sale's settlement
 * lock is held (one script per sale, confirm-paid.lua). A reload of the sale
 * (shared/sale/load.ts) holds the same lock from its first read of PostgreSQL until it
 * has published the sale in Redis, so here either the sale is not (yet) in Redis and no
 * reload began, so its reload will read this commit; or a reload died half-way (its
 * marker stands without the sale hash) and the next keeps what it read before this
 * commit, so nothing of the sale may settle until one publishes; or the sale is there,
 * and a ticket not shown paying and paid (or purchased, for a retry) was lost with the
 * Redis that knew its payment and has been queued again or dropped: settling it now
 * would sell a unit the rebuilt Redis counts as available, to a buyer it counts short.
 * When this process cannot ask Redis (its connection not ready, or no answer within
 * FENCE_TIMEOUT_MS) everything settles, as it must while Redis is down, so an approved
 * payment is kept: the gap is a Redis another process has rebuilt meanwhile
 * (docs/reliability.md).
 */
async function confirmInRedis(deps: SettleDeps, batch: Settlement[]): Promise<Verdict[]> {
  const { redis, keys } = deps;
  const all = batch.map((): Verdict => "ok");
  if (redis.status !== "ready") return all;
  const bySale = groupIndexes(batch, (b) => b.saleId);
  const verdicts = [...all];
  const checked = Promise.all(
    [...bySale].map(async ([saleId, group]) => {
      // One call per sale: its keys share one cluster slot.
      const said = await confirmPaid.run(
        redis,
        { sale: keys.sale(saleId), saleUnpublished: keys.saleUnpublished(saleId) },
        {},
        group.map((i) => ({
          keys: { ticket: keys.ticket(saleId, parseTicketId(batch[i]?.ticketId ?? "")?.seq ?? "") },
          args: {},
        })),
      );
      group.forEach((i, j) => {
        verdicts[i] = said[j] ?? "stale";
      });
    }),
  );
  const answered = await withTimeout(checked, FENCE_TIMEOUT_MS, "redis check").then(
    () => true,
    () => false,
  );
  // No answer: settle them all, as while Redis is down.
  return answered ? verdicts : all;
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
): Promise<{ ids: Map<string, string>; verdicts: Verdict[] }> {
  const sales = [...new Set(batch.map((b) => Number(b.saleId)))].sort((a, b) => a - b);
  return (await deps.db.client.begin(async (tx) => {
    const sql = tx as unknown as Sql;
    // A settlement stuck behind a lock held by a vanished client fails and is retried, not
    // blocked for hours. Sent with the first lock, one round trip (postgres.js pipelines
    // what a transaction sends before it waits).
    const timeout = sql`set local lock_timeout = '5s'`;
    const [first, ...rest] = sales;
    await Promise.all([timeout, first === undefined ? null : lockSaleSettlement(sql, first)]);
    // In sale order, one after the other, so two batches never wait on each other's locks crosswise.
    for (const saleId of rest) await lockSaleSettlement(sql, saleId);
    const verdicts = await confirmInRedis(deps, batch);
    const live = batch.filter((_, i) => verdicts[i] === "ok");
    return { ids: live.length ? await settleMany(sql, live) : new Map(), verdicts };
  })) as { ids: Map<string, string>; verdicts: Verdict[] };
}

async function settleBatch(deps: SettleCtx, batch: Settlement[]): Promise<Outcome[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      const { ids, verdicts } = await settleLocked(deps, batch);
      deps.metrics.observe("settlement_batch_size", batch.length);
      return batch.map((b, i): Outcome => {
        const verdict = verdicts[i];
        if (verdict === "stale") return { stale: true };
        const id = ids.get(b.ticketId);
        if (!id) throw new Error(`ticket ${refOf(b.ticketId)} was not settled`);
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

/**
 * Mirrors the batch's committed purchases in Redis, one finalize call per sale, for the
 * settlements that asked for it; a sale whose call fails gives its tickets that error
 * (each is retried alone and finds its purchase committed).
 */
async function finalizeSettled(deps: SettleDeps, batch: Settlement[], out: Outcome[]): Promise<void> {
  const bySale = groupIndexes(out, (o, i) => {
    const b = batch[i];
    return b?.finalize && "purchaseId" in o ? b.saleId : null;
  });
  await Promise.all(
    [...bySale.values()].map(async (group) => {
      try {
        const done = await finalizeMany(
          deps,
          group.map((i) => {
            const b = batch[i] as Settlement;
            return { k: ticketKeys(deps, b), purchaseId: (out[i] as { purchaseId: string }).purchaseId };
          }),
        );
        group.forEach((i, j) => {
          const o = out[i] as { purchaseId: string };
          const f = done[j] ?? { done: "noop", rejected: [] };
          out[i] =
            f.done === "error"
              ? { error: new Error(`could not finalize ${refOf(batch[i]?.ticketId ?? "")}: ${f.why}`) }
              : { purchaseId: o.purchaseId, finalized: f };
        });
      } catch (err) {
        for (const i of group) out[i] = { error: err as Error };
      }
    }),
  );
}

/** A settlement as the batcher holds it: when the worker handed it over (performance.now()). */
type Handed = Settlement & { handedAt: number };

function lagOutcome(o: Outcome | undefined): "settled" | "refused" | "stale" | "error" {
  if (o === undefined || "error" in o) return "error";
  if ("stale" in o) return "stale";
  return "refused" in o ? "refused" : "settled";
}

// A batch not settled by then fails, so its tickets' jobs retry instead of waiting on a
// query a lost connection may never answer. Safe: settling is idempotent (a purchase
// committed late is found by the retry), and it is far above a healthy batch's time.
const SETTLE_TIMEOUT_MS = 20_000;

/**
 * Settles purchases in PostgreSQL, batching those that arrive together. A ticket whose
 * payment the Redis of today does not know is refused with StaleSettlement (its job is
 * one from before a Redis loss; the ticket was queued again and runs anew).
 */
export function createSettler(deps: SettleDeps, metrics: SettleMetrics = UNOBSERVED) {
  const ctx: SettleCtx = { ...deps, metrics };
  // Each ticket's lag, once its batch has committed (or failed): a clock read per ticket,
  // counted in memory with the process's other counters.
  const observeLag = (batch: Handed[], out: Outcome[] | null) => {
    const now = performance.now();
    batch.forEach((b, i) => {
      metrics.observe("settlement_lag_seconds", (now - b.handedAt) / 1000, { outcome: lagOutcome(out?.[i]) });
    });
  };
  const batcher = createBatcher<Handed, Outcome>(
    async (batch) => {
      const out = await withTimeout(settleBatch(ctx, batch), SETTLE_TIMEOUT_MS, "settlement").catch(
        (err: unknown) => {
          observeLag(batch, null);
          throw err;
        },
      );
      observeLag(batch, out);
      await finalizeSettled(deps, batch, out);
      return out;
    },
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
      const out = await batcher.push({ ...s, handedAt: performance.now() });
      if ("stale" in out) throw new StaleSettlement(s.ticketId);
      if ("error" in out) throw out.error;
      return out;
    },
    drain: () => batcher.drain(),
  };
}

export type Settler = ReturnType<typeof createSettler>;
