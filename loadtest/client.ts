import type { ItemChoice } from "./choice.js";
import { onHold, type Pays, twoStepWait } from "./hold.js";
import { BUSY_CODES, errorCode, type HttpClient, NetworkError } from "./http.js";
import type { Stats } from "./stats.js";

// One shopper: check out an item, follow the ticket until it is final (paying
// for a two_step sale's hold on the way, unless it is a shopper who abandons),
// and depending on the plan try another item after a refusal or keep buying up
// to a number of units.

export interface UserPlan {
  /** Follow each accepted ticket until it is final; false only checks out (intake, flood). */
  poll: boolean;
  /** The `?wait=` of each poll: the API answers as soon as the status changes. */
  pollWaitMs: number;
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
  /** Aborted at the hard end of the run (the HTTP client then fails every request in flight). */
  signal: AbortSignal;
  /** True once the run's time is up: no new checkouts, tickets in flight are still followed. */
  ending(): boolean;
}

const FINAL = new Set(["purchased", "rejected", "failed"]);
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

export async function runUser(ctx: ClientCtx, userId: string): Promise<void> {
  const { http, choice, stats, plan } = ctx;
  let bought = 0;
  let misses = 0;
  const missed = () => ++misses > plan.retries;
  let abandons: boolean | undefined;
  const pays = () => {
    abandons ??= plan.abandonRate > 0 && ctx.random() < plan.abandonRate;
    return !abandons;
  };
  while (!ctx.ending() && !ctx.signal.aborted) {
    const item = choice.pick();
    if (item === null) return;
    stats.checkoutSent();
    const t0 = stats.now();
    let res: Awaited<ReturnType<HttpClient["send"]>>;
    try {
      res = await http.send("POST", `/checkout?user_id=${userId}&id=${encodeURIComponent(item)}`);
    } catch (err) {
      if (!(err instanceof NetworkError)) throw err;
      stats.networkError(err.code);
      if (ctx.signal.aborted || missed()) return;
      continue;
    }
    const code = res.status === 202 ? null : (errorCode(res.body) ?? `http_${res.status}`);
    stats.checkoutAnswer(res.status, code, stats.now() - t0);
    const ticketId = (res.body as TicketBody | null)?.ticket_id;
    if (res.status === 202 && ticketId) {
      stats.accepted(ticketId, userId);
      const acceptedAt = stats.now();
      if (!plan.poll) {
        if (++bought >= plan.buyUpTo) return;
        continue;
      }
      const twoStep = "code" in (res.body as TicketBody);
      const t = await follow(ctx, ticketId, twoStep, pays);
      if (!t) {
        stats.finals.unfinished++;
        return;
      }
      stats.final(t.status, t.reason, stats.now() - acceptedAt, userId, ticketId);
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

/** Long-polls a ticket until it is final; null if it is not final in time or the run is aborted. */
async function follow(
  ctx: ClientCtx,
  ticketId: string,
  twoStep: boolean,
  pays: Pays,
): Promise<{ status: string; reason: string | null } | null> {
  const { http, stats, plan } = ctx;
  let deadline = stats.now() + plan.ticketTimeoutMs;
  let held = false;
  let last: TicketBody | null = null;
  while (!ctx.signal.aborted && stats.now() < deadline) {
    const wait = twoStep ? twoStepWait(ctx, last) : plan.pollWaitMs;
    const ms = Math.max(1, Math.min(wait, Math.ceil(deadline - stats.now())));
    const path = wait === 0 ? `/tickets/${ticketId}` : `/tickets/${ticketId}?wait=${ms}`;
    let res: Awaited<ReturnType<HttpClient["send"]>>;
    try {
      res = await http.send("GET", path, { timeoutMs: ms + 30_000 });
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
