import type { Queue } from "bullmq";
import { createBatcher } from "../batcher.js";
import { ticketId } from "../keys.js";
import type { CheckoutJob, CheckoutQueue } from "../queues.js";

export interface TicketJob extends CheckoutJob {
  saleId: string;
  itemId: string;
  userId: string;
}

/** Queues tickets in this order, now: the job id is the ticket id, so a ticket added twice is queued once. */
export async function addTicketJobs(queue: CheckoutQueue, jobs: TicketJob[]): Promise<void> {
  await queue.addBulk(jobs.map((data) => ({ name: "ticket", data, opts: { jobId: data.ticketId } })));
}

/**
 * Runs sleeping tickets' jobs now rather than at their next re-check: a ticket handed a
 * unit, confirmed, or rejected while its job was delayed. A job that is not delayed
 * (active, or gone) is left alone: its own worker looks at the ticket after its move.
 */
export async function wakeTickets(queue: Queue, saleId: string, seqs: string[]): Promise<void> {
  await Promise.allSettled(
    seqs.map(async (seq) => {
      const job = await queue.getJob(ticketId(saleId, seq));
      await job?.promote();
    }),
  );
}

/**
 * Puts accepted tickets on the FIFO queue. Tickets accepted in the same instant
 * share one addBulk round trip, in the order they were accepted; the job id is
 * the ticket id, so adding a ticket twice queues it once.
 */
export function createEnqueuer(queue: CheckoutQueue) {
  const batcher = createBatcher<TicketJob, void>(
    async (jobs) => {
      await addTicketJobs(queue, jobs);
      return jobs.map(() => undefined);
    },
    { max: 500, waitMs: 0, concurrency: 4 },
  );
  return { enqueue: (job: TicketJob) => batcher.push(job), drain: () => batcher.drain() };
}

export type Enqueuer = ReturnType<typeof createEnqueuer>;
