import { afterEach, describe, expect, it } from "vitest";
import { scanKeys } from "../shared/redis.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { waitForRest } from "../tools/harness/invariants.js";
import { untilFinal } from "./helpers/shopper.js";

// The queue dashboard's history (issue 15): completed checkout jobs are kept, the newest
// JOB_HISTORY of them, so /admin/queues shows the sale just run; the cap is a count, so
// Redis holds no more job hashes however many tickets a sale has. 0 removes each at once.

let env: TestEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

/** Buys `n` units, one shopper each, and waits until every ticket is final and the sale at rest. */
async function sell(e: TestEnv, n: number) {
  const saleId = await e.createSale({ items: [{ item_id: "H", stock: n }], user_limit: 1 });
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const res = await e.json<{ ticket_id: string }>(`/checkout?user_id=h${i}&id=H&sale_id=${saleId}`, {
        method: "POST",
      });
      expect(await untilFinal(e, res.body.ticket_id)).toMatchObject({ status: "purchased" });
    }),
  );
  await waitForRest(e.deps, saleId);
}

/** The checkout queue's job hashes in Redis (`<bull>:checkout:<job id>`, no further part). */
async function jobHashes(e: TestEnv) {
  const prefix = `${e.deps.keys.bull}:checkout:`;
  const jobs: string[] = [];
  for await (const keys of scanKeys(e.deps.redis, `${prefix}*`))
    for (const k of keys) if (/^(b-)?\d+-\d+$/.test(k.slice(prefix.length))) jobs.push(k);
  return jobs;
}

describe("completed checkout jobs", () => {
  it("the newest JOB_HISTORY are kept, and no more however many complete", async () => {
    env = await createTestEnv({ env: { JOB_HISTORY: "5", JOB_BATCH_MAX: "1" } });
    await sell(env, 30);
    const counts = await env.api.ctx.queue.getJobCounts(
      "completed",
      "failed",
      "waiting",
      "delayed",
      "active",
    );
    expect(counts).toEqual({ completed: 5, failed: 0, waiting: 0, delayed: 0, active: 0 });
    expect(await jobHashes(env)).toHaveLength(5);
    // The dashboard's own API lists them.
    const board = await env.json<{ queues: { name: string; counts: Record<string, number> }[] }>(
      "/admin/queues/api/queues",
      { admin: true },
    );
    expect(board.body.queues.find((q) => q.name === "checkout")?.counts.completed).toBe(5);
  });

  it("JOB_HISTORY=0 removes each job as it completes", async () => {
    env = await createTestEnv({ env: { JOB_HISTORY: "0", JOB_BATCH_MAX: "1" } });
    await sell(env, 10);
    expect(await env.api.ctx.queue.getJobCounts("completed")).toEqual({ completed: 0 });
    expect(await jobHashes(env)).toEqual([]);
  });
});
