import type { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admit } from "../shared/checkout/admit.js";
import type { TicketJob } from "../shared/checkout/enqueue.js";
import { runMigrations } from "../shared/db/migrate.js";
import { createDeps, type Deps } from "../shared/deps.js";
import { createSale } from "../shared/sales/create.js";
import { createSaleDirectory } from "../shared/sales/directory.js";
import { getTicket } from "../shared/tickets/view.js";
import { openRoom } from "../worker/room-opener.js";
import { crowd } from "./helpers/crowd.js";
import { dropAll, testConfig } from "./helpers/env.js";

// The room's opener at scale, on its own (no worker running, so nothing else opens the
// room): a crowd far bigger than one script call's arguments is drawn, placed and
// queued whole, each ticket once, in the drawn order.

const N = 20_000;
let deps: Deps;
beforeAll(async () => {
  const cfg = testConfig({ FAIR_START_WINDOW_S: "30" });
  await runMigrations(cfg.DATABASE_URL);
  deps = await createDeps(cfg, "test");
});
afterAll(async () => {
  if (deps) await dropAll(deps);
});

describe("a big fair-start room", () => {
  it(`${N.toLocaleString("en")} tickets in the room are shuffled, placed and queued whole`, async () => {
    // Far enough ahead for the crowd to get in on a busy machine; brought forward below.
    const opensAt = Date.now() + 25_000;
    const { saleId } = await createSale(deps, {
      slotKey: "big-room",
      kind: "adhoc",
      startsAt: new Date(opensAt),
      endsAt: new Date(opensAt + 3_600_000),
      userLimit: 1,
      items: ["P", "Q"].map((itemId) => ({ itemId, name: itemId, imageUrl: "https://x.test/i", stock: N })),
    });
    const directory = createSaleDirectory(deps);
    const admitted = await crowd(N, 200, (i) =>
      admit(deps, directory, { userId: `b${i}`, itemId: i % 2 ? "P" : "Q" }),
    );
    expect(Date.now()).toBeLessThan(opensAt);
    expect(admitted.every((a) => a.defer === "room" && a.position === null)).toBe(true);
    // Before the opening the room stays shut.
    const queue = fakeQueue();
    expect(await openRoom(deps, queue.queue, saleId)).toBe(0);

    // The opening, brought forward so the test need not wait for it (Redis holds the start the scripts read).
    await deps.redis.hset(deps.keys.sale(saleId), "sa", Date.now() - 1);
    // Open, but the room is not shuffled yet: these wait behind it, with a place that never under-states.
    const late = [];
    for (let i = 0; i < 5; i++) late.push(await admit(deps, directory, { userId: `late${i}`, itemId: "P" }));
    for (const [i, a] of late.entries()) {
      expect(a.defer).toBe("late");
      expect(a.position).toBe(N / 2 + i + 1);
      expect((await getTicket(deps, a.ticketId))?.position).toBe(N / 2 + i + 1);
    }
    expect(await openRoom(deps, queue.queue, saleId)).toBe(N + late.length);
    const ids = queue.jobs.map((j) => j.ticketId);
    // The whole room first, then the late ones in the order they came.
    expect(new Set(ids.slice(0, N))).toEqual(new Set(admitted.map((a) => a.ticketId)));
    expect(ids.slice(N)).toEqual(late.map((a) => a.ticketId));
    expect((await getTicket(deps, late[0]?.ticketId ?? ""))?.position).toBe(N / 2 + 1);
    expect(await deps.redis.hget(deps.keys.saleMode(saleId), "fs")).toBe("open");

    // Queued in the drawn order, which is each item's line order, which is not arrival order.
    for (const item of ["P", "Q"]) {
      const mine = queue.jobs.filter((j) => j.itemId === item).map((j) => j.ticketId.split("-")[1]);
      expect(await deps.redis.zrange(deps.keys.line(saleId, item), 0, -1)).toEqual(mine);
      const seqs = mine.slice(0, N / 2).map(Number);
      expect(seqs).not.toEqual([...seqs].sort((a, b) => a - b));
    }
    const first = await getTicket(deps, queue.jobs[0]?.ticketId ?? "");
    expect(first).toMatchObject({ status: "queued", position: 1 });
    // Opening again finds nothing left to do.
    expect(await openRoom(deps, queue.queue, saleId)).toBe(0);
    // And checkout queues as usual again.
    expect((await admit(deps, directory, { userId: "after", itemId: "Q" })).defer).toBe("");
  });
});

/** Records what the opener queues instead of queueing it. */
function fakeQueue() {
  const jobs: TicketJob[] = [];
  const queue = {
    async addBulk(batch: { data: TicketJob }[]) {
      jobs.push(...batch.map((b) => b.data));
      return [];
    },
  } as unknown as Queue;
  return { queue, jobs };
}
