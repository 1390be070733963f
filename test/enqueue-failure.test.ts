import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHECKOUT_QUEUE, checkoutQueueOptions } from "../shared/queues.js";
import { sweep } from "../shared/ticket/sweep.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { checkInvariants, readTickets } from "../tools/harness/invariants.js";

// Admission and enqueue agree (issue 13): a checkout either answers 202 with a ticket
// that is queued, or an error, leaving nothing that could later buy. Here the API's
// queue's Redis connection is closed under it (the admission goes through the API's other
// connection), so admission succeeds and the enqueue fails.

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ workers: 1, env: { LOG_LEVEL: "fatal" } });
});
afterAll(async () => {
  await env?.close();
});

describe("a checkout whose enqueue fails", () => {
  it("answers 503 unavailable, and leaves no ticket that the sweeper could queue and sell", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "lost", stock: 1 }] });
    // The API can still admit (its Redis connection is fine), but no longer queue.
    (env.api.ctx.queue.opts.connection as unknown as { disconnect(): void }).disconnect();
    const res = await env.json<{ error: { code: string } }>("/checkout?user_id=u1&id=lost", {
      method: "POST",
      headers: { "Idempotency-Key": "retry-me" },
    });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("unavailable");
    expect(res.headers.get("retry-after")).toBe("1");

    // The admission was taken back: the ticket is final, nothing waits in line, the unit is free.
    const [ticket] = await readTickets(env.deps, saleId);
    expect(ticket).toMatchObject({ status: "rejected", reason: "unavailable" });
    const item = await env.deps.redis.hmget(env.deps.keys.item(saleId, "lost"), "av", "q");
    expect(item).toEqual(["1", "0"]);
    // Old enough to be called orphaned, it is still not queued by the sweeper.
    const queue = new Queue(CHECKOUT_QUEUE, {
      connection: env.deps.redis,
      ...checkoutQueueOptions(env.deps.keys),
    });
    try {
      expect(await sweep(env.deps, queue, Date.now() + 60_000)).toEqual([]);
      expect(await queue.getJobCounts("wait", "delayed", "active")).toEqual({
        wait: 0,
        delayed: 0,
        active: 0,
      });
    } finally {
      await queue.close();
    }
    // Nothing was sold, and the sale adds up.
    const report = await checkInvariants(env.deps, saleId);
    expect(report.violations).toEqual([]);
    expect(report.sold).toBe(0);
    // The key is free again: a retry is a new checkout (refused 503 again here, as the queue is still closed).
    const retry = await env.json<{ error: { code: string } }>("/checkout?user_id=u1&id=lost", {
      method: "POST",
      headers: { "Idempotency-Key": "retry-me" },
    });
    expect(retry.status).toBe(503);
    expect((await readTickets(env.deps, saleId)).map((t) => t.status)).toEqual(["rejected", "rejected"]);
  });
});
