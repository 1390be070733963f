import { randomInt } from "node:crypto";
import type { Queue } from "bullmq";
import type { Deps } from "../deps.js";
import { roomToOpen } from "../fields.js";
import { ticketId } from "../keys.js";
import { type HeldLock, takeLock } from "../lock.js";
import type { TicketJob } from "../queues.js";
import { addTicketJobs } from "../ticket/enqueue.js";
import { dropRoom, peekRoom, placeRoom } from "./rooms.js";

// The fair-start room (shared/checkout/admit.lua takes checkouts into it shortly before a
// sale opens). At the opening one worker, whoever takes the sale's room lock, shuffles
// it (shared/sale/rooms.ts, open-room.lua) and queues it in the drawn order, then the tickets
// accepted behind it, until the way out is empty and checkout queues as usual. A ticket
// leaves the way out only once its job exists (queueRoom), so an opener that fails or
// dies loses none and the next one carries on in the same order.

// Sales looked at per look: those due, oldest first.
const DUE = 20;
// A due sale with no room left to open is forgotten after this; until then a room ticket
// accepted in the sale's last milliseconds (by Redis's clock) still finds its opener.
// Every sale is listed (shared/sale/rooms.ts), even one created as it starts.
const FORGET_AFTER_MS = 10_000;
// A worker that died mid-way lets go of the room after this, and another one finishes it:
// short, since checkouts meanwhile wait behind the room unqueued. A live opener renews it.
const LOCK_MS = 3_000;
// Jobs per addBulk: one round trip each, in order.
const BATCH = 500;
// Reading the room again when it changed under the read (only if read before the opening).
const TRIES = 5;

/** Opens every listed sale whose opening has come and whose room is not yet queued. */
export async function lookForRooms(deps: Deps, queue: Queue) {
  const { redis, keys } = deps;
  const now = Date.now();
  // [saleId, starts_at, ...]: listed sales whose opening has come (usually none or a few).
  const due = await redis.zrangebyscore(keys.rooms, "-inf", now, "WITHSCORES", "LIMIT", 0, DUE);
  const sales: [string, number][] = [];
  for (let i = 0; i + 1 < due.length; i += 2) sales.push([due[i] as string, Number(due[i + 1])]);
  // One command per sale, sent together: sales live in different cluster slots.
  const rooms = await Promise.all(sales.map(([saleId]) => redis.hget(keys.saleMode(saleId), "fs")));
  for (const [i, [saleId, startsAt]] of sales.entries()) {
    if (roomToOpen(rooms[i] ?? null)) await openRoom(deps, queue, saleId);
    else if (now > startsAt + FORGET_AFTER_MS) await redis.zrem(keys.rooms, saleId);
  }
}

export interface OpenRoomOptions {
  /** Jobs per addBulk (tests use small batches to fail mid-way cheaply). */
  batch?: number;
  /**
   * Called with each batch once its jobs are added, before it leaves the way out: a test's
   * stand-in for a worker dying right there (it throws). Production passes nothing.
   */
  afterQueue?: (batch: TicketJob[]) => void | Promise<void>;
}

/** Shuffles a sale's room and queues it, if this process gets the room's lock; returns the tickets queued. */
export async function openRoom(
  deps: Deps,
  queue: Queue,
  saleId: string,
  opts: OpenRoomOptions = {},
): Promise<number> {
  const { redis, keys } = deps;
  const lock = await takeLock(redis, keys.roomLock(saleId), LOCK_MS);
  if (!lock) return 0;
  try {
    for (let i = 0; i < TRIES; i++) {
      const drawn = shuffle(await redis.lrange(keys.room(saleId), 0, -1));
      const draw = keys.roomDraw(saleId);
      await redis.del(draw);
      for (let at = 0; at < drawn.length; at += BATCH)
        await redis.rpush(draw, ...drawn.slice(at, at + BATCH));
      const { outcome, tickets } = await placeRoom(deps, saleId);
      if (outcome === "early") return 0;
      if (outcome === "shuffled") deps.log.info({ sale: saleId, tickets }, "fair-start room shuffled");
      if (outcome !== "changed") break;
    }
    return await queueRoom(deps, queue, saleId, lock, opts);
  } finally {
    // Should Redis be away, the lock still runs out by itself within LOCK_MS.
    await lock.release().catch(() => {});
  }
}

/**
 * Queues the way out in order, a batch at a time: read (not removed), added, then removed
 * only if still at the head. A batch whose adding failed, or whose opener died, stays
 * first in line for the next opener, so no ticket is lost and none jumps the order; a
 * batch added twice is queued once (the job id is the ticket's place, and a job already
 * finished and removed finds its ticket final and does nothing).
 */
async function queueRoom(deps: Deps, queue: Queue, saleId: string, lock: HeldLock, opts: OpenRoomOptions) {
  let queued = 0;
  // Another opener took over (this one stalled past its lock): the rest is theirs.
  while (!lock.lost) {
    const batch = await peekRoom(deps, saleId, opts.batch ?? BATCH);
    if (batch.length === 0) break;
    const jobs = batch.map((e) => jobOf(saleId, e));
    await addTicketJobs(queue, jobs);
    await opts.afterQueue?.(jobs);
    if (!(await dropRoom(deps, saleId, batch))) break;
    queued += batch.length;
  }
  return queued;
}

function jobOf(saleId: string, entry: string): TicketJob {
  // "seq:item:user:key" (shared/checkout/admit.lua); ids have no ':'.
  const [seq = "", itemId = "", userId = "", key = ""] = entry.split(":");
  return { ticketId: ticketId(saleId, seq, key), saleId, itemId, userId };
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
