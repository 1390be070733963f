import { sign } from "hono/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTicketId, refOf } from "../shared/keys.js";
import { readCounters } from "../shared/metrics/counters.js";
import { reloadSale } from "../shared/sale/load.js";
import { retireSale } from "../shared/sale/retire.js";
import { wakeTickets } from "../shared/ticket/enqueue.js";
import type { TicketView } from "../shared/ticket/view.js";
import { sleep } from "../shared/time.js";
import { auditSale } from "../tools/audit/audit.js";
import { scanTickets, waitForRest as waitForTickets } from "../tools/audit/tickets.js";
import { crowd } from "../tools/harness/crowd.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { checkInvariants, slotsAtRest, waitForRest } from "../tools/harness/invariants.js";
import { untilFinal, untilStatus } from "./helpers/shopper.js";

// Leaving the line (issue 15): DELETE /tickets/{id} cancels a queued ticket or gives up a
// two_step hold, atomically against its reservation, confirmation and payment; GET
// /users/{id}/tickets lists a user's tickets.

type Accepted = Pick<TicketView, "ticket_id" | "status" | "code" | "expires_at" | "position">;
type Err = { error: { code: string; message: string } };
interface Listed {
  ticket_id: string | null;
  ref: string;
  status: string;
  reason: string | null;
  item_id: string;
  sale_id: string;
  purchase_id: string | null;
}

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ workers: 2 });
});
afterAll(async () => {
  await env?.close();
});

const checkout = (user: string, item: string, wait = 0) =>
  env.json<Accepted & Err>(`/checkout?user_id=${user}&id=${item}&wait=${wait}`, { method: "POST" });
const cancel = (id: string, headers: Record<string, string> = {}) =>
  env.json<TicketView & Err>(`/tickets/${id}`, { method: "DELETE", headers });
const buy = (code: string) =>
  env.json<TicketView & Err>(`/purchase?code=${encodeURIComponent(code)}`, { method: "POST" });

/** Until the ticket's own queue job has ended (removed on completion), never left asleep. */
async function jobEnded(ticketId: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const job = await env.api.ctx.queue.getJob(refOf(ticketId));
    const state = job ? await job.getState() : "gone";
    if (state === "gone" || state === "completed") return state;
    if (Date.now() > deadline) throw new Error(`job of ${refOf(ticketId)} is still ${state}`);
    await sleep(50);
  }
}

/** Cancels counted in tickets_total, summed over processes; each flushes its counts every 500 ms. */
async function cancelledCount() {
  const counters = await readCounters(env.deps);
  return counters
    .filter((c) => c.name === "tickets_total" && c.labels.reason === "cancelled")
    .reduce((n, c) => n + c.value, 0);
}

async function atRest(saleId: string) {
  await waitForRest(env.deps, saleId);
  const report = await checkInvariants(env.deps, saleId);
  expect(report.violations).toEqual([]);
  return report;
}

describe("DELETE /tickets/{id}", () => {
  it("cancels a queued ticket at once: its job ends, nothing is sold to it, the next ticket is served; a paying ticket is 409", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "Q", stock: 1 }] });
    // The first ticket's payment declines, slowly, so the others wait in line meanwhile.
    await env.setPayments({ latency_ms: { min: 1500, max: 1500 }, failure_rate: 1 });
    const first = await checkout("q-first", "Q");
    await untilStatus(env, first.body.ticket_id, "paying");
    const second = await checkout("q-second", "Q");
    const third = await checkout("q-third", "Q");
    expect(second.body.status).toBe("queued");
    // The first payment keeps the settings it started with; the next ones go through.
    await env.setPayments({ latency_ms: { min: 0, max: 2 }, failure_rate: 0 });

    const paying = await cancel(first.body.ticket_id);
    expect(paying.status).toBe(409);
    expect(paying.body).toEqual({ error: { code: "ticket_not_cancellable", message: expect.any(String) } });

    const counted = await cancelledCount();
    const out = await cancel(second.body.ticket_id);
    expect(out.status).toBe(200);
    expect(out.body).toMatchObject({
      ticket_id: second.body.ticket_id,
      status: "rejected",
      reason: "cancelled",
      position: null,
      user_id: "q-second",
      item_id: "Q",
      sale_id: saleId,
    });
    // The third moved up in line.
    expect((await env.json<TicketView>(`/tickets/${third.body.ticket_id}`)).body.position).toBe(1);
    // Idempotent: cancelled again, the same ticket, nothing changes.
    const again = await cancel(second.body.ticket_id);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      status: "rejected",
      reason: "cancelled",
      updated_at: out.body.updated_at,
    });

    expect(await jobEnded(second.body.ticket_id)).not.toBe("delayed");
    expect(await untilFinal(env, first.body.ticket_id)).toMatchObject({ status: "failed" });
    expect(await untilFinal(env, third.body.ticket_id)).toMatchObject({ status: "purchased" });
    expect((await env.json<TicketView>(`/tickets/${second.body.ticket_id}`)).body).toMatchObject({
      status: "rejected",
      reason: "cancelled",
      purchase_id: null,
    });
    // A final ticket other than a cancelled one cannot be cancelled.
    const bought = await cancel(third.body.ticket_id);
    expect(bought.status).toBe(409);
    expect(bought.body.error.code).toBe("ticket_not_cancellable");

    const report = await atRest(saleId);
    expect(report.sold).toBe(1);
    const rows = await env.deps.db.client<{ user_id: string }[]>`
      select user_id from purchases where sale_id = ${Number(saleId)}`;
    expect(rows.map((r) => r.user_id)).toEqual(["q-third"]);
    // Counted once, in tickets_total{status="rejected",reason="cancelled"} (flushed twice a second).
    const deadline = Date.now() + 5_000;
    while ((await cancelledCount()) < counted + 1 && Date.now() < deadline) await sleep(100);
    await sleep(600);
    expect((await cancelledCount()) - counted).toBe(1);
  });

  it("cancels a ticket waiting in the fair-start room: it takes no place at the opening, the others buy", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "F", stock: 5 }], starts_in_s: 2 });
    const room = await Promise.all(["f1", "f2", "f3"].map((u) => checkout(u, "F")));
    for (const t of room) expect(t.body).toMatchObject({ status: "queued", position: null });
    const out = await cancel(room[1]?.body.ticket_id as string);
    expect(out.body).toMatchObject({ status: "rejected", reason: "cancelled" });
    for (const t of [room[0], room[2]])
      expect(await untilFinal(env, t?.body.ticket_id as string)).toMatchObject({ status: "purchased" });
    expect((await env.json<TicketView>(`/tickets/${room[1]?.body.ticket_id}`)).body.reason).toBe("cancelled");
    const report = await atRest(saleId);
    expect(report.sold).toBe(2);
  });

  it("unknown, malformed or wrong-key ids are 404 ticket_not_found, with no hint", async () => {
    await env.createSale({ items: [{ item_id: "N", stock: 1 }] });
    const t = await checkout("n-user", "N");
    const id = t.body.ticket_id;
    const wrongKey = `${refOf(id)}-${"A".repeat(16)}`;
    for (const bad of ["nope", "1-1", "9999-1-AAAAAAAAAAAAAAAA", wrongKey, `${refOf(id)}-x`]) {
      const r = await cancel(bad);
      expect(r.status, bad).toBe(404);
      expect(r.body).toEqual({ error: { code: "ticket_not_found", message: expect.any(String) } });
    }
    // The real ticket was not touched.
    expect((await env.json<TicketView>(`/tickets/${id}`)).body.reason).not.toBe("cancelled");
  });

  it("gives up a two_step hold at once: the unit goes to the earliest waiter now, not at the hold's expiry", async () => {
    const saleId = await env.createSale({
      items: [{ item_id: "H", stock: 1 }],
      checkout_mode: "two_step",
      hold_s: 60,
    });
    const holder = await checkout("h-holder", "H", 10_000);
    expect(holder.body).toMatchObject({ status: "reserved", code: expect.any(String) });
    const next = await checkout("h-next", "H");
    const later = await checkout("h-later", "H");
    expect(next.body.status).toBe("queued");
    // The waiters' jobs found no unit and sleep on the waitlist.
    await sleep(300);

    const started = Date.now();
    const out = await cancel(holder.body.ticket_id);
    expect(out.status).toBe(200);
    expect(out.body).toMatchObject({ status: "rejected", reason: "cancelled" });
    const handed = await env.json<TicketView>(`/tickets/${next.body.ticket_id}?wait=5000&seen=queued`);
    expect(handed.body).toMatchObject({ status: "reserved", code: expect.stringMatching(/\./) });
    expect(Date.now() - started).toBeLessThan(5_000);
    // The given-up code buys nothing.
    const late = await buy(holder.body.code as string);
    expect(late.status).toBe(404);
    expect(late.body.error.code).toBe("code_not_found");

    // Confirmed by POST /purchase: on its way to payment, no longer cancellable.
    expect((await buy(handed.body.code as string)).status).toBe(202);
    const confirmed = await cancel(next.body.ticket_id);
    expect(confirmed.status).toBe(409);
    expect(confirmed.body.error.code).toBe("ticket_not_cancellable");
    expect(await untilFinal(env, next.body.ticket_id)).toMatchObject({ status: "purchased" });
    expect(await untilFinal(env, later.body.ticket_id)).toMatchObject({
      status: "rejected",
      reason: "sold_out",
    });
    await jobEnded(holder.body.ticket_id);
    const report = await atRest(saleId);
    expect(report.sold).toBe(1);
  });

  it("a two_step hold given up with no one waiting goes back to stock", async () => {
    const saleId = await env.createSale({
      items: [{ item_id: "R", stock: 2 }],
      checkout_mode: "two_step",
      hold_s: 60,
    });
    const holder = await checkout("r-holder", "R", 10_000);
    expect(holder.body.status).toBe("reserved");
    expect((await cancel(holder.body.ticket_id)).status).toBe(200);
    const sale = await env.json<{ stock: { available: number; reserved: number } }>(`/sales/${saleId}`);
    expect(sale.body.stock).toMatchObject({ available: 2, reserved: 0 });
    const report = await atRest(saleId);
    expect(report.sold).toBe(0);
  });

  it("cancels racing reservations with a worker running: every ticket ends once, cancelled exactly when the cancel won", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "X", stock: 20 }], user_limit: 1 });
    await env.setPayments({ latency_ms: { min: 0, max: 20 }, failure_rate: 0.2 });
    // The earlier tests' cancels flushed first.
    await sleep(600);
    const counted = await cancelledCount();
    // 120 shoppers; two in three cancel, some at once, some a moment later: many cancels
    // land while the workers reserve, pay, fail and hand units on.
    const results = await crowd(120, 60, async (i) => {
      const r = await checkout(`x${i}`, "X");
      if (r.status !== 202) return { id: null, cancel: 0 };
      if (i % 3 === 2) return { id: r.body.ticket_id, cancel: 0 };
      await sleep((i * 7) % 40);
      const c = await cancel(r.body.ticket_id);
      return { id: r.body.ticket_id, cancel: c.status };
    });
    const accepted = results.filter((r) => r.id);
    expect(accepted.length).toBeGreaterThan(60);
    for (const r of accepted) expect([0, 200, 409]).toContain(r.cancel);
    const won = accepted.filter((r) => r.cancel === 200).length;
    expect(won).toBeGreaterThan(0);
    // Some came too late: the ticket held a unit, was paying, or had ended.
    expect(accepted.filter((r) => r.cancel === 409).length).toBeGreaterThan(0);

    const tickets = await waitForRest(env.deps, saleId);
    const byId = new Map(tickets.map((t) => [t.id, t]));
    for (const r of accepted) {
      const t = byId.get(r.id as string);
      const cancelled = t?.status === "rejected" && t.reason === "cancelled";
      expect({ id: r.id, cancelled }).toEqual({ id: r.id, cancelled: r.cancel === 200 });
    }
    const report = await checkInvariants(env.deps, saleId);
    expect(report.violations).toEqual([]);
    expect(report.tickets).toBe(accepted.length);
    const purchases = await env.deps.db.client<{ ticket_id: string }[]>`
      select ticket_id from purchases where sale_id = ${Number(saleId)}`;
    const cancelledIds = new Set(accepted.filter((r) => r.cancel === 200).map((r) => r.id));
    for (const p of purchases) expect(cancelledIds.has(p.ticket_id)).toBe(false);
    expect(await slotsAtRest(env.deps)).toMatchObject({ held: 0, inFlight: 0 });
    const deadline = Date.now() + 5_000;
    while ((await cancelledCount()) < counted + won && Date.now() < deadline) await sleep(100);
    await sleep(600);
    expect((await cancelledCount()) - counted).toBe(won);
    await env.setPayments({ latency_ms: { min: 0, max: 2 }, failure_rate: 0 });
  });

  it("a cancel racing POST /purchase on a two_step hold: exactly one wins, and waiters take the given-up units", async () => {
    const saleId = await env.createSale({
      items: [{ item_id: "P", stock: 15 }],
      checkout_mode: "two_step",
      hold_s: 60,
      user_limit: 1,
    });
    const holders = await Promise.all(Array.from({ length: 15 }, (_, i) => checkout(`p${i}`, "P", 10_000)));
    for (const h of holders) expect(h.body).toMatchObject({ status: "reserved", code: expect.any(String) });
    // Waiters behind them, for the units given up.
    const waiters = await Promise.all(Array.from({ length: 10 }, (_, i) => checkout(`pw${i}`, "P")));
    const raced = await Promise.all(
      holders.map(async (h, i) => {
        const code = h.body.code as string;
        const [c, b] =
          i % 2 === 0
            ? await Promise.all([cancel(h.body.ticket_id), buy(code)])
            : await Promise.all([buy(code), cancel(h.body.ticket_id)]).then(([x, y]) => [y, x] as const);
        return { id: h.body.ticket_id, cancel: c.status, buy: b.status };
      }),
    );
    for (const r of raced) {
      // Exactly one winner: the cancel (200, the code then unknown) or the purchase (202, the cancel refused).
      expect([
        [200, 404],
        [409, 202],
      ]).toContainEqual([r.cancel, r.buy]);
      const t = await untilFinal(env, r.id);
      expect(t.status).toBe(r.cancel === 200 ? "rejected" : "purchased");
    }
    // Each waiter was handed a unit given up (its hold starts then): pay them all.
    const given = raced.filter((r) => r.cancel === 200).length;
    let paid = 0;
    for (const w of waiters) {
      const t = await env.json<TicketView>(`/tickets/${w.body.ticket_id}?wait=3000&seen=queued`);
      if (t.body.status === "reserved" && t.body.code) {
        expect((await buy(t.body.code)).status).toBe(202);
        paid++;
      }
    }
    expect(paid).toBe(Math.min(given, waiters.length));
    const report = await atRest(saleId);
    expect(report.sold).toBe(15 - given + paid);
  });
});

describe("a cancel outlives a Redis loss", () => {
  it("a rebuild from PostgreSQL queues again the accepted tickets, but not a cancelled one", async () => {
    const saleId = await env.createSale({
      items: [{ item_id: "D", stock: 1 }],
      checkout_mode: "two_step",
      hold_s: 60,
    });
    const holder = await checkout("d-holder", "D", 10_000);
    const waiter = await checkout("d-waiter", "D");
    expect((await cancel(waiter.body.ticket_id)).status).toBe(200);
    // The API's attempt rows, 'accepted' and 'cancelled', reach PostgreSQL.
    await env.api.ctx.attempts.drain();
    const { redis, keys } = env.deps;
    const lost = await redis.keys(`${keys.prefix}:{s${saleId}}:*`);
    await redis.del(...lost);
    const jobs = await reloadSale(env.deps, saleId);
    expect(jobs?.map((j) => j.ticketId)).toEqual([holder.body.ticket_id]);
    const seq = (id: string) => parseTicketId(id)?.seq ?? "";
    expect(await redis.hget(keys.ticket(saleId, seq(waiter.body.ticket_id)), "st")).toBeNull();
    // The holder's ticket runs anew (its old job, asleep until its hold's expiry, woken).
    await wakeTickets(env.api.ctx.queue, saleId, [seq(holder.body.ticket_id)]);
    await untilStatus(env, holder.body.ticket_id, "reserved");
    expect((await cancel(holder.body.ticket_id)).status).toBe(200);
    // A reloaded sale numbers its tickets from far above 1: found by scanning. The cancelled
    // ticket Redis lost is recorded as ended in PostgreSQL, not as lost.
    await waitForTickets(env.deps, saleId, 10_000, scanTickets);
    const report = await auditSale(env.deps, saleId, scanTickets);
    const violations = report.checks.filter((c) => c.id !== "slot_cap").flatMap((c) => c.violations);
    expect(violations).toEqual([]);
    expect(report.redis.sd).toBe(0);
  });
});

describe("GET /users/{id}/tickets", () => {
  it("lists a user's tickets newest first, by sale, with ids only for purchased ones (identity off); a retired sale lists its purchases", async () => {
    const one = await env.createSale({ items: [{ item_id: "L1", stock: 5 }] });
    const bought = await checkout("lister", "L1", 10_000);
    expect(await untilFinal(env, bought.body.ticket_id)).toMatchObject({ status: "purchased" });
    const two = await env.createSale({
      items: [{ item_id: "L2", stock: 5 }],
      checkout_mode: "two_step",
      hold_s: 60,
    });
    const held = await checkout("lister", "L2", 10_000);
    const dropped = await checkout("lister", "L2", 10_000);
    expect((await cancel(dropped.body.ticket_id)).status).toBe(200);

    const all = await env.json<{ tickets: Listed[] }>("/users/lister/tickets");
    expect(all.status).toBe(200);
    expect(all.body.tickets.map((t) => [t.ref, t.status, t.reason, t.ticket_id])).toEqual([
      [refOf(dropped.body.ticket_id), "rejected", "cancelled", null],
      [refOf(held.body.ticket_id), "reserved", null, null],
      [refOf(bought.body.ticket_id), "purchased", null, bought.body.ticket_id],
    ]);
    expect(all.body.tickets[1]).toMatchObject({ item_id: "L2", sale_id: two, purchase_id: null });

    const bySale = await env.json<{ tickets: Listed[] }>(`/users/lister/tickets?sale_id=${one}`);
    expect(bySale.body.tickets.map((t) => t.ref)).toEqual([refOf(bought.body.ticket_id)]);
    const limited = await env.json<{ tickets: Listed[] }>("/users/lister/tickets?limit=1");
    expect(limited.body.tickets.map((t) => t.ref)).toEqual([refOf(dropped.body.ticket_id)]);
    expect((await env.json<{ tickets: Listed[] }>("/users/nobody/tickets")).body).toEqual({ tickets: [] });
    for (const bad of ["?sale_id=01", "?limit=0", "?limit=201"])
      expect((await env.json<Err>(`/users/lister/tickets${bad}`)).status).toBe(400);

    // Retired from Redis, a sale keeps only its purchases.
    expect(await retireSale(env.deps, one)).toBe(true);
    const after = await env.json<{ tickets: Listed[] }>(`/users/lister/tickets?sale_id=${one}`);
    expect(after.body.tickets).toEqual([
      expect.objectContaining({ ticket_id: bought.body.ticket_id, status: "purchased", sale_id: one }),
    ]);
    expect((await cancel(held.body.ticket_id)).status).toBe(200);
    await atRest(two);
  });
});

describe("with shopper identity", () => {
  const SECRET = "a-test-secret-that-is-long-enough-for-hs256";
  let idEnv: TestEnv;
  beforeAll(async () => {
    idEnv = await createTestEnv({ env: { LOG_LEVEL: "fatal", AUTH_JWT_SECRET: SECRET } });
  });
  afterAll(async () => {
    await idEnv?.close();
  });
  const as = async (sub: string) => ({
    authorization: `Bearer ${await sign({ sub, exp: Math.floor(Date.now() / 1000) + 3600 }, SECRET, "HS256")}`,
  });

  it("another user's cancel and list are 404; the owner cancels and lists with ids", async () => {
    const saleId = await idEnv.createSale({
      items: [{ item_id: "I", stock: 1 }],
      checkout_mode: "two_step",
      hold_s: 60,
    });
    const held = await idEnv.json<Accepted>("/checkout?id=I&wait=10000", {
      method: "POST",
      headers: await as("alice"),
    });
    expect(held.body.status).toBe("reserved");
    const waiting = await idEnv.json<Accepted>("/checkout?id=I", {
      method: "POST",
      headers: await as("alice"),
    });
    const id = waiting.body.ticket_id;

    const theirs = await idEnv.json<Err>(`/tickets/${id}`, { method: "DELETE", headers: await as("bob") });
    expect(theirs.status).toBe(404);
    expect(theirs.body.error.code).toBe("ticket_not_found");
    expect((await idEnv.json<TicketView>(`/tickets/${id}`, { headers: await as("alice") })).body.status).toBe(
      "queued",
    );
    expect((await idEnv.json<Err>(`/tickets/${id}`, { method: "DELETE" })).status).toBe(401);
    expect((await idEnv.json<Err>("/users/alice/tickets", { headers: await as("bob") })).status).toBe(404);

    const mine = await idEnv.json<{ tickets: Listed[] }>("/users/alice/tickets", {
      headers: await as("alice"),
    });
    expect(mine.body.tickets.map((t) => t.ticket_id)).toEqual([id, held.body.ticket_id]);
    const out = await idEnv.json<TicketView>(`/tickets/${id}`, {
      method: "DELETE",
      headers: await as("alice"),
    });
    expect(out.status).toBe(200);
    expect(out.body).toMatchObject({ status: "rejected", reason: "cancelled" });
    expect(
      (await idEnv.json(`/tickets/${held.body.ticket_id}`, { method: "DELETE", headers: await as("alice") }))
        .status,
    ).toBe(200);
    await waitForRest(idEnv.deps, saleId);
    expect((await checkInvariants(idEnv.deps, saleId)).violations).toEqual([]);
  });
});
