import { createBatcher } from "../batcher.js";
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
