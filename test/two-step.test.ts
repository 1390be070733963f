import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCounters } from "../shared/metrics/counters.js";
import type { TicketView } from "../shared/ticket/view.js";
import { sleep } from "../shared/time.js";
import { crowd } from "../tools/harness/crowd.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { checkInvariants, slotsAtRest, waitForRest } from "../tools/harness/invariants.js";
import { untilFinal } from "./helpers/shopper.js";

// The contest's API: checkout reserves and issues a code, POST /purchase pays with it.

type Accepted = Pick<TicketView, "ticket_id" | "status" | "code" | "expires_at" | "position">;
type Error = { error: { code: string } };

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ workers: 2 });
});
afterAll(async () => {
  await env?.close();
});

const checkout = (user: string, item: string, wait = 10_000) =>
  env.json<Accepted & Error>(`/checkout?user_id=${user}&id=${item}&wait=${wait}`, { method: "POST" });
const buy = (code: string, asBody = false) =>
  asBody
    ? env.json<TicketView & Error>("/purchase", { method: "POST", json: { code } })
    : env.json<TicketView & Error>(`/purchase?code=${encodeURIComponent(code)}`, { method: "POST" });

/** Payments the workers ran, whatever their outcome (the payments_total counter, summed). */
async function paymentsRun() {
  const counters = await readCounters(env.deps);
  return counters.filter((c) => c.name === "payments_total").reduce((n, c) => n + c.value, 0);
}

async function purchasesOf(saleId: string) {
  return env.deps.db.client<{ ticket_id: string; user_id: string }[]>`
    select ticket_id, user_id from purchases where sale_id = ${Number(saleId)}`;
}

describe("two-step checkout", () => {
  it("checkout ?wait answers with the code; the code used 20 times at once purchases once", async () => {
    const saleId = await env.createSale({
      items: [{ item_id: "C", stock: 3 }],
      checkout_mode: "two_step",
      hold_s: 30,
    });
    expect((await env.json(`/sales/${saleId}`)).body).toMatchObject({
      checkout_mode: "two_step",
      hold_s: 30,
    });
    const started = Date.now();
    const held = await checkout("alice", "C");
    expect(held.status).toBe(202);
    expect(held.body).toMatchObject({ status: "reserved", position: null });
    expect(held.body.code).toMatch(new RegExp(`^${held.body.ticket_id}\\.[A-Za-z0-9_-]{22}$`));
    const expires = Date.parse(held.body.expires_at ?? "");
    expect(expires - started).toBeGreaterThan(29_000);
    expect(expires - started).toBeLessThan(31_500);
    const code = held.body.code as string;

    // Payments run so far in this suite's system (each worker counts every payment it runs).
    const paymentsBefore = await paymentsRun();
    // Query and body forms, all at once: one purchase, every answer the same ticket.
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => buy(code, i % 2 === 1)));
    for (const a of answers) {
      expect(a.status).toBe(202);
      expect(a.body.ticket_id).toBe(held.body.ticket_id);
    }
    expect(await untilFinal(env, held.body.ticket_id)).toMatchObject({ status: "purchased" });
    // Used again after the purchase: the same ticket, still one purchase.
    expect((await buy(code)).body).toMatchObject({ ticket_id: held.body.ticket_id, status: "purchased" });
    expect(await purchasesOf(saleId)).toHaveLength(1);

    await waitForRest(env.deps, saleId);
    const report = await checkInvariants(env.deps, saleId);
    expect(report.violations).toEqual([]);
    expect(report.sold).toBe(1);
    // Exactly one payment ran, not one per use of the code: the workers flush their counts
    // every 500 ms, so wait for the first and long enough for any second to show.
    while ((await paymentsRun()) === paymentsBefore) await sleep(100);
    await sleep(1_500);
    expect((await paymentsRun()) - paymentsBefore).toBe(1);
  });

  it("an unknown, malformed or missing code: 404 code_not_found, 400 without one", async () => {
    const bogus = "1-1.AAAAAAAAAAAAAAAAAAAAAA";
    for (const code of [bogus, "nope", "1-1", "9999-1.AAAAAAAAAAAAAAAAAAAAAA"]) {
      const r = await buy(code);
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe("code_not_found");
    }
    expect((await buy(bogus, true)).status).toBe(404);
    const missing = await env.json<Error>("/purchase", { method: "POST" });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe("invalid_request");
  });

  it("a hold not paid in time fails as hold_expired, its unit goes to the earliest waiter, its code is 404", async () => {
    const saleId = await env.createSale({
      items: [{ item_id: "E", stock: 1 }],
      checkout_mode: "two_step",
      hold_s: 1,
    });
    const first = await checkout("holder", "E");
    expect(first.body.status).toBe("reserved");
    // Waiting for the held unit, in this order; ?wait=0 answers at once.
    const second = await checkout("next", "E", 0);
    const third = await checkout("later", "E", 0);
    expect(second.body).toMatchObject({ status: "queued", code: null });

    expect(await untilFinal(env, first.body.ticket_id)).toMatchObject({
      status: "failed",
      reason: "hold_expired",
    });
    const late = await buy(first.body.code as string);
    expect(late.status).toBe(404);
    expect(late.body.error.code).toBe("code_not_found");

    // The earliest waiter holds the unit now, with a code of its own.
    const handed = await env.json<TicketView>(`/tickets/${second.body.ticket_id}`);
    expect(handed.body.status).toBe("reserved");
    expect(handed.body.code).toMatch(/\./);
    expect((await buy(handed.body.code as string)).status).toBe(202);
    expect(await untilFinal(env, second.body.ticket_id)).toMatchObject({ status: "purchased" });
    expect(await untilFinal(env, third.body.ticket_id)).toMatchObject({
      status: "rejected",
      reason: "sold_out",
    });
    await waitForRest(env.deps, saleId);
    const report = await checkInvariants(env.deps, saleId);
    expect(report.violations).toEqual([]);
    expect(report.sold).toBe(1);
  });

  it("10 holders who never pay, then 50 shoppers (half paying) for 10 units: exactly the stock sells, all to payers", async () => {
    const saleId = await env.createSale({
      items: [{ item_id: "S", stock: 10 }],
      checkout_mode: "two_step",
      hold_s: 1,
    });
    // First every unit is held by someone who walks away from the code.
    const walkaways = await Promise.all(Array.from({ length: 10 }, (_, i) => checkout(`w${i}`, "S")));
    for (const w of walkaways) expect(w.body).toMatchObject({ status: "reserved", code: expect.any(String) });

    const outcomes = await crowd(50, 50, async (i) => {
      const payer = i % 2 === 0;
      for (;;) {
        const r = await checkout(`s${i}`, "S", 15_000);
        if (r.status === 409) return "sold_out";
        if (r.status !== 202) {
          await sleep(100);
          continue;
        }
        // A non-payer walks away from its code too; a payer pays, and tries again if it lost out.
        if (!payer) return r.body.code ? "abandoned" : "gave_up";
        if (r.body.code) await buy(r.body.code);
        const t = await untilFinal(env, r.body.ticket_id);
        if (t.status === "purchased") return "bought";
      }
    });
    expect(outcomes.filter((o) => o === "bought")).toHaveLength(10);
    const tickets = await waitForRest(env.deps, saleId);
    const report = await checkInvariants(env.deps, saleId);
    expect(report.violations).toEqual([]);
    expect(report.sold).toBe(10);
    expect(report.purchases).toBe(10);
    const buyers = await purchasesOf(saleId);
    expect(buyers).toHaveLength(10);
    // Only payers bought: every unit a non-payer held came back when its hold expired.
    expect(buyers.every((b) => /^s[0-9]*[02468]$/.test(b.user_id))).toBe(true);
    const expired = tickets.filter((t) => t.status === "failed" && t.reason === "hold_expired");
    expect(expired.length).toBeGreaterThanOrEqual(10);
    expect(await slotsAtRest(env.deps)).toMatchObject({ held: 0, inFlight: 0 });
  });

  it("a direct sale's tickets carry no code fields", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "D", stock: 1 }] });
    const r = await checkout("direct", "D", 5000);
    expect(r.body).not.toHaveProperty("code");
    expect(r.body.status).toBe("purchased");
    const t = await env.json<TicketView>(`/tickets/${r.body.ticket_id}`);
    expect(t.body).not.toHaveProperty("code");
    expect(t.body).not.toHaveProperty("expires_at");
    await waitForRest(env.deps, saleId);
    expect((await checkInvariants(env.deps, saleId)).violations).toEqual([]);
  });
});
