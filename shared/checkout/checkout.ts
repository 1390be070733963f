import type { Deps } from "../deps.js";
import { AppError } from "../errors.js";
import type { Stock } from "../fields.js";
import { refOf } from "../keys.js";
import type { CounterSink } from "../metrics/counters.js";
import { redisRebuilding } from "../recovery/watch.js";
import type { SaleDirectory } from "../sale/directory.js";
import type { Enqueuer } from "../ticket/enqueue.js";
import type { TicketEvents } from "../ticket/events.js";
import { inRoom, type Standing, standing } from "../ticket/standing.js";
import { getTicket, type TicketStatus, type TicketView } from "../ticket/view.js";
import { type Hangup, waitForAdmitted, waitForCode } from "../ticket/wait.js";
import { admit } from "./admit.js";
import type { AttemptRecorder } from "./attempts.js";
import { takeClientToken } from "./rate-limit.js";
import type { SoldOutMemo } from "./sold-out.js";
import { withdraw } from "./withdraw.js";

/** What a checkout uses: the stores, the sale directory, the queue's producer and the API's memos. */
export interface CheckoutCtx {
  deps: Deps;
  directory: SaleDirectory;
  enqueuer: Enqueuer;
  attempts: AttemptRecorder;
  soldOut: SoldOutMemo;
  counters: CounterSink;
  events: TicketEvents;
}

export interface CheckoutRequest {
  userId: string;
  itemId: string;
  /** The sale asked for; undefined: the one open sale that has the item. */
  saleId: string | undefined;
  /** How long to wait for the ticket's code or its end (ms); undefined: answer at once. */
  wait: number | undefined;
  idempotencyKey: string | undefined;
}

/** What the connection lends a checkout, read only once it is past the sold-out memo. */
export interface CheckoutConnection {
  /** The client's address: the key of its rate limit and of its open waits. */
  client: () => string;
  /** Counts one more waiting checkout open for the client (or throws); returns its release. */
  holdWait: (client: string) => () => void;
  hangup: () => Hangup | undefined;
}

/** The answer to an accepted checkout (202), its ticket as it stands. */
export interface CheckoutAccepted extends Pick<TicketView, "code" | "expires_at"> {
  ticket_id: string;
  status: TicketStatus;
  position: Standing["position"];
  eta_ms: Standing["eta_ms"];
  stock: Stock | null;
  poll_url: string;
  poll_after_ms: number;
  reason?: TicketView["reason"];
  purchase_id?: TicketView["purchase_id"];
}

export type CheckoutAnswer = { refused: AppError } | { accepted: CheckoutAccepted };

// One answer for every refusal from the sold-out memo.
const SOLD_OUT = new AppError("sold_out", "this item is sold out");

/**
 * POST /checkout: admits the checkout (admit.lua) and queues its ticket, or waits for its
 * code or its end with `wait`. A refusal from the sold-out memo is answered, not thrown:
 * in a flood it is nearly every request; every other refusal is thrown as an AppError.
 */
export async function checkout(
  ctx: CheckoutCtx,
  input: CheckoutRequest,
  conn: CheckoutConnection,
): Promise<CheckoutAnswer> {
  const { wait, idempotencyKey: key } = input;
  const at = Date.now();
  // "" = the item in whichever one sale has it (shared/checkout/sold-out.ts).
  const memoSale = input.saleId ?? "";
  // An item sold out a moment ago is refused from memory (a replay may still find its ticket).
  if (!key && ctx.soldOut.has(memoSale, input.itemId)) {
    ctx.counters.inc("checkouts_total", { outcome: "sold_out" });
    ctx.attempts.record({ ...base(input.saleId ?? null), ticketId: null, outcome: "sold_out" });
    return { refused: SOLD_OUT };
  }
  // A waiting checkout holds a connection like a long poll: bounded per client, refused before anything is written.
  const client = conn.client();
  const release = wait ? conn.holdWait(client) : undefined;
  try {
    await takeClientToken(ctx.deps, client);
    const a = await admit(ctx.deps, ctx.directory, {
      userId: input.userId,
      itemId: input.itemId,
      ...(input.saleId ? { saleId: input.saleId } : {}),
      ...(key ? { idempotencyKey: key } : {}),
    });
    let status: TicketStatus = "queued";
    let where: Standing =
      a.defer === "room" ? inRoom(a.startsAt) : standing(status, a.position, a.gap, a.lastLeft);
    let stock: Stock | null = a.stock;
    // Two_step tickets carry their code, null until a unit is held; direct ones have no such fields.
    let code: Pick<TicketView, "code" | "expires_at"> = a.twoStep ? { code: null, expires_at: null } : {};
    const queue = async () => {
      // The fair-start room's opener queues a deferred ticket (shared/sale/open-rooms.ts).
      if (!a.defer) {
        const job = { ticketId: a.ticketId, saleId: a.saleId, itemId: input.itemId, userId: input.userId };
        try {
          await ctx.enqueuer.enqueue(job);
        } catch (err) {
          // Admitted but not queued: take the admission back and say so, leaving nothing that
          // could later buy; if it cannot be taken back, it stands and the sweeper queues it.
          if (await withdraw(ctx.deps, { ...job, ...(key ? { idempotencyKey: key } : {}) })) {
            ctx.deps.log.warn(
              { ticket: refOf(a.ticketId), err: String(err) },
              "checkout withdrawn: could not queue it",
            );
            throw new AppError("unavailable", "the checkout could not be queued; try again shortly", 1);
          }
        }
      }
      ctx.attempts.record({ ...base(a.saleId), ticketId: a.ticketId, outcome: "accepted" });
      ctx.counters.inc("checkouts_total", { outcome: "accepted" });
    };
    let t: TicketView | null | undefined;
    const hangup = conn.hangup();
    if (a.replayed) {
      t = wait
        ? await waitForCode(ctx.deps, ctx.events, a.ticketId, wait, { hangup })
        : await getTicket(ctx.deps, a.ticketId);
    } else if (wait && !a.defer) {
      // The fast path, one request per purchase: the wait is registered before the ticket is queued.
      t = await waitForAdmitted(ctx.deps, ctx.events, a.ticketId, wait, {
        twoStep: a.twoStep,
        start: queue,
        hangup,
      });
    } else {
      await queue();
      // A ticket in the fair-start room may be queued by its opener at any moment: read, then wait.
      if (wait) t = await waitForCode(ctx.deps, ctx.events, a.ticketId, wait, { hangup });
    }
    if (t !== undefined) {
      status = t?.status ?? "queued";
      where = t ?? standing(status, null, null, null);
      stock = t?.stock ?? null;
      if (t && "code" in t) code = { code: t.code ?? null, expires_at: t.expires_at ?? null };
    }
    const pollUrl = `/tickets/${a.ticketId}`;
    const accepted: CheckoutAccepted = {
      ticket_id: a.ticketId,
      status,
      position: where.position,
      eta_ms: where.eta_ms,
      stock,
      poll_url: pollUrl,
      // A replayed ticket that is already final has nothing left to poll for.
      poll_after_ms: where.poll_after_ms ?? 0,
      // Read at the end of a wait or for a replay: a final answer says why, so no poll is needed for it.
      ...(t ? { reason: t.reason, purchase_id: t.purchase_id } : {}),
      ...code,
    };
    return { accepted };
  } catch (err) {
    // Redis restarted empty and is being rebuilt: the item is not gone, only not back yet.
    if (err instanceof AppError && err.code === "item_not_found" && (await redisRebuilding(ctx.deps)))
      throw new AppError("unavailable", "the shop is being restored; try again shortly", 1);
    if (err instanceof AppError) {
      ctx.counters.inc("checkouts_total", { outcome: err.code });
      // Only Redis's word starts the memo's clock, so stock added elsewhere is seen within its TTL.
      if (err.code === "sold_out") ctx.soldOut.remember(memoSale, input.itemId);
      // Counted (above), not written to PostgreSQL: a flood of refusals by the rate limit, or of
      // made-up item ids, must not become a flood of rows.
      if (err.code !== "rate_limited" && err.code !== "item_not_found")
        ctx.attempts.record({ ...base(input.saleId ?? null), ticketId: null, outcome: err.code });
    }
    throw err;
  } finally {
    release?.();
  }

  function base(saleId: string | null) {
    return { saleId, itemId: input.itemId, userId: input.userId, at };
  }
}
