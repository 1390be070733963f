import type { Job } from "bullmq";

/**
 * Keeps each run's own job lock alive while the run lasts, beside BullMQ's renewal.
 *
 * Why: BullMQ renews locks by job id, not by run. A job woken (promoted) while its
 * previous run is still finishing (between that run's moveToDelayed and BullMQ's
 * clean-up after it) can be fetched again at once; when the old run's clean-up
 * comes, it stops renewing the id, and so the new run's lock. A new run longer than
 * the lock (a slow payment) is then taken for stalled and started a second time
 * while it still runs. Extending by the run's own token cannot be undone by another
 * run; a lock that is no longer this run's is left alone (BullMQ's extendLock checks
 * the token).
 */
export function keepOwnLock<T>(
  run: (job: Job, token?: string) => Promise<T>,
  lockMs: number,
): (job: Job, token?: string) => Promise<T> {
  // As often as BullMQ renews (half the lock): a missed beat still leaves half a lock to spare.
  const every = Math.max(50, Math.floor(lockMs / 2));
  return async (job, token) => {
    if (!token) return run(job, token);
    const timer = setInterval(() => {
      // A failure is a lock that is gone (the run moved the job, or lost it): nothing to keep.
      job.extendLock(token, lockMs).catch(() => {});
    }, every);
    try {
      return await run(job, token);
    } finally {
      clearInterval(timer);
    }
  };
}
