import type { Deps } from "../../shared/deps.js";
import { FINAL } from "../../shared/tickets/view.js";
import { sleep } from "../../shared/time.js";

export interface TicketRow {
  id: string;
  seq: number;
  status: string;
  reason: string;
  user: string;
  item: string;
  purchaseId: string;
}

/** Every ticket of a sale, read from Redis. */
export async function readTickets(deps: Deps, saleId: string): Promise<TicketRow[]> {
  const { redis, keys } = deps;
  const count = Number((await redis.hget(keys.sale(saleId), "tseq")) ?? 0);
  const rows: TicketRow[] = [];
  for (let start = 1; start <= count; start += 1000) {
    const pipe = redis.pipeline();
    const end = Math.min(count, start + 999);
    for (let seq = start; seq <= end; seq++)
      pipe.hmget(keys.ticket(saleId, String(seq)), "st", "rs", "u", "i", "pid");
    const res = (await pipe.exec()) ?? [];
    res.forEach(([, v], i) => {
      const [status, reason, user, item, pid] = v as (string | null)[];
      rows.push({
        id: `${saleId}-${start + i}`,
        seq: start + i,
        status: status ?? "missing",
        reason: reason ?? "",
        user: user ?? "",
        item: item ?? "",
        purchaseId: pid ?? "",
      });
    });
  }
  return rows;
}

/** Waits until every ticket of the sale is final and the queue is idle. */
export async function waitForRest(deps: Deps, saleId: string, timeoutMs = 60_000): Promise<TicketRow[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tickets = await readTickets(deps, saleId);
    const open = tickets.filter((t) => !FINAL.has(t.status));
    if (open.length === 0) return tickets;
    if (Date.now() > deadline) {
      throw new Error(`${open.length} tickets not final, e.g. ${JSON.stringify(open.slice(0, 3))}`);
    }
    await sleep(100);
  }
}

export interface InvariantReport {
  violations: string[];
  sold: number;
  stock: number;
  purchases: number;
  tickets: number;
  byStatus: Record<string, number>;
}

/**
 * Counts contract invariants 1-3 and 5-7 for a sale at rest, in both stores,
 * and checks that they agree with each other.
 */
export async function checkInvariants(deps: Deps, saleId: string): Promise<InvariantReport> {
  const { redis, keys, db } = deps;
  const sql = db.client;
  const v: string[] = [];
  const sid = Number(saleId);

  const items = await sql<{ item_id: string; stock: number; sold: number }[]>`
    select item_id, stock, sold from items where sale_id = ${sid}`;
  const purchases = await sql<{ id: string; ticket_id: string; item_id: string; user_id: string }[]>`
    select id::text, ticket_id, item_id, user_id from purchases where sale_id = ${sid}`;
  const [sale] = await sql<{ user_limit: number }[]>`select user_limit from sales where id = ${sid}`;
  const limit = sale?.user_limit ?? 0;

  // 1. No oversell, and PostgreSQL's sold agrees with its purchases.
  const perItem = new Map<string, number>();
  for (const p of purchases) perItem.set(p.item_id, (perItem.get(p.item_id) ?? 0) + 1);
  const pipe = redis.pipeline();
  for (const it of items) pipe.hmget(keys.item(saleId, it.item_id), "tot", "av", "rs", "sd", "q");
  const live = (await pipe.exec()) ?? [];
  const totals = { tot: 0, av: 0, rs: 0, sd: 0, q: 0 };
  for (const [i, it] of items.entries()) {
    const [tot, av, rs, sd, q] = ((live[i]?.[1] as string[]) ?? []).map(Number) as number[];
    if (it.sold > it.stock || it.sold < 0)
      v.push(`pg oversell: item ${it.item_id} sold ${it.sold} of ${it.stock}`);
    if ((perItem.get(it.item_id) ?? 0) !== it.sold)
      v.push(`pg item ${it.item_id}: sold ${it.sold} != purchases`);
    if (tot === undefined || Number.isNaN(tot)) {
      v.push(`redis: item ${it.item_id} missing`);
      continue;
    }
    if ((av as number) < 0) v.push(`redis negative stock: item ${it.item_id} av ${av}`);
    // 6. Conservation at rest.
    if ((av as number) + (rs as number) + (sd as number) !== tot)
      v.push(`redis item ${it.item_id}: av+rs+sd != tot`);
    if (rs !== 0) v.push(`redis item ${it.item_id}: ${rs} still reserved at rest`);
    if (q !== 0) v.push(`redis item ${it.item_id}: ${q} still queued at rest`);
    if (sd !== it.sold) v.push(`item ${it.item_id}: redis sold ${sd} != pg sold ${it.sold}`);
    if (tot !== it.stock) v.push(`item ${it.item_id}: redis total ${tot} != pg stock ${it.stock}`);
    totals.tot += tot as number;
    totals.av += av as number;
    totals.rs += rs as number;
    totals.sd += sd as number;
    totals.q += q as number;
  }
  const s = (await redis.hmget(keys.sale(saleId), "tot", "av", "rs", "sd", "q")).map(Number);
  const [stot, sav, srs, ssd, sq] = s;
  if (stot !== totals.tot || sav !== totals.av || srs !== totals.rs || ssd !== totals.sd || sq !== totals.q) {
    v.push(`redis sale totals ${JSON.stringify(s)} != sum of items ${JSON.stringify(totals)}`);
  }

  // 2. No double sale: one purchase per ticket, and Redis and PostgreSQL name the same one.
  const byTicket = new Map(purchases.map((p) => [p.ticket_id, p]));
  if (byTicket.size !== purchases.length) v.push("pg: a ticket has two purchases");
  const tickets = await readTickets(deps, saleId);
  const byStatus: Record<string, number> = {};
  for (const t of tickets) {
    byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
    // 5. Every accepted ticket ends.
    if (!FINAL.has(t.status)) v.push(`ticket ${t.id} not final: ${t.status}`);
    const p = byTicket.get(t.id);
    // 7. Purchased in Redis means committed in PostgreSQL.
    if (t.status === "purchased" && (!p || p.id !== t.purchaseId))
      v.push(`ticket ${t.id} purchased without its row`);
    if (t.status !== "purchased" && p) v.push(`ticket ${t.id} is ${t.status} but has purchase ${p.id}`);
  }

  // 3. Per-user limit, in both stores, and they agree.
  const perUser = new Map<string, number>();
  for (const p of purchases) perUser.set(p.user_id, (perUser.get(p.user_id) ?? 0) + 1);
  for (const [user, n] of perUser) if (n > limit) v.push(`user ${user} holds ${n} > limit ${limit}`);
  const held = await redis.hgetall(keys.held(saleId));
  for (const [user, n] of Object.entries(held)) {
    if (Number(n) !== (perUser.get(user) ?? 0))
      v.push(`user ${user}: redis holds ${n}, pg ${perUser.get(user) ?? 0}`);
  }
  for (const [user, n] of perUser)
    if (Number(held[user] ?? 0) !== n) v.push(`user ${user}: redis held != pg`);
  const pending = await redis.hgetall(keys.pending(saleId));
  if (Object.keys(pending).length) v.push(`pending tickets left at rest: ${JSON.stringify(pending)}`);
  const users = await sql<{ user_id: string; purchased: number }[]>`
    select user_id, purchased from sale_users where sale_id = ${sid}`;
  for (const u of users) {
    if (u.purchased !== (perUser.get(u.user_id) ?? 0)) v.push(`pg sale_users ${u.user_id} != purchases`);
  }

  return {
    violations: v,
    sold: totals.sd,
    stock: totals.tot,
    purchases: purchases.length,
    tickets: tickets.length,
    byStatus,
  };
}

/** Payment slots: none held and no payment in flight once the system is at rest. */
export async function slotsAtRest(deps: Deps) {
  const { redis, keys } = deps;
  const now = Date.now();
  return {
    held: await redis.zcount(keys.slots, now, "+inf"),
    inFlight: await redis.zcount(keys.inflight, now, "+inf"),
    peak: Number((await redis.get(keys.peak)) ?? 0),
  };
}
