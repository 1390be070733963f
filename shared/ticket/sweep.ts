import type { Queue } from "bullmq";
import type { Deps } from "../deps.js";
import { roomToOpen } from "../fields.js";
import { parseTicketId, ticketId, ticketRef } from "../keys.js";
import { batchJobSchema, TICKET_JOB } from "../queues.js";
import { batchJobId } from "./enqueue.js";
import { FINAL } from "./view.js";

// A ticket with no job can exist: its API died between accepting it and
// queueing it, or its job used up every attempt. A sweep (run every few seconds by one
// worker: worker/sweeper.ts) looks at tickets older than STALE_MS that are not
// final, and gives each one a job again. The job id is the ticket id, so a
// ticket whose job is alive is left alone, and so is one in a batch job still to run.
const STALE_MS = 30_000;
const BATCH = 500;
// Tickets looked at per sale and sweep, so one sweep stays short.
const MAX_SCAN = 20_000;
// How long after its opening a fair-start room is left to its opener alone.
const ROOM_GRACE_MS = 60_000;

/** One pass over every recent sale; returns the tickets that were given a job again. */
export async function sweep(deps: Deps, queue: Queue, now = Date.now()): Promise<string[]> {
  const revived: string[] = [];
  for (const saleId of await deps.redis.zrevrange(deps.keys.timeline, 0, 49)) {
    revived.push(...(await sweepSale(deps, queue, saleId, now)));
  }
  return revived;
}

async function sweepSale(deps: Deps, queue: Queue, saleId: string, now: number): Promise<string[]> {
  const { redis, keys } = deps;
  // A fair-start room's tickets have no job until its opener queues them (shared/sale/open-rooms.ts),
  // within a second of the opening; should no opener get to it, they are swept like any other.
  const [room, [startsAt, tseq]] = await Promise.all([
    redis.hget(keys.saleMode(saleId), "fs"),
    redis.hmget(keys.sale(saleId), "sa", "tseq"),
  ]);
  if (roomToOpen(room) && now < Number(startsAt) + ROOM_GRACE_MS) return [];
  const last = Number(tseq ?? 0);
  let cursor = Math.max(1, Number((await redis.get(keys.sweepCursor(saleId))) ?? 1));
  const revived: string[] = [];
  const batches = liveBatches(deps, queue, saleId);
  let settledPrefix = true;
  for (let from = cursor; from <= last && from < cursor + MAX_SCAN; from += BATCH) {
    const pipe = redis.pipeline();
    const to = Math.min(last, from + BATCH - 1);
    for (let seq = from; seq <= to; seq++)
      pipe.hmget(keys.ticket(saleId, String(seq)), "st", "ca", "u", "i", "k");
    const rows = (await pipe.exec()) ?? [];
    for (const [i, [, v]] of rows.entries()) {
      const [st, ca, user, item, key] = v as (string | null)[];
      const seq = from + i;
      if (!st || FINAL.has(st)) {
        // Tickets are mostly done in order: skip past the done ones next time.
        if (settledPrefix) cursor = seq + 1;
        continue;
      }
      settledPrefix = false;
      // Younger tickets are in the hands of a live job (or will be).
      if (Number(ca) > now - STALE_MS) {
        await redis.set(keys.sweepCursor(saleId), String(cursor));
        return revived;
      }
      const id = ticketId(saleId, seq, key ?? "");
      if (await batches.holds(seq)) continue;
      if (
        await revive(queue, ticketRef(saleId, seq), {
          ticketId: id,
          saleId,
          itemId: item ?? "",
          userId: user ?? "",
        })
      ) {
        revived.push(id);
      }
    }
  }
  await redis.set(keys.sweepCursor(saleId), String(cursor));
  if (revived.length)
    deps.log.warn({ sale: saleId, tickets: revived.length }, "gave orphaned tickets a job again");
  return revived;
}

/**
 * Whether a ticket is in a batch job still to be run (shared/ticket/enqueue.ts): such a
 * ticket has no job of its own, and is in the hands of its batch. A batch's id is its
 * first ticket's, so only the JOB_BATCH_MAX ids up to the ticket's can hold it; each is
 * read once per sweep of the sale.
 */
function liveBatches(deps: Deps, queue: Queue, saleId: string) {
  const known = new Map<number, Set<number>>();
  return {
    async holds(seq: number): Promise<boolean> {
      const from = Math.max(1, seq - deps.cfg.JOB_BATCH_MAX + 1);
      const unread: number[] = [];
      for (let lead = from; lead <= seq; lead++) if (!known.has(lead)) unread.push(lead);
      if (unread.length > 0) {
        const pipe = deps.redis.pipeline();
        for (const lead of unread)
          pipe.hmget(queue.toKey(batchJobId(ticketRef(saleId, lead))), "data", "finishedOn");
        const rows = (await pipe.exec()) ?? [];
        unread.forEach((lead, i) => {
          const [data, finishedOn] = (rows[i]?.[1] ?? []) as (string | null)[];
          const members = new Set<number>();
          // A finished batch (failed for good) holds nothing any more.
          if (data && !finishedOn) {
            const parsed = batchJobSchema.safeParse(JSON.parse(data));
            if (parsed.success)
              for (const t of parsed.data.tickets) members.add(Number(parseTicketId(t.ticketId)?.seq));
          }
          known.set(lead, members);
        });
      }
      for (let lead = from; lead <= seq; lead++) if (known.get(lead)?.has(seq)) return true;
      return false;
    },
  };
}

/**
 * Gives a ticket its job (by its ref, as shared/ticket/enqueue.ts does), or retries a
 * finished one with its data rebuilt from the ticket: a job that failed because its data
 * was spoiled (edited on the dashboard, which shows refs in place of ids) would
 * otherwise fail again at every sweep, and its ticket never end.
 */
async function revive(queue: Queue, ref: string, data: Record<string, string>): Promise<boolean> {
  const job = await queue.getJob(ref);
  if (!job) {
    await queue.add(TICKET_JOB, data, { jobId: ref });
    return true;
  }
  // A completed job is kept a while for the dashboard (JOB_HISTORY); a ticket still not
  // final behind one is run again, as it would be given a new job were the old one removed.
  const state = await job.getState();
  if (state === "failed" || state === "completed") {
    await job.updateData(data);
    await job.retry(state);
    return true;
  }
  return false;
}
