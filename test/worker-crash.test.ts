import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProcessEnv } from "../tools/harness/env.js";
import { checkInvariants, slotsAtRest, waitForRest } from "../tools/harness/invariants.js";
import { untilFinal, untilStatus } from "./helpers/shopper.js";

const TIMEOUT_MS = 800;
let env: Awaited<ReturnType<typeof createProcessEnv>>;
beforeAll(async () => {
  // Short locks, so a dead worker's job is taken up again within seconds.
  env = await createProcessEnv({ env: { JOB_LOCK_MS: "1500", PAYMENT_TIMEOUT_MS: String(TIMEOUT_MS) } });
});
afterAll(async () => {
  await env?.close();
});

describe("a worker killed mid-payment", () => {
  it("gives back its slot and its unit, ends its ticket, and sells nothing twice", async () => {
    await env.setPayments({ hang_rate: 1, failure_rate: 0, slots: 1, timeout_ms: TIMEOUT_MS });
    // Workers follow settings within a second.
    await new Promise((r) => setTimeout(r, 1000));
    const saleId = await env.createSale({ items: [{ item_id: "K", stock: 1 }] });
    const victim = await env.json<{ ticket_id: string }>("/checkout?user_id=victim&id=K", { method: "POST" });
    await untilStatus(env, victim.body.ticket_id, "paying");
    const [worker] = env.roles.filter((r) => r.output().includes("worker ready"));
    expect(await worker?.kill("SIGKILL")).toBe("SIGKILL");

    // The dead worker's slot is still held, and its ticket is stuck in 'paying'...
    expect((await slotsAtRest(env.deps)).held).toBe(1);
    const next = await env.json<{ ticket_id: string }>("/checkout?user_id=patient&id=K", { method: "POST" });
    expect(next.status).toBe(202);
    await env.setPayments({ hang_rate: 0 });
    // ...until another worker takes the stalled job over.
    await env.startWorker();

    expect(await untilFinal(env, victim.body.ticket_id, 30_000)).toMatchObject({
      status: "failed",
      reason: "payment_timeout",
    });
    expect(await untilFinal(env, next.body.ticket_id, 30_000)).toMatchObject({ status: "purchased" });
    await waitForRest(env.deps, saleId);
    const report = await checkInvariants(env.deps, saleId);
    expect(report.violations).toEqual([]);
    expect(report).toMatchObject({ sold: 1, purchases: 1 });
    expect(await slotsAtRest(env.deps)).toMatchObject({ held: 0, inFlight: 0 });
    const payments = await env.json<{ peak_in_flight: number }>("/admin/payments", { admin: true });
    expect(payments.body.peak_in_flight).toBeLessThanOrEqual(1);
  });
});
