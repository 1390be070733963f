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
const EVERY_SECOND = "* * * * * *";

/**
 * When the calendar ticks (a cron pattern with seconds, UTC). A tick must land on every
 * period start, so a sale created with no lead opens on time: each minute at second 0
 * does when the period is whole minutes (the hourly calendar), and periods start on
 * whole seconds, so any other period ticks each second.
 */
export function tickPattern(periodS: number): string {
  return periodS % 60 === 0 ? EVERY_MINUTE : EVERY_SECOND;
}
// How often the job scheduler is checked for: a Redis that restarted empty lost it.
const ENSURE_MS = 5000;

/** Runs the sale calendar: a BullMQ job scheduler ticks (tickPattern); this process handles the ticks. */
export async function startScheduler(deps: Deps) {
  const { SALE_PERIOD_S, SALE_LEAD_S } = deps.cfg;
  if (SALE_LEAD_S > SALE_PERIOD_S)
    deps.log.info(
      { SALE_LEAD_S, SALE_PERIOD_S },
      "SALE_LEAD_S is longer than the period: each sale is created as the one before it starts",
    );
  const connection = createRedis(deps.cfg, {
    forWorker: true,
    name: `${deps.keys.prefix}:scheduler`,
  });
  const opts = calendarQueueOptions(deps.keys);
  const queue = new Queue(CALENDAR_QUEUE, { connection, ...opts });
  const upsert = () =>
    queue.upsertJobScheduler(
      SCHEDULER_ID,
      { pattern: tickPattern(SALE_PERIOD_S), tz: "UTC" },
      { name: "tick" },
    );
  await upsert();
  const ensure = setInterval(async () => {
    try {
      if (await queue.getJobScheduler(SCHEDULER_ID)) return;
      await upsert();
      deps.log.warn("the calendar's job scheduler was gone (Redis emptied?): registered it again");
    } catch (err) {
      deps.log.debug({ err: String(err) }, "could not check the calendar's job scheduler");
    }
  }, ENSURE_MS);
  ensure.unref();
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
  // Don't wait for the first tick: a shop started mid-period opens now.
  const first = await tickCalendar(deps);
  deps.log.info(first, "scheduler ready");
  return {
    async close() {
      clearInterval(ensure);
      await worker.close();
      await queue.close();
      await connection.quit().catch(() => {});
    },
  };
}
