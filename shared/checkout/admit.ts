import { createHash } from "node:crypto";
import type { Deps } from "../deps.js";
import { AppError, type ErrorCode } from "../errors.js";
import { type Stock, stockOf } from "../fields.js";
import { ticketId } from "../keys.js";
import { type SaleDirectory, type SaleWindow, saleStatus } from "../sale/directory.js";
import { ambiguous } from "../sale/sale-of-item.js";
import { storedItemWindow } from "../sale/view.js";
import { defineScript, type ScriptResult, str } from "../scripts/define.js";
import { newTicketKey } from "../ticket/codes.js";
import { rateLimited } from "./rate-limit.js";

export interface CheckoutInput {
  userId: string;
  itemId: string;
  /** The sale asked for; without it, the one open sale that has the item. */
  saleId?: string;
  idempotencyKey?: string;
}

export interface Admission {
  ticketId: string;
  saleId: string;
  /** Null while the ticket waits in the fair-start room (its place is drawn at the opening). */
  position: number | null;
  createdAt: number;
  /** The item's stock and line pace (smoothed gap, last departure) at admission; null when replayed. */
  stock: Stock | null;
  gap: string | null;
  lastLeft: string | null;
  /** True when an Idempotency-Key matched an earlier checkout. */
  replayed: boolean;
  /**
   * '' when the caller queues the ticket; 'room' when it waits in the fair-start room and
   * 'late' when it goes behind that room: the room's opener (shared/sale/open-rooms.ts) queues both.
   */
  defer: "" | "room" | "late";
  /** The sale's opening (ms). */
  startsAt: number;
  /** The sale sells in two steps: a checkout code, then POST /purchase. */
  twoStep: boolean;
}

// An Idempotency-Key is remembered this long.
const IDEMPOTENCY_TTL_S = 24 * 3600;

const REFUSALS: Partial<Record<string, [ErrorCode, string, number?]>> = {
  sold_out: ["sold_out", "this item is sold out"],
  user_limit_reached: ["user_limit_reached", "you have reached the limit of units for this sale", 60],
  overloaded: ["overloaded", "the line for this item is full; try again shortly", 1],
  idempotency_conflict: ["idempotency_conflict", "this Idempotency-Key was used with another request"],
};

/**
 * Decides a checkout at the edge in one Lua call (sale open? sold out? user at
 * the limit? line full?) and creates the ticket. Enqueueing is the caller's.
 *
 * The sale is the one asked for (`saleId`), else the one open sale that has the item: an
 * item id open in several sales is refused (sale_ambiguous), never bought in one of them
 * at a guess. Which sales have it comes from the directory's memory, so the common case
 * (one sale has the item) still costs the one call.
 */
export async function admit(deps: Deps, directory: SaleDirectory, input: CheckoutInput): Promise<Admission> {
  const fingerprint = input.idempotencyKey
    ? createHash("sha256").update(`${input.userId}\n${input.itemId}`).digest("base64url").slice(0, 22)
    : "";
  if (input.saleId !== undefined) return admitIn(deps, input.saleId, input, fingerprint);
  const early = deps.cfg.FAIR_START_WINDOW_S * 1000;
  for (const fresh of [false, true]) {
    // A second pass re-reads the sales, in case one opened or closed since the cache was filled.
    const now = Date.now();
    const sales = await directory.all(fresh ? 50 : undefined);
    // The open sale first, then one whose fair-start room is open: in the last seconds of an
    // hourly sale the next one's room must not take the shoppers of the one still selling the
    // same items, but takes those of an item sold out there.
    const open = sales.filter((w) => saleStatus(w, now) === "open");
    const rooms = early
      ? sales.filter((w) => !w.closed && now < w.startsAt && now >= w.startsAt - early).reverse()
      : [];
    let soldOut: AppError | null = null;
    for (const candidates of [open, rooms]) {
      const sale = await onlySaleWith(deps, directory, candidates, input);
      if (!sale) continue;
      try {
        const r = await tryAdmit(deps, sale.saleId, input, fingerprint);
        if (typeof r !== "string") return r;
      } catch (err) {
        // Gone in the sale that is ending: the next one's room may still take the shopper.
        if (!(err instanceof AppError && err.code === "sold_out" && candidates === open && rooms.length > 0))
          throw err;
        soldOut = err;
      }
    }
    if (soldOut) throw soldOut;
  }
  if (await directory.anyWithItem(input.itemId)) {
    throw new AppError("sale_not_active", "the sale for this item is not open");
  }
  throw new AppError("item_not_found", `no item ${input.itemId} in any sale`);
}

/** A checkout in the sale asked for: no other is tried. */
async function admitIn(deps: Deps, saleId: string, input: CheckoutInput, fingerprint: string) {
  const r = await tryAdmit(deps, saleId, input, fingerprint);
  if (typeof r !== "string") return r;
  if (r === "sale_not_active") throw new AppError("sale_not_active", `sale ${saleId} is not open`);
  const missing = new AppError("item_not_found", `no item ${input.itemId} in sale ${saleId}`);
  if (r === "item_not_found") throw missing;
  // Not in Redis: PostgreSQL knows whether the sale has the item and when it sells.
  const window = await storedItemWindow(deps, saleId, input.itemId);
  if (!window) throw missing;
  const now = Date.now();
  // Ended long ago (retired from Redis), or not near its opening yet.
  if (now >= window.endsAt || now < window.startsAt - deps.cfg.FAIR_START_WINDOW_S * 1000)
    throw new AppError("sale_not_active", `sale ${saleId} is not open`);
  // Selling now by the record, but not (yet, or again) in Redis: being loaded, or restored after a loss.
  throw new AppError("unavailable", `sale ${saleId} is being loaded; try again shortly`, 1);
}

/**
 * Of `sales`, the one that has the item (null if none): asked only when there are several,
 * since admit.lua tells of a single sale in the checkout's own call. Several that have it are
 * refused as ambiguous, unless the checkout replays an Idempotency-Key one of them knows.
 */
async function onlySaleWith(
  deps: Deps,
  directory: SaleDirectory,
  sales: SaleWindow[],
  input: CheckoutInput,
): Promise<SaleWindow | null> {
  if (sales.length <= 1) return sales[0] ?? null;
  const having = await directory.withItem(sales, input.itemId);
  if (having.length <= 1) return having[0] ?? null;
  const key = input.idempotencyKey;
  if (key) {
    const known = await Promise.all(
      having.map((s) => deps.redis.exists(deps.keys.idempotency(s.saleId, input.userId, key))),
    );
    const replayed = having.filter((_, i) => known[i] === 1);
    if (replayed.length === 1) return replayed[0] ?? null;
  }
  throw ambiguous(input.itemId, having);
}

/** admit.lua's answer, by its first field. */
type Decided =
  | {
      status: "ok";
      seq: string;
      /** '' while the ticket waits in the fair-start room. */
      position: string;
      createdAt: string;
      /** The item's stock fields as read (av, rs, sd, tot) and its line pace ('' if unknown). */
      av: string;
      rs: string;
      sd: string;
      tot: string;
      gap: string;
      lastLeft: string;
      defer: string;
      startsAt: string;
      mode: string;
    }
  | { status: "existing"; seq: string; key: string }
  | { status: "rate_limited"; waitMs: number }
  | { status: string };

function decodeAdmit(raw: ScriptResult): Decided {
  const status = str(raw, 0);
  const at = (i: number) => str(raw, i);
  if (status === "ok")
    return {
      status,
      seq: at(1),
      position: at(2),
      createdAt: at(3),
      av: at(4),
      rs: at(5),
      sd: at(6),
      tot: at(7),
      gap: at(8),
      lastLeft: at(9),
      defer: at(10),
      startsAt: at(11),
      mode: at(12),
    };
  if (status === "existing") return { status, seq: at(1), key: at(2) };
  if (status === "rate_limited") return { status, waitMs: Number(at(1)) };
  return { status };
}

const admitScript = defineScript({
  name: "admit",
  lua: new URL("./admit.lua", import.meta.url),
  helpers: ["now_ms"],
  keys: [
    "sale",
    "item",
    "held",
    "pending",
    "idempotency",
    "line",
    "saleMode",
    "room",
    "roomOut",
    "userBucket",
    "userTickets",
  ],
  args: [
    "userId",
    "itemId",
    "ticketPrefix",
    "lineFactor",
    "queueMax",
    "fingerprint",
    "idempotencyTtlS",
    "fairStartWindowMs",
    "userRatePerS",
    "userBurst",
    "ticketKey",
  ],
  decode: decodeAdmit,
});

/** Why a sale could not take the checkout, where another sale might. */
type Miss = "item_not_found" | "sale_not_found" | "sale_not_active";

async function tryAdmit(
  deps: Deps,
  saleId: string,
  input: CheckoutInput,
  fingerprint: string,
): Promise<Admission | Miss> {
  const { redis, keys, cfg } = deps;
  const key = newTicketKey();
  const r = await admitScript.run(
    redis,
    {
      sale: keys.sale(saleId),
      item: keys.item(saleId, input.itemId),
      held: keys.held(saleId),
      pending: keys.pending(saleId),
      idempotency: keys.idempotency(saleId, input.userId, input.idempotencyKey ?? "-"),
      line: keys.line(saleId, input.itemId),
      saleMode: keys.saleMode(saleId),
      room: keys.room(saleId),
      roomOut: keys.roomOut(saleId),
      userBucket: keys.userBucket(saleId, input.userId),
      userTickets: keys.userTickets(saleId, input.userId),
    },
    {
      userId: input.userId,
      itemId: input.itemId,
      ticketPrefix: keys.ticketPrefix(saleId),
      lineFactor: cfg.LINE_FACTOR,
      queueMax: cfg.QUEUE_MAX,
      fingerprint,
      idempotencyTtlS: IDEMPOTENCY_TTL_S,
      fairStartWindowMs: cfg.FAIR_START_WINDOW_S * 1000,
      userRatePerS: cfg.RATE_USER_PER_S,
      userBurst: cfg.RATE_USER_BURST,
      ticketKey: key,
    },
  );
  if ("mode" in r) {
    return {
      ticketId: ticketId(saleId, r.seq, key),
      saleId,
      position: r.position ? Number(r.position) : null,
      createdAt: Number(r.createdAt),
      stock: stockOf([r.tot, r.av, r.rs, r.sd]),
      gap: r.gap || null,
      lastLeft: r.lastLeft || null,
      replayed: false,
      defer: r.defer === "room" || r.defer === "late" ? r.defer : "",
      startsAt: Number(r.startsAt),
      twoStep: r.mode === "two_step",
    };
  }
  if ("key" in r) {
    return {
      // The key of the ticket made by the first checkout with this Idempotency-Key.
      ticketId: ticketId(saleId, r.seq, r.key),
      saleId,
      position: 0,
      createdAt: 0,
      stock: null,
      gap: null,
      lastLeft: null,
      replayed: true,
      defer: "",
      startsAt: 0,
      twoStep: false,
    };
  }
  if ("waitMs" in r) throw rateLimited(r.waitMs);
  const { status } = r;
  // Not in this sale, or it closed a moment ago: the caller says so, or tries another one.
  if (status === "item_not_found" || status === "sale_not_found" || status === "sale_not_active")
    return status;
  const refusal = REFUSALS[String(status)];
  if (!refusal) throw new Error(`admit returned ${String(status)}`);
  throw new AppError(refusal[0], refusal[1], refusal[2]);
}
