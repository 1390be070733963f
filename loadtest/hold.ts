import { setTimeout as sleep } from "node:timers/promises";
import type { ClientCtx, TicketBody } from "./client.js";
import { BUSY_CODES, errorCode, type HttpClient, NetworkError } from "./http.js";
import type { Stats } from "./stats.js";

// Two_step sales: a ticket holding a unit shows a checkout code, and the unit is
// the shopper's only if it pays with `POST /purchase?code=` before the hold expires.

// A long poll (`GET /tickets/{id}?wait=`) answers when the status differs from the one
// the server read as the wait began, and a two_step hold is a status that stays put
// until the shopper pays. So a poll that starts just after the unit was held sleeps
// through the hold. Hence, for two_step tickets: the first look after the checkout
// does not wait (the worker often holds a unit within milliseconds), and while queued
// no poll waits longer than this share of the hold, so a shopper that lost that race
// still pays in time.
const QUEUED_HOLD_SHARE = 0.25;
// Reserved without a code yet: the code comes without a change of status, so ask again this soon.
const CODE_POLL_MS = 100;

/** Whether this shopper pays its holds: drawn once, at its first hold. */
export type Pays = () => boolean;

// A request that got no answer is tried again this much later.
const NETWORK_RETRY_MS = 100;

export interface HoldCtx {
  http: HttpClient;
  stats: Stats;
  signal: AbortSignal;
  /** The longest a shopper honours a Retry-After. */
  maxBackoffMs: number;
}

/**
 * Pays a hold: one `POST /purchase` for the code, repeated only when the system
 * answers "busy" or not at all, and only until the hold ends (`untilMs`, on the
 * stats clock). Any other answer ends it: a 202 queued the payment, a 404 means
 * the hold is gone, and either way the ticket will say how it ended.
 */
export async function payHold(ctx: HoldCtx, code: string, untilMs: number): Promise<void> {
  const { http, stats } = ctx;
  const path = `/purchase?code=${encodeURIComponent(code)}`;
  while (!ctx.signal.aborted) {
    let backoffMs: number;
    try {
      const res = await http.send("POST", path);
      const err = res.status === 202 ? null : (errorCode(res.body) ?? `http_${res.status}`);
      stats.purchaseAnswer(res.status, err);
      if (!err || !BUSY_CODES.has(err)) return;
      backoffMs = Math.min(ctx.maxBackoffMs, (res.retryAfterS ?? 1) * 1000);
    } catch (e) {
      if (!(e instanceof NetworkError)) throw e;
      stats.purchaseNetworkError(e.code);
      backoffMs = NETWORK_RETRY_MS;
    }
    if (stats.now() + backoffMs >= untilMs) return;
    await sleep(backoffMs);
  }
}

/** The hold's end on the stats clock, from the ticket's `expires_at` (the system's clock). */
export function holdEndsAt(stats: Stats, expiresAt: string | null | undefined): number | null {
  const at = expiresAt ? Date.parse(expiresAt) : Number.NaN;
  return Number.isNaN(at) ? null : stats.now() + (at - Date.now());
}

/** The next poll's wait for a two_step ticket, given its last answer (null: none yet); 0 asks without waiting. */
export function twoStepWait(ctx: ClientCtx, last: TicketBody | null): number {
  if (last === null) return 0;
  if (last.status === "reserved" && !last.code) return CODE_POLL_MS;
  if (last.status === "queued" && ctx.holdMs !== null) {
    return Math.min(ctx.plan.pollWaitMs, Math.max(CODE_POLL_MS, ctx.holdMs * QUEUED_HOLD_SHARE));
  }
  return ctx.plan.pollWaitMs;
}

/**
 * A unit held behind `code`: pay for it, or walk away and let the hold expire.
 * Returns the ticket's new deadline: a hold may outlast the ticket timeout, so
 * the system gets until the hold's end and then the usual time on top.
 */
export async function onHold(
  ctx: ClientCtx,
  code: string,
  expiresAt: string | null | undefined,
  deadline: number,
  pays: Pays,
): Promise<number> {
  const { stats, plan } = ctx;
  stats.held();
  const endsAt = holdEndsAt(stats, expiresAt);
  const until = endsAt === null ? deadline : Math.max(deadline, endsAt + plan.ticketTimeoutMs);
  if (!pays()) {
    stats.abandoned();
    return until;
  }
  await payHold({ ...ctx, maxBackoffMs: plan.maxBackoffMs }, code, endsAt ?? deadline);
  return until;
}
