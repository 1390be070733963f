import type { Queue } from "bullmq";

/**
 * Seconds the job next in line has waited for a worker (0 when none waits): how far
 * the workers are behind. A job re-queued after a run (waiting for a unit, a retry)
 * counts from when its delay ran out, not from its creation, or a ticket that waited
 * on purpose would look like a stalled queue.
 */
export async function oldestWaitingSeconds(queue: Queue, now = Date.now()): Promise<number> {
  // BullMQ lists waiting jobs oldest first when asked this way.
  const [job] = await queue.getWaiting(0, 0);
  if (!job) return 0;
  const readyAt = Math.max(job.timestamp, job.processedOn ?? 0) + (job.delay ?? 0);
  return Math.max(0, (now - readyAt) / 1000);
}
