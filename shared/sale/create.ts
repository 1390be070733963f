import { eq, sql } from "drizzle-orm";
import { items, sales } from "../db/schema.js";
import type { Deps } from "../deps.js";
import { AppError } from "../errors.js";
import type { HeldLock } from "../lock.js";
import { loadSale, takeLoadLock } from "./load.js";
import type { CheckoutMode } from "./mode.js";

export interface NewItem {
  itemId: string;
  name: string;
  imageUrl: string;
  stock: number;
}

export interface NewSale {
  /** One sale per key: creating the same key twice yields one sale. */
  slotKey: string;
  kind: "hourly" | "adhoc";
  startsAt: Date;
  endsAt: Date;
  userLimit: number;
  items: NewItem[];
  /** Defaults to CHECKOUT_MODE and HOLD_S. */
  checkoutMode?: CheckoutMode;
  /** Only for a two_step sale: a direct sale holds nothing, so it is refused there. */
  holdS?: number;
}

// Namespace of the per-slot advisory lock taken while a sale is created (any constant but
// the settlement lock's, shared/settlement/lock.ts).
const SLOT_LOCK = 7_242_003;

// Rows per INSERT: 5 parameters a row stays well under PostgreSQL's 65,535.
const INSERT_BATCH = 5000;

/**
 * Records a sale and its items in one transaction, then loads it into Redis.
 * Idempotent under races: two schedulers, or a retry, end with one complete sale. Sale ids
 * come without gaps: an id is drawn only by the one creator that inserts (a transaction
 * that fails after drawing one, e.g. PostgreSQL going away mid-way, still leaves a gap).
 */
export async function createSale(deps: Deps, input: NewSale): Promise<{ saleId: string; created: boolean }> {
  const { db } = deps;
  const mode = {
    checkoutMode: input.checkoutMode ?? deps.cfg.CHECKOUT_MODE,
    holdS: input.holdS ?? deps.cfg.HOLD_S,
  };
  // Refused before anything is written; silently ignored, it would look like a hold that never comes.
  if (input.holdS !== undefined && mode.checkoutMode !== "two_step") {
    const why = input.checkoutMode
      ? "checkout_mode is direct"
      : "checkout_mode defaults to direct (CHECKOUT_MODE)";
    throw new AppError("invalid_request", `hold_s: only a two_step sale holds units; this sale's ${why}`);
  }
  // Most calls find their sale made (every scheduler tick asks for the current one): looked
  // up first, so no insert is tried, and no sequence value burnt, for a sale that exists.
  let existing = await existingSale(db, input.slotKey);
  if (existing === null) {
    let lock: HeldLock | null = null;
    const saleId = await db
      .transaction(async (tx) => {
        // Creators of one slot queue here (two schedulers, a retry), so the one that comes
        // second finds the first's sale instead of inserting and burning an id on the conflict.
        await tx.execute(sql`select pg_advisory_xact_lock(${SLOT_LOCK}, hashtext(${input.slotKey}))`);
        if ((await existingSale(tx, input.slotKey)) !== null) return null;
        const [row] = await tx
          .insert(sales)
          .values({
            slotKey: input.slotKey,
            kind: input.kind,
            startsAt: input.startsAt,
            endsAt: input.endsAt,
            userLimit: input.userLimit,
            itemCount: input.items.length,
            ...mode,
          })
          .returning({ id: sales.id });
        if (!row) throw new Error(`sale ${input.slotKey} was not inserted`);
        for (let i = 0; i < input.items.length; i += INSERT_BATCH) {
          const chunk = input.items.slice(i, i + INSERT_BATCH).map((it) => ({ saleId: row.id, ...it }));
          await tx.insert(items).values(chunk);
        }
        // Held from before anyone can see the sale until it is loaded: another scheduler that
        // finds it waits for this fresh load rather than loading it first as a reload.
        lock = await takeLoadLock(deps, String(row.id));
        return row.id;
      })
      .catch(async (err: unknown) => {
        await (lock as HeldLock | null)?.release();
        throw err;
      });
    if (saleId !== null) {
      // Just created: no ticket of it exists anywhere, so its numbers may start at 1.
      await loadSale(deps, String(saleId), { fresh: true, ...(lock ? { lock } : {}) });
      return { saleId: String(saleId), created: true };
    }
    // Someone else created it; its transaction has committed (the lock waited for it).
    existing = await existingSale(db, input.slotKey);
    if (existing === null) throw new Error(`sale ${input.slotKey} vanished`);
  }
  // Again each time (a scheduler tick): a creator that died half-way is made good
  // (loading writes the sale's mode and lists it for its room's opener first).
  await loadSale(deps, String(existing));
  return { saleId: String(existing), created: false };
}

/** The id of the sale of this slot, if it is made (`db` may be a transaction). */
async function existingSale(db: Pick<Deps["db"], "select">, slotKey: string): Promise<number | null> {
  const [row] = await db.select({ id: sales.id }).from(sales).where(eq(sales.slotKey, slotKey)).limit(1);
  return row?.id ?? null;
}
