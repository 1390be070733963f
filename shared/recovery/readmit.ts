import type { TicketJob } from "../checkout/enqueue.js";
import type { Sql } from "../db/client.js";
import type { Deps } from "../deps.js";
import { ticketId } from "../keys.js";

// Tickets per script call (four arguments each): short calls, few round trips.
const BATCH = 500;

/**
 * Re-creates, queued, the tickets PostgreSQL recorded as accepted for a sale and
 * that have no purchase, in ticket order, when Redis lost them (restarted empty).
 * Runs before the sale is published again, so no new ticket gets ahead of them
 * at admission. Returns their jobs (and those of tickets a loader that died had
 * re-created already) for the caller to queue; a ticket left without one (the
 * caller died) is queued by the sweeper once it is older than its STALE_MS.
 */
export async function readmitTickets(
  deps: Deps,
  saleId: string,
  // The reload's transaction, which holds the sale's settlement lock (shared/sales/load.ts).
  sql: Sql = deps.db.client,
): Promise<TicketJob[]> {
  const { redis, keys } = deps;
  const rows = await sql<{ ticket_id: string; user_id: string; item_id: string; ca: string }[]>`
    select a.ticket_id, a.user_id, a.item_id,
           (extract(epoch from a.created_at) * 1000)::bigint::text as ca
    from checkout_attempts a
    where a.sale_id = ${Number(saleId)} and a.outcome = 'accepted' and a.ticket_id is not null
      and not exists (select 1 from purchases p where p.ticket_id = a.ticket_id)
    order by split_part(a.ticket_id, '-', 2)::bigint`;
  const jobs: TicketJob[] = [];
  for (let i = 0; i < rows.length; i += BATCH) {
    const chunk = rows.slice(i, i + BATCH);
    const byTicket = new Map(chunk.map((r) => [r.ticket_id, r]));
    const seqs = (await redis.run(
      "readmit",
      [keys.pending(saleId), keys.saleMode(saleId)],
      [
        keys.ticketPrefix(saleId),
        keys.itemPrefix(saleId),
        keys.line(saleId, ""),
        ...chunk.flatMap((r) => [r.ticket_id.split("-")[1] ?? "", r.user_id, r.item_id, r.ca]),
      ],
    )) as (string | number)[];
    for (const seq of seqs) {
      const r = byTicket.get(ticketId(saleId, seq));
      if (r) jobs.push({ ticketId: r.ticket_id, saleId, itemId: r.item_id, userId: r.user_id });
    }
  }
  return jobs;
}
