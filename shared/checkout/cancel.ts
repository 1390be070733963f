import type { Queue } from "bullmq";
import type { Deps } from "../deps.js";
import { AppError } from "../errors.js";
import { parseTicketId } from "../keys.js";
import type { CounterSink } from "../metrics/counters.js";
import { defineScript, str } from "../scripts/define.js";
import { newCodeSecret } from "../ticket/codes.js";
import { wakeTickets } from "../ticket/enqueue.js";
import { FINAL_TTL_S } from "../ticket/view.js";
import type { AttemptRecorder } from "./attempts.js";

export interface CancelDeps {
  deps: Pick<Deps, "redis" | "keys">;
  /** The checkout queue: the cancelled ticket's job, and a waiter handed its unit, are woken now. */
  queue: Queue;
  counters: Pick<CounterSink, "inc">;
  /**
   * PostgreSQL hears of the cancel (a checkout_attempts row, outcome 'cancelled'), so a
   * rebuild after a Redis loss does not queue the ticket again (shared/sale/readmit.ts).
   */
  attempts: Pick<AttemptRecorder, "record">;
}

/** What a cancel did: 'cancelled' now, or 'again' (cancelled before; nothing changed). */
export type Cancelled = "cancelled" | "again";

const cancelScript = defineScript({
  name: "cancel",
  lua: new URL("./cancel.lua", import.meta.url),
  helpers: ["now_ms", "left_line", "hand_on"],
  keys: ["sale", "item", "held", "pending", "ticket", "waitlist", "line", "saleMode"],
  args: ["ticketKey", "shopper", "ticketPrefix", "finalTtlS", "events", "seq", "waiterSecret"],
  // outcome 'cancelled' (detail 'queued', 'handed' with the waiter's seq, or 'restocked'),
  // 'again', 'refused' (detail: the ticket's status) or 'unknown'.
  decode: (raw) => ({ outcome: str(raw, 0), detail: str(raw, 1), waiter: str(raw, 2) }),
});

const notFound = (id: string) => new AppError("ticket_not_found", `no ticket ${id}`);

/**
 * DELETE /tickets/{id}: the holder leaves the line (cancel.lua). A queued
 * ticket ends at once as rejected/cancelled; a two_step hold not yet confirmed is given up
 * and its unit goes to the earliest waiting ticket. A ticket whose payment is under way,
 * or that is final, is 409 ticket_not_cancellable; an unknown id, a wrong key, or (with
 * shopper identity) another user's ticket is 404 ticket_not_found.
 */
export async function cancelTicket(ctx: CancelDeps, id: string, shopper?: string): Promise<Cancelled> {
  const ref = parseTicketId(id);
  if (!ref) throw notFound(id);
  const { redis, keys } = ctx.deps;
  const { saleId, seq } = ref;
  const ticket = keys.ticket(saleId, seq);
  // The item names the line and stock the script touches; it never changes, so reading it
  // first races nothing. The script checks the key and the owner.
  const [itemId, userId] = await redis.hmget(ticket, "i", "u");
  if (!itemId || !userId) throw notFound(id);
  const { outcome, detail, waiter } = await cancelScript.run(
    redis,
    {
      sale: keys.sale(saleId),
      item: keys.item(saleId, itemId),
      held: keys.held(saleId),
      pending: keys.pending(saleId),
      ticket,
      waitlist: keys.waitlist(saleId, itemId),
      line: keys.line(saleId, itemId),
      saleMode: keys.saleMode(saleId),
    },
    {
      ticketKey: ref.key,
      shopper: shopper ?? "",
      ticketPrefix: keys.ticketPrefix(saleId),
      finalTtlS: FINAL_TTL_S,
      events: keys.events(saleId),
      seq,
      waiterSecret: newCodeSecret(),
    },
  );
  if (outcome === "unknown") throw notFound(id);
  if (outcome === "again") return "again";
  if (outcome === "refused") throw notCancellable(detail);
  ctx.counters.inc("tickets_total", { status: "rejected", reason: "cancelled" });
  ctx.attempts.record({ saleId, itemId, userId, ticketId: id, outcome: "cancelled", at: Date.now() });
  // Its own job (asleep on the waitlist or until its hold's expiry) ends now rather than
  // at its next look; a waiter handed the unit starts its hold, as after a release.
  await wakeTickets(ctx.queue, saleId, detail === "handed" && waiter ? [seq, waiter] : [seq]);
  return "cancelled";
}

function notCancellable(status: string): AppError {
  const why =
    status === "paying"
      ? "its payment is in flight"
      : status === "reserved" || status === "confirmed"
        ? "its unit is on its way to payment"
        : `it is final (${status})`;
  return new AppError("ticket_not_cancellable", `this ticket cannot be cancelled: ${why}`);
}
