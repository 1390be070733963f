import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admit } from "../shared/checkout/admit.js";
import { runMigrations } from "../shared/db/migrate.js";
import { createDeps, type Deps } from "../shared/deps.js";
import { takeLock } from "../shared/lock.js";
import type { TicketJob } from "../shared/queues.js";
import { CHECKOUT_QUEUE, checkoutQueueOptions } from "../shared/queues.js";
import { createSale } from "../shared/sale/create.js";
import { createSaleDirectory } from "../shared/sale/directory.js";
import { openRoom } from "../shared/sale/open-rooms.js";
import { getTicket } from "../shared/ticket/view.js";
import { sleep } from "../shared/time.js";
import { crowd } from "../tools/harness/crowd.js";
import { dropAll, testConfig } from "../tools/harness/env.js";

// The room's opener at scale, on its own (no worker running, so nothing else opens the
// room): a crowd far bigger than one script call's arguments is drawn, placed and
// queued whole, each ticket once, in the drawn order.
//
// No test here waits for a real opening: each sale opens far ahead, inside a wide room
// window, so its crowd gets in however slow the machine is, and the opening is then
// brought forward in Redis (which holds the start the scripts read).

const N = 20_000;
// Wide, so a crowd admitted on a loaded machine is still all in the room.
const WINDOW_S = 600;
const OPENS_IN_MS = (WINDOW_S * 1000) / 2;
let deps: Deps;
beforeAll(async () => {
  const cfg = testConfig({ FAIR_START_WINDOW_S: String(WINDOW_S) });
  await runMigrations(cfg.DATABASE_URL);
  deps = await createDeps(cfg, "test");
});
afterAll(async () => {
  if (deps) await dropAll(deps);
});

describe("a big fair-start room", () => {
  it(`${N.toLocaleString("en")} tickets in the room are shuffled, placed and queued whole`, async () => {
    // Far enough ahead for the crowd to get in on a busy machine; brought forward below.
    const opensAt = Date.now() + OPENS_IN_MS;
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

describe("an opener failing mid-way", () => {
  it("addBulk failing, then a crash after queueing: the next opener loses nobody and keeps the drawn order", async () => {
    const ROOM = 1_000;
    const opensAt = Date.now() + OPENS_IN_MS;
    const { saleId } = await createSale(deps, {
      slotKey: "room-failing-opener",
      kind: "adhoc",
      startsAt: new Date(opensAt),
      endsAt: new Date(opensAt + 3_600_000),
      userLimit: 1,
      items: ["R", "S"].map((itemId) => ({
        itemId,
        name: itemId,
        imageUrl: "https://x.test/i",
        stock: ROOM,
      })),
    });
    const directory = createSaleDirectory(deps);
    const room = await crowd(ROOM, 100, (i) =>
      admit(deps, directory, { userId: `f${i}`, itemId: i % 2 ? "R" : "S" }),
    );
    expect(Date.now()).toBeLessThan(opensAt);
    expect(room.every((a) => a.defer === "room")).toBe(true);
    await deps.redis.hset(deps.keys.sale(saleId), "sa", Date.now() - 1);
    const late = [];
    for (let i = 0; i < 3; i++) late.push(await admit(deps, directory, { userId: `fl${i}`, itemId: "R" }));
    expect(late.every((a) => a.defer === "late")).toBe(true);

    // A real queue (no worker takes from it), so a ticket added twice shows as it would in production.
    const queue = new Queue(CHECKOUT_QUEUE, { connection: deps.redis, ...checkoutQueueOptions(deps.keys) });
    try {
      // First opener: its third addBulk fails (Redis or the network away), nothing of that batch added.
      let calls = 0;
      const failing = {
        addBulk: async (jobs: Parameters<Queue["addBulk"]>[0]) => {
          if (++calls === 3) throw new Error("addBulk failed");
          return queue.addBulk(jobs);
        },
      } as unknown as Queue;
      await expect(openRoom(deps, failing, saleId, { batch: 100 })).rejects.toThrow("addBulk failed");
      // Lock released on the way out; the room is shuffled and part-queued, the rest still waits.
      expect(await deps.redis.exists(deps.keys.roomLock(saleId))).toBe(0);
      expect(await deps.redis.hget(deps.keys.saleMode(saleId), "fs")).toBe("draining");
      expect(await deps.redis.llen(deps.keys.roomOut(saleId))).toBe(ROOM + late.length - 200);

      // Second opener: dies right after its second batch's jobs are added, before it leaves the way out.
      let batches = 0;
      const crash = () => {
        if (++batches === 2) throw new Error("worker died");
      };
      await expect(openRoom(deps, queue, saleId, { batch: 100, afterQueue: crash })).rejects.toThrow(
        "worker died",
      );
      expect(await deps.redis.llen(deps.keys.roomOut(saleId))).toBe(ROOM + late.length - 300);

      // A healthy opener finishes it: the batch queued twice counts once in the queue.
      expect(await openRoom(deps, queue, saleId, { batch: 100 })).toBe(ROOM + late.length - 300);
      expect(await deps.redis.hget(deps.keys.saleMode(saleId), "fs")).toBe("open");
      expect(await deps.redis.llen(deps.keys.roomOut(saleId))).toBe(0);

      // Every room ticket queued once, in the drawn order (the i-th drawn took the i-th smallest
      // place, ord), then the late ones in the order they came.
      // Job ids are the tickets' refs (<sale>-<seq>); the ticket ids are in their data.
      const ids = (await queue.getJobs(["wait"], 0, -1, true)).map(
        (j) => (j.data as { ticketId: string }).ticketId,
      );
      const ords = await Promise.all(
        room.map(async (a) => ({
          id: a.ticketId,
          ord: Number(await deps.redis.hget(deps.keys.ticket(saleId, a.ticketId.split("-")[1] ?? ""), "ord")),
        })),
      );
      const drawn = ords.sort((a, b) => a.ord - b.ord).map((o) => o.id);
      expect(ids).toEqual([...drawn, ...late.map((a) => a.ticketId)]);
      // A draw, not the order of arrival.
      expect(drawn).not.toEqual(room.map((a) => a.ticketId));
    } finally {
      await queue.close();
    }
  });
});

describe("the room's lock", () => {
  it("is kept while its holder works, and is never renewed or released once another holds it", async () => {
    const key = deps.keys.roomLock("lock-test");
    // Renewed every third of this: a renewal may come up to two thirds of it late (a
    // stalled event loop on a busy machine) and the lock still holds.
    const TTL_MS = 1_500;
    const held = await takeLock(deps.redis, key, TTL_MS);
    const takenAt = Date.now();
    expect(held).not.toBeNull();
    expect(await takeLock(deps.redis, key, TTL_MS)).toBeNull();
    // Well past its time to live, still held: renewed on a timer. Watched all along, not
    // slept through: it is there at every look until twice its time to live has passed.
    while (Date.now() - takenAt < 2 * TTL_MS) {
      expect(await deps.redis.pttl(key)).toBeGreaterThan(0);
      await sleep(50);
    }
    expect(await deps.redis.pttl(key)).toBeGreaterThan(0);
    expect(held?.lost).toBe(false);
    // It ran out (say the holder stalled) and another process took it: the holder's next
    // renewal finds out.
    await deps.redis.set(key, "someone-else", "PX", 60_000);
    const deadline = Date.now() + 10 * TTL_MS;
    while (!held?.lost && Date.now() < deadline) await sleep(20);
    expect(held?.lost).toBe(true);
    await held?.release();
    expect(await deps.redis.get(key)).toBe("someone-else");
    // Not renewed by the old holder either: that would have cut its time to live to TTL_MS.
    expect(await deps.redis.pttl(key)).toBeGreaterThan(TTL_MS);
    await deps.redis.del(key);
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
