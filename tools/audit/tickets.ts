import type { Deps } from "../../shared/deps.js";
import { ticketId, ticketRef } from "../../shared/keys.js";
import { scanKeys } from "../../shared/redis.js";
import { FINAL } from "../../shared/ticket/view.js";
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

// Tickets read per pipeline: a few round trips for a 10,000-ticket sale.
const BATCH = 1000;

async function readSeqs(deps: Pick<Deps, "redis" | "keys">, saleId: string, seqs: number[]) {
  const { redis, keys } = deps;
  const rows: TicketRow[] = [];
  for (let i = 0; i < seqs.length; i += BATCH) {
    const chunk = seqs.slice(i, i + BATCH);
    const pipe = redis.pipeline();
    for (const seq of chunk) pipe.hmget(keys.ticket(saleId, String(seq)), "st", "why", "u", "i", "pid", "k");
    const res = (await pipe.exec()) ?? [];
    res.forEach(([, v], j) => {
      const [status, reason, user, item, pid, key] = v as (string | null)[];
      const seq = chunk[j] as number;
      rows.push({
        // The ticket's id as its client and PostgreSQL know it; a ticket Redis lost has no key here.
        id: key ? ticketId(saleId, seq, key) : ticketRef(saleId, seq),
        seq,
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

/**
 * Tickets 1..(the sale's ticket sequence), read from Redis; one that is not
 * there shows as status "missing". Right for a sale that has never been reloaded.
 */
export async function readTickets(deps: Pick<Deps, "redis" | "keys">, saleId: string): Promise<TicketRow[]> {
  const count = Number((await deps.redis.hget(deps.keys.sale(saleId), "tseq")) ?? 0);
  return readSeqs(
    deps,
    saleId,
    Array.from({ length: count }, (_, i) => i + 1),
  );
}

/**
 * Every ticket of the sale that Redis holds, found by scanning: a sale reloaded
 * from PostgreSQL numbers its tickets from far above 1, so counting up from 1
 * would read a million keys that never existed.
 */
export async function scanTickets(deps: Pick<Deps, "redis" | "keys">, saleId: string): Promise<TicketRow[]> {
  const { redis, keys } = deps;
  const prefix = keys.ticketPrefix(saleId);
  // Escape glob characters; the sale's hash tag braces are not special to MATCH.
  const pattern = `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`;
  const seqs: number[] = [];
  for await (const found of scanKeys(redis, pattern)) {
    for (const key of found) {
      const seq = key.slice(prefix.length);
      if (/^[0-9]+$/.test(seq)) seqs.push(Number(seq));
    }
  }
  seqs.sort((a, b) => a - b);
  return readSeqs(deps, saleId, seqs);
}

/** Waits until every ticket of the sale is final; throws after `timeoutMs` naming a few that are not. */
export async function waitForRest(
  deps: Pick<Deps, "redis" | "keys">,
  saleId: string,
  timeoutMs = 60_000,
  read: typeof readTickets = readTickets,
): Promise<TicketRow[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tickets = await read(deps, saleId);
    const open = tickets.filter((t) => !FINAL.has(t.status));
    if (open.length === 0) return tickets;
    if (Date.now() > deadline) {
      throw new Error(`${open.length} tickets not final, e.g. ${JSON.stringify(open.slice(0, 3))}`);
    }
    await sleep(100);
  }
}
