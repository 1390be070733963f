import * as api from "./api.js";
import { CHECK_LANES, settleAndCheck, userId } from "./check.js";
import { hotChoice, type ItemChoice, seededRandom, uniformChoice, zipfChoice } from "./choice.js";
import { type ClientCtx, runUser, type UserPlan } from "./client.js";
import { createHttp, createLanes, type HttpClient, type Lanes, NetworkError } from "./http.js";
import type { SaleView } from "./invariants.js";
import { defaultOptions, type LoadOptions, validate } from "./options.js";
import { startProgress } from "./progress.js";
import { buildReport, type Report } from "./report.js";
import { pacer, profileSeconds } from "./schedule.js";
import { createStats } from "./stats.js";
import { shopperTokens } from "./tokens.js";

/** What every user of a crowd shares; each user gets its own connection (a lane) on top. */
type CrowdCtx = Omit<ClientCtx, "http"> & { lanes: Lanes };

export type LoadInput = Partial<Omit<LoadOptions, "plan">> & { plan?: Partial<UserPlan> };

// How often an open crowd's pacer starts the users that are due.
const TICK_MS = 2;
// The workers follow a payment-settings change within a second (the contract).
const SETTINGS_FOLLOW_MS = 1100;

export function resolveOptions(input: LoadInput): LoadOptions {
  const d = defaultOptions();
  return { ...d, ...input, plan: { ...d.plan, ...input.plan } };
}

export interface LoadHooks {
  /** Called once the crowd is done, before the sale is left to come to rest and checked. */
  afterCrowd?(saleId: string): Promise<void>;
}

/** Runs one crowd against a running system and reports what happened. */
export async function runLoad(input: LoadInput, hooks: LoadHooks = {}): Promise<Report> {
  const o = resolveOptions(input);
  const bad = validate(o);
  if (bad.length) throw new Error(bad.join("\n"));
  // Admin requests carry Basic credentials; with a JWT secret, shopper requests (the crowd's,
  // and the checks' reads of a user's tickets and purchases) carry that user's bearer token.
  const auth = {
    ...(o.admin ? { admin: o.admin } : {}),
    ...(o.jwtSecret ? { tokens: shopperTokens(o.jwtSecret) } : {}),
  };
  const crowd = createLanes(new URL(o.url), auth);
  // Set-up and checks get their own sockets: the crowd's are cut at the hard end of a run.
  const ops = createHttp(new URL(o.url), { connections: CHECK_LANES, ...auth });
  try {
    return await run(o, crowd, ops, hooks);
  } finally {
    crowd.close();
    ops.close();
  }
}

async function run(o: LoadOptions, lanes: Lanes, ops: HttpClient, hooks: LoadHooks): Promise<Report> {
  const startedAt = new Date();
  const random = seededRandom(o.seed);
  const sale = await reachable(o.url, targetSale(o, ops));
  // What the run changes, as it was: put back when the run ends, however it ends.
  const before = o.payments && o.restorePayments ? await api.getPayments(ops) : null;
  if (o.payments) {
    await api.setPayments(ops, o.payments);
    await new Promise((r) => setTimeout(r, SETTINGS_FOLLOW_MS));
  }
  try {
    return await crowdAndCheck(o, lanes, ops, hooks, sale, startedAt, random);
  } finally {
    if (before && o.payments) {
      const back = Object.fromEntries(Object.keys(o.payments).map((k) => [k, before[k]]));
      await api.setPayments(ops, back).catch((err: Error) => {
        process.stderr.write(
          `could not put the payment settings back (${err.message}): ${JSON.stringify(back)}\n`,
        );
      });
    }
  }
}

/** The first request's answer; a target that does not answer is named, with what to check. */
async function reachable<T>(url: string, first: Promise<T>): Promise<T> {
  try {
    return await first;
  } catch (err) {
    if (!(err instanceof NetworkError)) throw err;
    throw new Error(
      `cannot reach the API at ${url} (${err.code}): is it running? (npm start; --url, or PORT, names another)`,
    );
  }
}

async function crowdAndCheck(
  o: LoadOptions,
  lanes: Lanes,
  ops: HttpClient,
  hooks: LoadHooks,
  sale: SaleView,
  startedAt: Date,
  random: () => number,
): Promise<Report> {
  const choice = await chooser(o, ops, sale.sale_id, random);
  const stats = createStats(random);
  stats.soldOutTarget = sale.stock.available + sale.stock.reserved;

  await lanes.warm(lanesNeeded(o), `/sales/${sale.sale_id}`);
  const abort = new AbortController();
  abort.signal.addEventListener("abort", () => lanes.abortAll(), { once: true });
  let ending = false;
  const endTimer = setTimeout(() => {
    ending = true;
  }, o.durationS * 1000);
  const abortTimer = setTimeout(() => abort.abort(), (o.durationS + o.drainS) * 1000);
  // "Buy up to the limit" means this sale's limit.
  const plan = { ...o.plan, buyUpTo: Math.min(o.plan.buyUpTo, sale.user_limit) };
  const ctx: CrowdCtx = {
    lanes,
    choice,
    stats,
    plan,
    random,
    holdMs: sale.hold_s ? sale.hold_s * 1000 : null,
    saleId: sale.sale_id,
    signal: abort.signal,
    ending: () => ending,
  };
  const progress = o.progress
    ? startProgress(stats, { out: process.stderr, users: o.users, durationS: o.durationS })
    : null;
  try {
    await (o.arrival.kind === "concurrency" ? closedCrowd(o, ctx, o.arrival.concurrency) : openCrowd(o, ctx));
  } finally {
    stats.endedAt = stats.now();
    clearTimeout(endTimer);
    clearTimeout(abortTimer);
    progress?.stop();
  }

  await hooks.afterCrowd?.(sale.sale_id);
  const end = o.checkInvariants ? await settleAndCheck(o, ops, sale.sale_id, stats, random) : null;
  return buildReport(stats, {
    target: o.url,
    sale: { sale_id: sale.sale_id, total: sale.stock.total, user_limit: sale.user_limit },
    settings: settingsOf(o),
    startedAt,
    soldUnits: end?.sold ?? null,
    invariants: end?.invariants ?? null,
  });
}

async function targetSale(o: LoadOptions, http: HttpClient): Promise<SaleView> {
  if (o.saleId) return api.getSale(http, o.saleId);
  if (o.createSale) return api.createSale(http, o.createSale);
  return api.currentSale(http);
}

async function chooser(
  o: LoadOptions,
  http: HttpClient,
  saleId: string,
  random: () => number,
): Promise<ItemChoice> {
  if (o.choice === "hot") {
    const hot = o.hotItem ?? (await api.listItems(http, saleId, 1))[0]?.id;
    if (!hot) throw new Error(`sale ${saleId} has no items`);
    return hotChoice(hot);
  }
  const items = await api.listItems(http, saleId);
  return o.choice === "zipf" ? zipfChoice(items, o.zipfExponent, random) : uniformChoice(items, random);
}

async function oneUser(o: LoadOptions, ctx: ClientCtx, i: number) {
  ctx.stats.users.started++;
  try {
    await runUser(ctx, userId(o, i));
  } catch (err) {
    // A bug in the client, not the system: count it and let the rest of the crowd go on.
    ctx.stats.networkError(`client_error:${String((err as Error).message ?? err).slice(0, 60)}`);
  }
  ctx.stats.users.done++;
}

/** Connections to open before the run: one per user expected in flight. */
function lanesNeeded(o: LoadOptions): number {
  if (o.arrival.kind === "concurrency") return Math.min(o.arrival.concurrency, o.users);
  // An open crowd's users in flight: its rate times about 100 ms each, within the cap.
  return Math.min(o.maxInFlight, o.users, Math.ceil(o.arrival.rate / 10));
}

/** A fixed number of users at once; each lane starts a new user when its last one leaves. */
async function closedCrowd(o: LoadOptions, crowd: CrowdCtx, concurrency: number) {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, o.users) }, async () => {
    const ctx: ClientCtx = { ...crowd, http: crowd.lanes.take() };
    while (!ctx.ending() && !ctx.signal.aborted && next < o.users && ctx.choice.remaining() > 0) {
      await oneUser(o, ctx, next++);
    }
  });
  await Promise.all(lanes);
}

/** Users arrive on schedule; beyond `maxInFlight` at once, arrivals are dropped and counted. */
async function openCrowd(o: LoadOptions, crowd: CrowdCtx) {
  if (o.arrival.kind !== "rate") return;
  const pace = pacer(o.arrival, o.users);
  const endS = profileSeconds(o.arrival);
  const inFlight = new Set<Promise<void>>();
  let next = 0;
  const { stats } = crowd;
  const t0 = stats.now();
  while (!crowd.ending() && !crowd.signal.aborted && pace.started < o.users && crowd.choice.remaining() > 0) {
    const nowS = (stats.now() - t0) / 1000;
    if (nowS >= endS) break;
    for (let due = pace.due(nowS); due > 0; due--) {
      const i = next++;
      if (inFlight.size >= o.maxInFlight) {
        stats.users.dropped++;
        continue;
      }
      const http = crowd.lanes.take();
      const p: Promise<void> = oneUser(o, { ...crowd, http }, i).finally(() => {
        crowd.lanes.give(http);
        inFlight.delete(p);
      });
      inFlight.add(p);
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  await Promise.all(inFlight);
}

function settingsOf(o: LoadOptions): Record<string, unknown> {
  return {
    users: o.users,
    arrival: o.arrival,
    duration_s: o.durationS,
    choice: o.choice === "zipf" ? `zipf(s=${o.zipfExponent})` : o.choice,
    // JSON has no Infinity: "limit" is what --buy limit asked for.
    plan: { ...o.plan, buyUpTo: Number.isFinite(o.plan.buyUpTo) ? o.plan.buyUpTo : "limit" },
    create_sale: o.createSale,
    payments: o.payments,
    // Whether shoppers sent signed tokens; never the secret.
    signed_identity: Boolean(o.jwtSecret),
    seed: o.seed,
  };
}
