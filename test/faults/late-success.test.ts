import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admit } from "../../shared/checkout/admit.js";
import { markPaid } from "../../shared/payment/mark-paid.js";
import { LEASE_GRACE_MS } from "../../shared/payment/slots.js";
import { startPayment } from "../../shared/payment/start-payment.js";
import { createSaleDirectory } from "../../shared/sale/directory.js";
import { release } from "../../shared/ticket/release.js";
import { reserve } from "../../shared/ticket/reserve.js";
import { ticketKeys } from "../../shared/ticket/ticket-keys.js";
import { sleep } from "../../shared/time.js";
import { auditSale } from "../../tools/audit/audit.js";
import { createProcessEnv } from "../../tools/harness/env.js";
import { checkInvariants, readTickets, slotsAtRest, waitForRest } from "../../tools/harness/invariants.js";
import { recordDrill, startLoad } from "../helpers/drill.js";

// Drill: payments that answer "approved" only after their timeout. The worker fails
// each at its deadline and hands the unit on; a success arriving after that (or after
// the deadline, before the worker got to fail it) must never become a purchase.

const TIMEOUT_MS = 300;
const ITEMS = 20;

let env: Awaited<ReturnType<typeof createProcessEnv>>;
beforeAll(async () => {
  env = await createProcessEnv({ workers: 2, env: { PAYMENT_TIMEOUT_MS: String(TIMEOUT_MS) } });
});
afterAll(async () => {
  await env?.close();
});

describe("drill: late success", () => {
  it("a payment approving after its timeout fails its ticket and sells nothing", async () => {
    // Every payment would approve, but only after 2–4 timeouts.
    await env.setPayments({
      slots: 10,
      timeout_ms: TIMEOUT_MS,
      latency_ms: { min: 2 * TIMEOUT_MS, max: 4 * TIMEOUT_MS },
      failure_rate: 0,
      hang_rate: 0,
    });
    await sleep(1000);
    const saleId = await env.createSale({ items: ITEMS, stock_per_item: 1, user_limit: 10 });
    const items = Array.from({ length: ITEMS }, (_, i) => String(i + 1));
    const load = startLoad(() => env, { clients: 4, items, pauseMs: 100 });
    await sleep(4000);
    const stats = await load.stop();
    const stopped = Date.now();
    await waitForRest(env.deps, saleId, 60_000);
    const recoveryMs = Date.now() - stopped;

    // A success that reaches a ticket already failed, and one that arrives past the
    // deadline while the ticket still says paying, both come back 'late'.
    const { deps } = env;
    const [failed] = (await readTickets(deps, saleId)).filter((t) => t.status === "failed");
    if (!failed) throw new Error("no failed ticket");
    const fk = ticketKeys(deps, {
      ticketId: failed.id,
      saleId,
      itemId: failed.item,
      userId: failed.user,
    });
    expect(await markPaid(deps, fk, "late-answer")).toEqual({ outcome: "late", why: "failed" });

    const a = await admit(deps, createSaleDirectory(deps), { userId: "slowpoke", itemId: "1" });
    const k = ticketKeys(deps, { ticketId: a.ticketId, saleId, itemId: "1", userId: "slowpoke" });
    expect((await reserve(deps, k)).state).toBe("reserved");
    await deps.redis.zadd(deps.keys.slots, Date.now() + 10_000, "slowpoke-slot");
    expect((await startPayment(deps, k, 50, "slowpoke-slot")).status).toBe("paying");
    await sleep(100);
    expect(await markPaid(deps, k, "slowpoke-slot")).toEqual({ outcome: "late", why: "paying" });
    expect((await release(deps, k, "payment_timeout", "slowpoke-slot")).outcome).toMatch(/handed|restocked/);

    await waitForRest(deps, saleId, 30_000);
    const report = await checkInvariants(deps, saleId);
    expect(report.violations).toEqual([]);
    expect(report).toMatchObject({ sold: 0, purchases: 0 });
    expect(report.byStatus.failed).toBeGreaterThan(5);
    expect(report.byStatus.purchased ?? 0).toBe(0);
    await sleep(TIMEOUT_MS + LEASE_GRACE_MS);
    expect(await slotsAtRest(deps)).toMatchObject({ held: 0, inFlight: 0 });
    const audit = await auditSale(deps, saleId, readTickets);
    expect(audit.checks.filter((c) => c.violations.length)).toEqual([]);
    // Every unit is back in stock.
    const item = await env.json<{ stock: { available: number } }>("/items/1");
    expect(item.body.stock.available).toBe(1);

    recordDrill({
      drill: "late-success",
      load: `4 clients (~${stats.rate()} checkouts/s) for 4 s, ${ITEMS} items × 1, every payment approving after ${2 * TIMEOUT_MS}–${4 * TIMEOUT_MS} ms`,
      fault: `payment timeout ${TIMEOUT_MS} ms: every success arrives late; plus a success replayed on a failed ticket and one past its deadline`,
      recovery: "load stopped → every ticket final",
      recovery_ms: recoveryMs,
      answers: stats.answers,
      audit,
    });
  }, 120_000);
});
