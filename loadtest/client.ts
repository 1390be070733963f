import type { ItemChoice } from "./choice.js";
import { errorCode, type HttpClient, NetworkError } from "./http.js";
import type { Stats } from "./stats.js";

// One shopper: check out an item, follow the ticket until it is final, and
// depending on the plan try another item after a refusal or keep buying up to
// a number of units.

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
}

export interface ClientCtx {
  http: HttpClient;
  choice: ItemChoice;
  stats: Stats;
  plan: UserPlan;
  /** Aborted at the hard end of the run (the HTTP client then fails every request in flight). */
  signal: AbortSignal;
  /** True once the run's time is up: no new checkouts, tickets in flight are still followed. */
  ending(): boolean;
}

const FINAL = new Set(["purchased", "rejected", "failed"]);
// Refusals that end a user's visit: trying another item cannot help.
const LEAVE = new Set(["user_limit_reached", "sale_not_active", "invalid_request"]);
// Refusals that mean "come back later": the user waits as Retry-After asks.
const BUSY = new Set(["overloaded", "unavailable", "rate_limited"]);

interface TicketBody {
  ticket_id?: string;
  status?: string;
  reason?: string | null;
}

export async function runUser(ctx: ClientCtx, userId: string): Promise<void> {
  const { http, choice, stats, plan } = ctx;
  let bought = 0;
  let misses = 0;
  const missed = () => ++misses > plan.retries;
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
      const t = await follow(ctx, ticketId);
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
    if (code && BUSY.has(code)) await pause(Math.min(plan.maxBackoffMs, (res.retryAfterS ?? 1) * 1000));
  }
}

/** Long-polls a ticket until it is final; null if it is not final in time or the run is aborted. */
async function follow(
  ctx: ClientCtx,
  ticketId: string,
): Promise<{ status: string; reason: string | null } | null> {
  const { http, stats, plan } = ctx;
  const deadline = stats.now() + plan.ticketTimeoutMs;
  while (!ctx.signal.aborted && stats.now() < deadline) {
    const wait = Math.max(1, Math.min(plan.pollWaitMs, Math.ceil(deadline - stats.now())));
    let res: Awaited<ReturnType<HttpClient["send"]>>;
    try {
      res = await http.send("GET", `/tickets/${ticketId}?wait=${wait}`, { timeoutMs: wait + 30_000 });
    } catch (err) {
      if (!(err instanceof NetworkError)) throw err;
      stats.networkError(err.code);
      await pause(100);
      continue;
    }
    stats.poll(res.status);
    const body = res.body as TicketBody | null;
    if (res.status === 200 && body?.status && FINAL.has(body.status)) {
      return { status: body.status, reason: body.reason ?? null };
    }
    // A 5xx or an answer without a status: do not spin on it.
    if (res.status !== 200) await pause(100);
  }
  return null;
}

// No abort listener: a waiting user notices the end of the run when it wakes,
// at most `maxBackoffMs` later.
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
