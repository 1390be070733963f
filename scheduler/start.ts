import { Queue, Worker } from "bullmq";
import type { Deps } from "../shared/deps.js";
import { CALENDAR_QUEUE, calendarQueueOptions } from "../shared/queues.js";
import { createRedis } from "../shared/redis.js";
import { tickCalendar } from "./calendar.js";

// A stable id: every scheduler upserts the same job scheduler, so running two
// never doubles the ticks.
const SCHEDULER_ID = "sale-calendar";
// Each minute at second 0, UTC.
const EVERY_MINUTE = "0 * * * * *";

/** Runs the sale calendar: a BullMQ job scheduler ticks every minute; this process handles the ticks. */
export async function startScheduler(deps: Deps) {
  const connection = createRedis(deps.cfg, {
    forWorker: true,
    name: `${deps.keys.prefix}:scheduler`,
  });
  const opts = calendarQueueOptions(deps.keys);
  const queue = new Queue(CALENDAR_QUEUE, { connection, ...opts });
  await queue.upsertJobScheduler(SCHEDULER_ID, { pattern: EVERY_MINUTE, tz: "UTC" }, { name: "tick" });
  const worker = new Worker(
    CALENDAR_QUEUE,
    async () => {
      const r = await tickCalendar(deps);
      if (r.created.length || r.closed.length) deps.log.info(r, "calendar tick");
      return r;
    },
    { connection, prefix: opts.prefix, concurrency: 1 },
  );
  worker.on("error", (err) => deps.log.error({ err: err.message }, "scheduler worker error"));
  // Don't wait for the first tick: a shop started mid-hour opens now.
  const first = await tickCalendar(deps);
  deps.log.info(first, "scheduler ready");
  return {
    async close() {
      await worker.close();
      await queue.close();
      await connection.quit().catch(() => {});
    },
  };
}
