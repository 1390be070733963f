import { type Job, Queue, Worker } from "bullmq";
import type { Deps } from "../shared/deps.js";
import { createCounterSink } from "../shared/metrics/counters.js";
import { createPaymentDesk } from "../shared/payment/desk.js";
import { initSettings } from "../shared/payment/settings.js";
import { watchSettings } from "../shared/payment/settings-watcher.js";
import { createSlotPool } from "../shared/payment/slots.js";
import { BATCH_JOB, CHECKOUT_QUEUE, checkoutQueueOptions, checkoutWorkerOptions } from "../shared/queues.js";
import { createRedis } from "../shared/redis.js";
import { createSettler } from "../shared/settlement/settle.js";
import { startWorkerMetrics } from "./metrics-server.js";
import { keepOwnLock } from "./own-lock.js";
import { processBatch } from "./process-batch.js";
import { processTicket, type WorkerCtx } from "./process-ticket.js";
import { startRoomOpener } from "./room-opener.js";
import { startSweeper } from "./sweeper.js";

// Time a stopping worker gives tickets in flight before it lets go of them; their
// jobs are picked up again by another worker when their locks run out.
const CLOSE_TIMEOUT_MS = 10_000;

/** Runs checkout workers in this process until `close` is called. */
export async function startWorker(deps: Deps) {
  await initSettings(deps);
  const settings = watchSettings(deps);
  await settings.ready;
  const connection = createRedis(deps.cfg, { forWorker: true, name: `${deps.keys.prefix}:worker` });
  const queue = new Queue(CHECKOUT_QUEUE, { connection, ...checkoutQueueOptions(deps.keys) });
  const slots = createSlotPool(deps, settings);
  const counters = createCounterSink(deps);
  const settler = createSettler(deps, counters);
  const desk = createPaymentDesk(deps, settings, slots);
  const ctx: WorkerCtx = { deps, slots, desk, settler, queue, counters };
  // A batch reserves for all its tickets as it starts, in queue order, whichever process
  // runs it: so a process never holds a fetched job back (that would let another process
  // serve later tickets first).
  const run = keepOwnLock(
    (job: Job, token?: string) =>
      job.name === BATCH_JOB ? processBatch(ctx, job) : processTicket(ctx, job, token),
    deps.cfg.JOB_LOCK_MS,
  );
  // Jobs in hand are counted only for a metrics endpoint: without one the run is as before.
  const metrics = deps.cfg.WORKER_METRICS_PORT ? await startWorkerMetrics(deps, run) : null;
  const worker = new Worker(CHECKOUT_QUEUE, metrics?.run ?? run, {
    connection,
    ...checkoutWorkerOptions(deps.cfg, deps.keys),
  });
  worker.on("failed", (job, err) => {
    if (err.name === "DelayedError") return;
    deps.log.warn({ ticket: job?.id, attempt: job?.attemptsMade, err: err.message }, "ticket attempt failed");
  });
  worker.on("error", (err) => deps.log.error({ err: err.message }, "worker error"));
  await worker.waitUntilReady();
  const sweeper = startSweeper(deps, queue);
  const rooms = startRoomOpener(deps, queue);
  deps.log.info({ concurrency: deps.cfg.WORKER_CONCURRENCY }, "worker ready");

  return {
    worker,
    settings,
    async close() {
      settings.stop();
      await sweeper.stop();
      await rooms.stop();
      const closing = worker.close();
      const timedOut = await Promise.race([
        closing.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), CLOSE_TIMEOUT_MS).unref()),
      ]);
      if (timedOut) await worker.close(true);
      slots.close();
      await settler.drain();
      await counters.close();
      await metrics?.close();
      await queue.close();
      await connection.quit().catch(() => {});
    },
  };
}
