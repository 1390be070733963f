import type { ItemChoice } from "./choice.js";
import { onHold, type Pays, twoStepWait } from "./hold.js";
import { BUSY_CODES, errorCode, forUser, type HttpClient, NetworkError } from "./http.js";
import type { Stats } from "./stats.js";

// One shopper: check out an item, follow the ticket until it is final (paying
// for a two_step sale's hold on the way, unless it is a shopper who abandons),
// and depending on the plan try another item after a refusal or keep buying up
// to a number of units. In a direct sale the checkout itself waits for the end
// (`POST /checkout?wait=`), so most purchases take one request; a ticket not
// final when that wait runs out is followed with long polls.

export interface UserPlan {
  /** Follow each accepted ticket until it is final; false only checks out (intake, flood). */
  poll: boolean;
  /** The `?wait=` of each poll: the API answers as soon as the status changes. */
  pollWaitMs: number;
  /**
   * Direct sales: check out with `?wait=` (`pollWaitMs`), so the answer is usually the
   * final ticket; false checks out, then polls. Two_step sales always check out, then poll.
   */
  waitAtCheckout: boolean;
  /** A ticket not final after this long counts as unfinished and the user gives up. */
  ticketTimeoutMs: number;
  /** Further attempts, on another item, after a refusal, rejection or failed payment. */
  retries: number;
  /** Units to buy before leaving (accepted tickets when not polling). */
  buyUpTo: number;
  /** The longest a user honours a Retry-After before trying again. */
  maxBackoffMs: number;
  /** Two_step sales: the share of shoppers (0–1) who never pay their holds, so the holds expire. */
  abandonRate: number;
}

export interface ClientCtx {
  http: HttpClient;
  choice: ItemChoice;
  stats: Stats;
  plan: UserPlan;
  /** The run's seeded random numbers. */
  random: () => number;
  /** The sale's hold when it is two_step (from the sale's `hold_s`), else null. */
  holdMs: number | null;
  /** The sale the crowd buys in, named on every checkout (its items' ids may be on sale in another too). */
  saleId?: string;
  /** Aborted at the hard end of the run (the HTTP client then fails every request in flight). */
  signal: AbortSignal;
  /** True once the run's time is up: no new checkouts, tickets in flight are still followed. */
  ending(): boolean;
}

const FINAL = new Set(["purchased", "rejected", "failed"]);
// A request with no answer after this long is given up; one that waits gets its wait on top.
const REQUEST_TIMEOUT_MS = 30_000;
// Refusals that end a user's visit: trying another item cannot help.
const LEAVE = new Set(["user_limit_reached", "sale_not_active", "invalid_request"]);

export interface TicketBody {
  ticket_id?: string;
  status?: string;
  reason?: string | null;
  /** Two_step sales only: the checkout code once a unit is held, null before; absent for direct sales. */
  code?: string | null;
  expires_at?: string | null;
}

export async function runUser(lane: ClientCtx, userId: string): Promise<void> {
  // Every request below is this user's: with shopper tokens, each carries its bearer token.
  const ctx: ClientCtx = { ...lane, http: forUser(lane.http, userId) };
  const { http, choice, stats, plan } = ctx;
  let bought = 0;
  let misses = 0;
  const missed = () => ++misses > plan.retries;
  let abandons: boolean | undefined;
  const pays = () => {
    abandons ??= plan.abandonRate > 0 && ctx.random() < plan.abandonRate;
    return !abandons;
  };
  const waitMs = checkoutWaitMs(ctx);
  const query = `${ctx.saleId ? `&sale_id=${ctx.saleId}` : ""}${waitMs > 0 ? `&wait=${waitMs}` : ""}`;
  const sendOpts = waitMs > 0 ? { timeoutMs: waitMs + REQUEST_TIMEOUT_MS } : {};
  while (!ctx.ending() && !ctx.signal.aborted) {
    const item = choice.pick();
    if (item === null) return;
    stats.checkoutSent();
    const t0 = stats.now();
    let res: Awaited<ReturnType<HttpClient["send"]>>;
    try {
      res = await http.send(
        "POST",
        `/checkout?user_id=${userId}&id=${encodeURIComponent(item)}${query}`,
        sendOpts,
      );
    } catch (err) {
      if (!(err instanceof NetworkError)) throw err;
      stats.networkError(err.code);
      if (ctx.signal.aborted || missed()) return;
      continue;
    }
    const code = res.status === 202 ? null : (errorCode(res.body) ?? `http_${res.status}`);
    stats.checkoutAnswer(res.status, code, stats.now() - t0);
    const body = res.body as TicketBody | null;
    const ticketId = body?.ticket_id;
    if (res.status === 202 && body && ticketId) {
      stats.accepted(ticketId, userId);
      if (!plan.poll) {
        if (++bought >= plan.buyUpTo) return;
        continue;
      }
      // A checkout that waited was accepted before its answer came: its ticket's time counts from the sending.
      const since = waitMs > 0 ? t0 : stats.now();
      const answeredFinal = waitMs > 0 && body.status !== undefined && FINAL.has(body.status);
      if (answeredFinal) stats.checkoutFinal();
      const t = answeredFinal
        ? await finalOf(ctx, ticketId, body)
        : await follow(ctx, ticketId, "code" in body, pays, since);
      if (!t) {
        stats.finals.unfinished++;
        return;
      }
      stats.final(t.status, t.reason, stats.now() - since, userId, ticketId);
      if (t.status === "purchased") {
        choice.bought(item);
        if (++bought >= plan.buyUpTo) return;
        continue;
      }
      if (t.reason === "sold_out") choice.soldOut(item);
      if ((t.reason && LEAVE.has(t.reason)) || missed()) return;
      continue;
    }
    if (code === "sold_out") choice.soldOut(item);
    if ((code && LEAVE.has(code)) || missed()) return;
    if (code && BUSY_CODES.has(code)) await pause(Math.min(plan.maxBackoffMs, (res.retryAfterS ?? 1) * 1000));
  }
}

/** The checkout's `?wait=` for this crowd: 0 (no wait) unless it follows tickets in a direct sale. */
export function checkoutWaitMs(ctx: Pick<ClientCtx, "plan" | "holdMs">): number {
  const { plan } = ctx;
  if (!plan.poll || !plan.waitAtCheckout || ctx.holdMs !== null) return 0;
  return Math.max(1, Math.min(plan.pollWaitMs, plan.ticketTimeoutMs));
}

/**
 * A final ticket from a checkout's answer. That answer carries no `reason`, so a
 * ticket that did not end in a purchase is read once more for it (the crowd moves
 * on differently after `sold_out` than after `user_limit_reached`).
 */
async function finalOf(
  ctx: ClientCtx,
  ticketId: string,
  body: TicketBody,
): Promise<{ status: string; reason: string | null }> {
  const status = body.status as string;
  if (status === "purchased" || body.reason !== undefined) return { status, reason: body.reason ?? null };
  try {
    const res = await ctx.http.send("GET", `/tickets/${ticketId}`);
    ctx.stats.poll(res.status);
    const t = res.status === 200 ? (res.body as TicketBody | null) : null;
    return { status, reason: t?.reason ?? null };
  } catch (err) {
    if (!(err instanceof NetworkError)) throw err;
    ctx.stats.networkError(err.code);
    return { status, reason: null };
  }
}

/**
 * Long-polls a ticket until it is final; null if it is not final `ticketTimeoutMs`
 * after `since` (stats clock) or the run is aborted.
 */
async function follow(
  ctx: ClientCtx,
  ticketId: string,
  twoStep: boolean,
  pays: Pays,
  since: number,
): Promise<{ status: string; reason: string | null } | null> {
  const { http, stats, plan } = ctx;
  let deadline = since + plan.ticketTimeoutMs;
  let held = false;
  let last: TicketBody | null = null;
  while (!ctx.signal.aborted && stats.now() < deadline) {
    const wait = twoStep ? twoStepWait(ctx, last) : plan.pollWaitMs;
    const ms = Math.max(1, Math.min(wait, Math.ceil(deadline - stats.now())));
    const path = wait === 0 ? `/tickets/${ticketId}` : `/tickets/${ticketId}?wait=${ms}`;
    let res: Awaited<ReturnType<HttpClient["send"]>>;
    try {
      res = await http.send("GET", path, { timeoutMs: ms + REQUEST_TIMEOUT_MS });
    } catch (err) {
      if (!(err instanceof NetworkError)) throw err;
      stats.networkError(err.code);
      await pause(100);
      continue;
    }
    stats.poll(res.status);
    const body = res.status === 200 ? (res.body as TicketBody | null) : null;
    if (body?.status && FINAL.has(body.status)) {
      return { status: body.status, reason: body.reason ?? null };
    }
    // A 5xx or an answer without a status: do not spin on it.
    if (!body?.status) {
      await pause(100);
      continue;
    }
    last = body;
    if (!held && body.status === "reserved" && body.code) {
      held = true;
      deadline = await onHold(ctx, body.code, body.expires_at, deadline, pays);
    }
  }
  return null;
}

// No abort listener: a waiting user notices the end of the run when it wakes,
// at most `maxBackoffMs` later.
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
