import { Queue } from "bullmq";
import { eq } from "drizzle-orm";
import type { Sql } from "../db/client.js";
import { sales } from "../db/schema.js";
import type { Deps } from "../deps.js";
import { type HeldLock, takeLock } from "../lock.js";
import type { TicketJob } from "../queues.js";
import { CHECKOUT_QUEUE, checkoutQueueOptions } from "../queues.js";
import { lockSaleSettlement } from "../settlement/lock.js";
import { addTicketJobs } from "../ticket/enqueue.js";
import { sleep } from "../time.js";
import { loadItemsScript, publishSaleScript } from "./load-scripts.js";
import { writeSaleMode } from "./mode.js";
import { readmitTickets } from "./readmit.js";
import { listForRoomOpener } from "./rooms.js";

// Items per script call: big enough to load 10,000 items in a few round trips,
// small enough not to block Redis for long.
const LOAD_BATCH = 500;

/**
 * Loads a sale from PostgreSQL into Redis: items first, the sale hash last, so a
 * sale visible in Redis always has all its items. Loading again changes nothing.
 */
export async function loadSale(deps: Deps, saleId: string, opts: LoadOptions = {}): Promise<boolean> {
  return (await reloadSale(deps, saleId, opts)) !== null;
}

export interface LoadOptions {
  /** The sale was created a moment ago by this process: no ticket of it was ever handed out. */
  fresh?: boolean;
  /** The sale's load lock, taken by its creator before the sale was committed (takeLoadLock). */
  lock?: HeldLock;
}

// A loader that died lets go of its sale after this; a live one renews it on a timer, through every step.
const LOAD_LOCK_MS = 5000;
const LOCK_POLL_MS = 50;

/**
 * The sale's load lock, for its creator to take before committing the sale: a scheduler that
 * finds the sale a moment later then waits for the creator's fresh load instead of loading it
 * first as a reload (whose ticket numbers start past the lost-Redis margin).
 */
export function takeLoadLock(deps: Pick<Deps, "redis" | "keys">, saleId: string): Promise<HeldLock | null> {
  return takeLock(deps.redis, deps.keys.loadLock(saleId), LOAD_LOCK_MS);
}

/**
 * loadSale, returning the tickets Redis had lost that were re-created from
 * PostgreSQL (shared/sale/readmit.ts) and queued again, or null when
 * the sale was already loaded. One process loads a sale at a time (a lock in the
 * sale's slot): a scheduler tick and a Redis rebuild may both reach for it.
 */
export async function reloadSale(
  deps: Deps,
  saleId: string,
  opts: LoadOptions = {},
): Promise<TicketJob[] | null> {
  const { db, redis, keys } = deps;
  let lock: HeldLock | null = opts.lock ?? null;
  while (!lock) {
    if ((await redis.exists(keys.sale(saleId))) === 1) return null;
    lock = await takeLoadLock(deps, saleId);
    if (!lock) await sleep(LOCK_POLL_MS);
  }
  try {
    if ((await redis.exists(keys.sale(saleId))) === 1) return null;
    const [sale] = await db
      .select()
      .from(sales)
      .where(eq(sales.id, Number(saleId)))
      .limit(1);
    if (!sale) throw new Error(`sale ${saleId} is not in PostgreSQL`);
    // How it sells (two_step or not), in place before any checkout can see the sale.
    await writeSaleMode(deps, saleId, sale);
    // Likewise its room's opener: a sale reloaded after Redis was lost (not yet open, or
    // just opened) takes room tickets again, and the list of sales to open went with Redis.
    await listForRoomOpener(deps, saleId, sale.startsAt);
    // Read the sale's units, buyers, unsettled tickets and ticket numbers, and write
    // them to Redis up to publishing the sale hash, all under the sale's settlement lock
    // (shared/settlement/settle.ts takes the same): a purchase committing between these reads (or
    // after them, before the sale is published) would leave Redis counting its unit as
    // available, its buyer short, or its ticket queued again. A settlement waiting for
    // the lock commits after the sale is published, and is refused unless Redis still
    // shows its ticket paid (shared/settlement/settle.ts). READ COMMITTED on purpose: holding the
    // lock, every statement sees the same settled state; a REPEATABLE READ snapshot would
    // be taken by the lock statement itself, before the lock is granted, and so miss a
    // settlement that committed while this waited for it.
    const readmitted = await db.client.begin(async (tx) => {
      const sql = tx as unknown as Sql;
      // A reload stuck behind a settlement whose client vanished fails and is retried
      // (by the rebuild's next check, or the scheduler's next tick) instead of hanging.
      await sql`set local lock_timeout = '10s'`;
      // Between statements this transaction waits on Redis; a loader hung there (not dead)
      // would otherwise hold the sale's settlement lock for as long as it hangs.
      await sql`set local idle_in_transaction_session_timeout = '30s'`;
      await lockSaleSettlement(sql, sale.id);
      // Before any write: if this reload dies half-way, what it wrote stays (the next one
      // keeps it), so until a reload publishes the sale, settlements must not commit for it.
      await redis.set(keys.saleUnpublished(saleId), "1");
      const rows = await sql<{ itemId: string; stock: number; sold: number }[]>`
        select item_id as "itemId", stock, sold from items where sale_id = ${sale.id} order by item_id`;
      await loadHeld(deps, sql, saleId);
      let total = 0;
      let sold = 0;
      for (let i = 0; i < rows.length; i += LOAD_BATCH) {
        const chunk = rows.slice(i, i + LOAD_BATCH);
        await loadItemsScript.run(
          redis,
          {},
          {},
          chunk.map((r) => ({
            keys: { item: keys.item(saleId, r.itemId) },
            args: { total: r.stock, sold: r.sold },
          })),
        );
      }
      for (const r of rows) {
        total += r.stock;
        sold += r.sold;
      }
      // Before the sale is published, so they stay ahead of every new ticket.
      const jobs = opts.fresh ? [] : await readmitTickets(deps, saleId, sql);
      await publishSaleScript.run(
        redis,
        { sale: keys.sale(saleId), pending: keys.pending(saleId), unpublished: keys.saleUnpublished(saleId) },
        {
          saleId,
          startsAt: sale.startsAt.getTime(),
          endsAt: sale.endsAt.getTime(),
          userLimit: sale.userLimit,
          items: rows.length,
          total,
          sold,
          firstTicketSeq: opts.fresh ? 0 : await firstTicketSeq(sql, saleId),
        },
      );
      return jobs;
    });
    // Listed after the script, not in it: the timeline is in another cluster slot. Every
    // load lists it again, so a loader that died in between is healed by the next.
    await redis.zadd(keys.timeline, sale.startsAt.getTime(), saleId);
    // Queued here, whoever reloads (a rebuild, a scheduler tick, a creator retrying):
    // left to the caller, a reload that is not the rebuild's left them to the sweeper.
    await queueTickets(deps, readmitted);
    return readmitted;
  } finally {
    await lock.release();
  }
}

// Jobs per addBulk.
const JOB_BATCH = 500;

/** Queues re-created tickets in ticket order (the job id is the ticket's place: queuing twice is harmless). */
async function queueTickets(deps: Deps, jobs: TicketJob[]): Promise<void> {
  if (jobs.length === 0) return;
  const queue = new Queue(CHECKOUT_QUEUE, { connection: deps.redis, ...checkoutQueueOptions(deps.keys) });
  try {
    for (let i = 0; i < jobs.length; i += JOB_BATCH) await addTicketJobs(queue, jobs.slice(i, i + JOB_BATCH));
  } finally {
    await queue.close();
  }
}

// Ticket ids a lost Redis handed out that PostgreSQL never heard of (attempts
// still buffered in an API, or made while PostgreSQL was down) stay below this margin.
const TICKET_SEQ_MARGIN = 1_000_000;

/**
 * Where a reloaded sale's ticket numbers start: above every ticket PostgreSQL
 * knows plus the margin, so a ticket id is never handed out twice, even after
 * Redis was lost before PostgreSQL heard of any ticket of the sale.
 */
async function firstTicketSeq(sql: Sql, saleId: string): Promise<number> {
  const [row] = await sql<{ seq: string | null }[]>`
    select max(split_part(ticket_id, '-', 2)::bigint)::text as seq from (
      select ticket_id from purchases where sale_id = ${Number(saleId)}
      union all
      select ticket_id from checkout_attempts where sale_id = ${Number(saleId)} and ticket_id is not null
    ) t`;
  return (row?.seq ? Number(row.seq) : 0) + TICKET_SEQ_MARGIN;
}

/** Units each user already bought, so the per-user limit survives a reload. */
async function loadHeld(deps: Deps, sql: Sql, saleId: string): Promise<void> {
  const rows = await sql<{ user_id: string; purchased: number }[]>`
    select user_id, purchased from sale_users where sale_id = ${Number(saleId)} and purchased > 0`;
  const key = deps.keys.held(saleId);
  // HSETNX: a count already in Redis is live (it includes reservations) and a
  // second loader racing this one must never lower it.
  for (let i = 0; i < rows.length; i += LOAD_BATCH) {
    const pipe = deps.redis.pipeline();
    for (const r of rows.slice(i, i + LOAD_BATCH)) pipe.hsetnx(key, r.user_id, r.purchased);
    await pipe.exec();
  }
}
