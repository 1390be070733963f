import { DelayedError, type Job, Queue, Worker } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { checkoutWorkerOptions } from "../shared/queues.js";
import { createRedis } from "../shared/redis.js";
import { sleep } from "../shared/time.js";
import { testConfig } from "../tools/harness/env.js";
import { keepOwnLock } from "../worker/own-lock.js";

// A job never processed by two runs at once (issue 13). A ticket's job sleeps with
// moveToDelayed and is woken with promote (worker/process-ticket.ts sleepUntil,
// wakeTickets): woken while its sleeping run is still finishing, it is fetched again
// before BullMQ has cleaned up after the old run, and that clean-up stops the lock
// renewal of the job's id, so of the new run. Here the old run's finishing is held
// open a little (in production a busy event loop or a slow Redis reply does it), and
// the new run lasts longer than the lock, as a slow payment does.

// Long enough that a loaded machine still renews in time (every half lock), short enough for a quick test.
const LOCK_MS = 1500;
const cfg = testConfig({ JOB_LOCK_MS: String(LOCK_MS) });
const conns: ReturnType<typeof createRedis>[] = [];
afterAll(async () => {
  await Promise.all(conns.map((c) => c.quit().catch(() => {})));
});

interface Run {
  n: number;
  from: number;
  to: number;
}

/** Runs one job through the promote-while-finishing case; returns its runs and how many times it stalled. */
async function wokenWhileFinishing(wrap: (p: (job: Job, token?: string) => Promise<void>) => typeof p) {
  const connection = createRedis(cfg, { forWorker: true });
  conns.push(connection);
  const name = `lock-${Math.random().toString(36).slice(2)}`;
  const prefix = `${cfg.REDIS_PREFIX}:bull`;
  const queue = new Queue(name, { connection, prefix });
  const runs: Run[] = [];
  const process = async (job: Job, token?: string) => {
    const run = { n: runs.length + 1, from: Date.now(), to: 0 };
    runs.push(run);
    try {
      if (run.n === 1) {
        // Asleep until woken, as a ticket waiting for its unit is, and woken at once...
        await job.moveToDelayed(Date.now() + 60_000, token);
        await job.promote();
        // ...while this run is still finishing.
        await sleep(LOCK_MS / 2);
        throw new DelayedError();
      }
      // The run woken: longer than the lock, as a slow payment is.
      await sleep(LOCK_MS * 3);
    } finally {
      run.to = Date.now();
    }
  };
  const worker = new Worker(name, wrap(process), {
    ...checkoutWorkerOptions(cfg, { bull: prefix } as Parameters<typeof checkoutWorkerOptions>[1]),
    connection,
    concurrency: 4,
  });
  // A run finishing after its lock was taken over fails to move its job: expected here.
  worker.on("error", () => {});
  let stalled = 0;
  const ended = new Promise<void>((resolve) => {
    worker.on("completed", () => resolve());
    worker.on("stalled", () => {
      stalled++;
      resolve();
    });
  });
  await queue.add("ticket", {}, { jobId: "1-1" });
  await Promise.race([ended, sleep(LOCK_MS * 10)]);
  // A run started after a stall, while the stalled one still runs, has its time to show.
  await sleep(LOCK_MS);
  await worker.close(true);
  await queue.obliterate({ force: true });
  await queue.close();
  // Runs started while the woken run (the second) was still going.
  const second = runs[1];
  const overlapping = runs.filter((r) => r.n > 2 && second && (second.to === 0 || r.from < second.to));
  return { runs: runs.length, stalled, overlapping: overlapping.length };
}

describe("a job woken while its previous run is finishing", () => {
  it("is run once more, never twice at once, with each run keeping its own lock", async () => {
    const r = await wokenWhileFinishing((p) => keepOwnLock(p, LOCK_MS));
    expect(r).toEqual({ runs: 2, stalled: 0, overlapping: 0 });
  });

  it("(the case provoked: without its own lock, BullMQ alone lets the woken run stall and run twice)", async () => {
    const r = await wokenWhileFinishing((p) => p);
    expect(r.stalled).toBeGreaterThan(0);
    expect(r.overlapping).toBeGreaterThan(0);
  });
});
