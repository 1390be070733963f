import { randomBytes, randomInt } from "node:crypto";
import type { Queue } from "bullmq";
import type { TicketJob } from "../shared/checkout/enqueue.js";
import type { Deps } from "../shared/deps.js";
import { ticketId } from "../shared/keys.js";

// The fair-start room (shared/lua/admit.lua takes checkouts into it shortly before a
// sale opens). At the opening one worker, whoever takes the sale's room lock, shuffles
// it (shared/lua/open-room.lua) and queues it in the drawn order, then the tickets
// accepted behind it, until the way out is empty and checkout queues as usual.

// How often every worker looks for a sale that just opened with a room: the room is
// queued within this of the opening, with no traffic needed to set it off.
const LOOK_MS = 200;
// Sales looked at per look: those due, oldest first.
const DUE = 20;
// A due sale with no room left to open is forgotten after this; until then a room ticket
// accepted in the sale's last milliseconds (by Redis's clock) still finds its opener.
const FORGET_AFTER_MS = 10_000;
// A worker that died mid-way lets go of the room after this; another one finishes it.
const LOCK_MS = 15_000;
// Jobs per addBulk: one round trip each, in order.
const BATCH = 500;
// Reading the room again when it changed under the read (only if read before the opening).
const TRIES = 5;

export function startRoomOpener(deps: Deps, queue: Queue) {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  const tick = () => {
    running = lookForRooms(deps, queue)
      .catch((err: unknown) => deps.log.warn({ err: String(err) }, "opening a fair-start room failed"))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, LOOK_MS);
      });
  };
  timer = setTimeout(tick, LOOK_MS);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

async function lookForRooms(deps: Deps, queue: Queue) {
  const { redis, keys } = deps;
  const now = Date.now();
  // [saleId, starts_at, ...]: sales created to open later whose opening has come (usually none).
  const due = await redis.zrangebyscore(keys.rooms, "-inf", now, "WITHSCORES", "LIMIT", 0, DUE);
  const sales: [string, number][] = [];
  for (let i = 0; i + 1 < due.length; i += 2) sales.push([due[i] as string, Number(due[i + 1])]);
  // One command per sale, sent together: sales live in different cluster slots.
  const rooms = await Promise.all(sales.map(([saleId]) => redis.hget(keys.saleMode(saleId), "fs")));
  for (const [i, [saleId, startsAt]] of sales.entries()) {
    if (rooms[i] === "room" || rooms[i] === "draining") await openRoom(deps, queue, saleId);
    else if (now > startsAt + FORGET_AFTER_MS) await redis.zrem(keys.rooms, saleId);
  }
}

/** Shuffles a sale's room and queues it, if this process gets the room's lock; returns the tickets queued. */
export async function openRoom(deps: Deps, queue: Queue, saleId: string): Promise<number> {
  const { redis, keys } = deps;
  const lock = keys.roomLock(saleId);
  const token = randomBytes(8).toString("hex");
  if (!(await redis.set(lock, token, "PX", LOCK_MS, "NX"))) return 0;
  try {
    for (let i = 0; i < TRIES; i++) {
      const drawn = shuffle(await redis.lrange(keys.room(saleId), 0, -1));
      const draw = keys.roomDraw(saleId);
      await redis.del(draw);
      for (let at = 0; at < drawn.length; at += BATCH)
        await redis.rpush(draw, ...drawn.slice(at, at + BATCH));
      const [r, n] = (await redis.run(
        "openRoom",
        [keys.sale(saleId), keys.saleMode(saleId), keys.room(saleId), keys.roomOut(saleId), draw],
        [keys.events(saleId), keys.ticketPrefix(saleId), keys.line(saleId, "")],
      )) as string[];
      if (r === "early") return 0;
      if (r === "shuffled") deps.log.info({ sale: saleId, tickets: Number(n) }, "fair-start room shuffled");
      if (r !== "changed") break;
    }
    let queued = 0;
    for (;;) {
      const taken = (await redis.run(
        "takeRoom",
        [keys.saleMode(saleId), keys.roomOut(saleId)],
        [BATCH],
      )) as string[];
      if (taken.length === 0) return queued;
      // The job id is the ticket id: a ticket queued twice (a retry after a crash) runs once.
      const jobs = taken.map((e) => jobOf(saleId, e));
      await queue.addBulk(jobs.map((data) => ({ name: "ticket", data, opts: { jobId: data.ticketId } })));
      queued += taken.length;
      await redis.pexpire(lock, LOCK_MS);
    }
  } finally {
    if ((await redis.get(lock)) === token) await redis.del(lock);
  }
}

function jobOf(saleId: string, entry: string): TicketJob {
  const [seq = "", itemId = "", userId = ""] = entry.split(":");
  return { ticketId: ticketId(saleId, seq), saleId, itemId, userId };
}

/** Fisher–Yates with the OS's cryptographic randomness: every order of the room equally likely. */
export function shuffle<T>(xs: T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
