import { createBatcher } from "../batcher.js";
import type { CheckoutJob, CheckoutQueue } from "../queues.js";

export interface TicketJob extends CheckoutJob {
  saleId: string;
  itemId: string;
  userId: string;
}

/**
 * Puts accepted tickets on the FIFO queue. Tickets accepted in the same instant
 * share one addBulk round trip, in the order they were accepted; the job id is
 * the ticket id, so adding a ticket twice queues it once.
 */
export function createEnqueuer(queue: CheckoutQueue) {
  const batcher = createBatcher<TicketJob, void>(
    async (jobs) => {
      await queue.addBulk(jobs.map((data) => ({ name: "ticket", data, opts: { jobId: data.ticketId } })));
      return jobs.map(() => undefined);
    },
    { max: 500, waitMs: 0, concurrency: 4 },
  );
  return { enqueue: (job: TicketJob) => batcher.push(job), drain: () => batcher.drain() };
}

export type Enqueuer = ReturnType<typeof createEnqueuer>;
