import { type Job, UnrecoverableError } from "bullmq";
import { refOf } from "../shared/keys.js";
import type { TicketJob } from "../shared/queues.js";
import { batchJobSchema } from "../shared/queues.js";
import { addTicketJobs } from "../shared/ticket/enqueue.js";
import { reserveMany } from "../shared/ticket/reserve.js";
import { type TicketKeys, ticketKeys } from "../shared/ticket/ticket-keys.js";
import { pay, type WorkerCtx } from "./process-ticket.js";

/**
 * Tickets of one sale admitted together, in ticket order: one reserve call for all of
 * them, then each reserved ticket pays and settles (payment starts, approvals, settlements
 * and their mirroring in Redis batch again across tickets). A ticket that must sleep
 * (waiting for a unit, a two_step hold, another attempt's payment) or that meets an error
 * leaves the batch as a ticket job of its own, whose id is the ticket's place (`<sale>-<seq>`), so waking and
 * retrying it work as for any ticket; its batch-mates carry on. Every step follows the
 * ticket's state in Redis, so a batch run again (its worker died) redoes only what was
 * not done.
 */
export async function processBatch(ctx: WorkerCtx, job: Job): Promise<void> {
  const parsed = batchJobSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`bad batch job: ${parsed.error.message}`);
  const { saleId, tickets } = parsed.data;
  const data: TicketJob[] = tickets.map((t) => ({ ...t, saleId }));
  const ks = data.map((d) => ticketKeys(ctx.deps, d));
  const reservations = await reserveMany(ctx.deps, ks);

  const alone: TicketJob[] = [];
  const reserved: [TicketJob, TicketKeys][] = [];
  data.forEach((d, i) => {
    const { state, reason } = reservations[i] ?? {};
    const k = ks[i];
    if (state === "reserved" && k) reserved.push([d, k]);
    else if (state === "rejected" && reason)
      ctx.counters.inc("tickets_total", { status: "rejected", reason });
    else if (state === "held" || state === "waiting" || state === "paying" || state === "error")
      alone.push(d);
    // Otherwise final already (the batch runs again) or gone: nothing left to do.
  });
  // Before anyone pays: should this fail, the batch is retried whole and nothing is in flight.
  if (alone.length > 0) await addTicketJobs(ctx.queue, alone.splice(0));
  await Promise.all(reserved.map(([d, k]) => payInBatch(ctx, d, k, alone)));
  if (alone.length > 0) await addTicketJobs(ctx.queue, alone);
}

async function payInBatch(ctx: WorkerCtx, d: TicketJob, k: TicketKeys, alone: TicketJob[]) {
  try {
    if ((await pay(ctx, d, k)) === "resume") alone.push(d);
  } catch (err) {
    // Retried alone: its own job's attempts and backoff, never its batch-mates'.
    ctx.deps.log.warn(
      { ticket: refOf(d.ticketId), err: (err as Error).message },
      "ticket left its batch after an error",
    );
    alone.push(d);
  }
}
