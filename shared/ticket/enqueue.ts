import type { Queue } from "bullmq";
import { createBatcher } from "../batcher.js";
import { refOf, ticketRef } from "../keys.js";
import { BATCH_JOB, type CheckoutQueue, TICKET_JOB, type TicketJob } from "../queues.js";

/**
 * Queues tickets in this order, now, a job each: the job id is the ticket's ref
 * (`<sale>-<seq>`, shared/keys.ts), so a ticket added twice is queued once and whoever
 * changes a sleeping ticket can wake its job without knowing its id.
 */
export async function addTicketJobs(queue: CheckoutQueue, jobs: TicketJob[]): Promise<void> {
  await queue.addBulk(jobs.map(ticketJob));
}

/** A ticket's own job: named TICKET_JOB, its id the ticket's ref. */
const ticketJob = (data: TicketJob) => ({ name: TICKET_JOB, data, opts: { jobId: refOf(data.ticketId) } });

/** The id of the batch job that starts with the ticket at `ref` (`<sale>-<seq>`). */
export const batchJobId = (ref: string) => `b-${ref}`;

/**
 * Runs sleeping tickets' jobs now rather than at their next re-check: a ticket handed a
 * unit, confirmed, or rejected while its job was delayed. A job that is not delayed
 * (active, or gone) is left alone: its own worker looks at the ticket after its move.
 */
export async function wakeTickets(queue: Queue, saleId: string, seqs: string[]): Promise<void> {
  await Promise.allSettled(
    seqs.map(async (seq) => {
      const job = await queue.getJob(ticketRef(saleId, seq));
      await job?.promote();
    }),
  );
}

/**
 * The jobs for tickets accepted together, in their order: runs of one sale cut into
 * batches of at most `max`. A batch's id is its first ticket's ref with a "b-" in front,
 * so a batch added twice is queued once; a lone ticket keeps the plain ticket job.
 */
export function batchJobs(tickets: TicketJob[], max: number) {
  const jobs: { name: string; data: unknown; opts: { jobId: string } }[] = [];
  let run: TicketJob[] = [];
  const cut = () => {
    const [first] = run;
    if (!first) return;
    if (run.length === 1) jobs.push(ticketJob(first));
    else
      jobs.push({
        name: BATCH_JOB,
        data: {
          saleId: first.saleId,
          tickets: run.map(({ ticketId, itemId, userId }) => ({ ticketId, itemId, userId })),
        },
        opts: { jobId: batchJobId(refOf(first.ticketId)) },
      });
    run = [];
  };
  for (const t of tickets) {
    if (run.length >= max || (run[0] && run[0].saleId !== t.saleId)) cut();
    run.push(t);
  }
  cut();
  return jobs;
}

/**
 * Puts accepted tickets on the FIFO queue. Tickets accepted in the same turn of the event loop share
 * one addBulk round trip, in the order they were accepted, and those of one sale travel
 * as batch jobs of up to `batchMax` tickets (BullMQ's cost is per job).
 */
export function createEnqueuer(queue: CheckoutQueue, batchMax: number) {
  const batcher = createBatcher<TicketJob, void>(
    async (tickets) => {
      await queue.addBulk(batchJobs(tickets, batchMax) as Parameters<CheckoutQueue["addBulk"]>[0]);
      return tickets.map(() => undefined);
    },
    // One addBulk at a time: while it is out, the next batch gathers (larger jobs under load).
    { max: 1000, waitMs: 0, concurrency: 1 },
  );
  return { enqueue: (job: TicketJob) => batcher.push(job), drain: () => batcher.drain() };
}

export type Enqueuer = ReturnType<typeof createEnqueuer>;
