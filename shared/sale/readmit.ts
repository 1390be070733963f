import type { Sql } from "../db/client.js";
import type { Deps } from "../deps.js";
import { parseTicketId } from "../keys.js";
import type { TicketJob } from "../queues.js";
import { defineBatchScript } from "../scripts/define.js";

// Tickets per script call (five arguments each): short calls, few round trips.
const BATCH = 500;

const readmit = defineBatchScript({
  name: "readmit",
  lua: new URL("./readmit.lua", import.meta.url),
  helpers: ["now_ms"],
  keys: ["pending", "saleMode"],
  args: ["ticketPrefix", "itemPrefix", "linePrefix", "userTicketsPrefix"],
  each: { keys: [], args: ["seq", "user", "item", "acceptedAt", "key"] },
  // The seqs that need a job: re-created now, or found queued (re-created by a loader that died).
  decode: (raw) => ({ seqs: Array.isArray(raw) ? raw.map(String) : [] }),
});

/**
 * Re-creates, queued, the tickets PostgreSQL recorded as accepted for a sale and
 * that have no purchase and were not cancelled by their holder (DELETE /tickets/{id}),
 * in ticket order, when Redis lost them (restarted empty). Runs before the sale is published again, so no new ticket gets ahead of them
 * at admission. Returns their jobs (and those of tickets a loader that died had
 * re-created already) for the caller to queue; a ticket left without one (the
 * caller died) is queued by the sweeper once it is older than its STALE_MS.
 */
export async function readmitTickets(
  deps: Deps,
  saleId: string,
  // The reload's transaction, which holds the sale's settlement lock (shared/sale/load.ts).
  sql: Sql = deps.db.client,
): Promise<TicketJob[]> {
  const { redis, keys } = deps;
  const rows = await sql<{ ticket_id: string; user_id: string; item_id: string; ca: string }[]>`
    select a.ticket_id, a.user_id, a.item_id,
           (extract(epoch from a.created_at) * 1000)::bigint::text as ca
    from checkout_attempts a
    where a.sale_id = ${Number(saleId)} and a.outcome = 'accepted' and a.ticket_id is not null
      and not exists (select 1 from purchases p where p.ticket_id = a.ticket_id)
      and a.ticket_id not in (
        select c.ticket_id from checkout_attempts c
        where c.sale_id = ${Number(saleId)} and c.outcome = 'cancelled' and c.ticket_id is not null)
    order by split_part(a.ticket_id, '-', 2)::bigint`;
  const jobs: TicketJob[] = [];
  // Ticket ids carry their seq and key (shared/keys.ts); one that does not parse was never ours.
  const parsed = rows.flatMap((r) => {
    const ref = parseTicketId(r.ticket_id);
    return ref ? [{ ...r, seq: ref.seq, key: ref.key }] : [];
  });
  for (let i = 0; i < parsed.length; i += BATCH) {
    const chunk = parsed.slice(i, i + BATCH);
    const bySeq = new Map(chunk.map((r) => [r.seq, r]));
    const { seqs } = await readmit.run(
      redis,
      { pending: keys.pending(saleId), saleMode: keys.saleMode(saleId) },
      {
        ticketPrefix: keys.ticketPrefix(saleId),
        itemPrefix: keys.itemPrefix(saleId),
        linePrefix: keys.line(saleId, ""),
        userTicketsPrefix: keys.userTicketsPrefix(saleId),
      },
      chunk.map((r) => ({
        keys: {},
        args: { seq: r.seq, user: r.user_id, item: r.item_id, acceptedAt: r.ca, key: r.key },
      })),
    );
    for (const seq of seqs) {
      const r = bySeq.get(seq);
      if (r) jobs.push({ ticketId: r.ticket_id, saleId, itemId: r.item_id, userId: r.user_id });
    }
  }
  return jobs;
}
