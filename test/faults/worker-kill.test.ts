import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEASE_GRACE_MS } from "../../shared/payment/slots.js";
import { sleep } from "../../shared/time.js";
import { auditSale } from "../../tools/audit/audit.js";
import { createProcessEnv } from "../../tools/harness/env.js";
import { checkInvariants, readTickets, slotsAtRest, waitForRest } from "../../tools/harness/invariants.js";
import type { Role } from "../../tools/harness/processes.js";
import { recordDrill, startLoad } from "../helpers/drill.js";

// Drill: worker processes killed with SIGKILL one every second during a sale under
// load, payments in flight, a replacement started each time.

const KILLS = 6;
const SLOTS = 10;
const TIMEOUT_MS = 1000;
const ITEMS = 300;

let env: Awaited<ReturnType<typeof createProcessEnv>>;
beforeAll(async () => {
  // Short job locks, so a dead worker's tickets are taken up again within seconds.
  env = await createProcessEnv({
    workers: 3,
    // A short line per unit, so the backlog left when the crowd stops drains within the drill's time.
    env: { JOB_LOCK_MS: "1500", PAYMENT_TIMEOUT_MS: String(TIMEOUT_MS), LINE_FACTOR: "1" },
  });
});
// Replacements still starting when the test ends (or fails) must not outlive it.
const replacements: Promise<Role>[] = [];
afterAll(async () => {
  await Promise.allSettled(replacements);
  await env?.close();
});

const isWorker = (r: Role) => r.child.spawnargs.some((a) => a.includes("worker/main.ts"));
const alive = (r: Role) => r.child.exitCode === null && r.child.signalCode === null;

describe("drill: workers killed repeatedly", () => {
  it("every accepted ticket ends, slots and units come back within their lease, nothing is sold twice", async () => {
    await env.setPayments({
      slots: SLOTS,
      timeout_ms: TIMEOUT_MS,
      latency_ms: { min: 150, max: 500 },
      failure_rate: 0.2,
      hang_rate: 0.05,
    });
    // Workers follow settings within a second.
    await sleep(1000);
    const saleId = await env.createSale({ items: ITEMS, stock_per_item: 2, user_limit: 10 });
    const items = Array.from({ length: ITEMS }, (_, i) => String(i + 1));
    const load = startLoad(() => env, { clients: 10, items, pauseMs: 40 });
    await sleep(1500);

    let killedWhilePaying = 0;
    const firstKill = Date.now();
    for (let k = 0; k < KILLS; k++) {
      // A replacement takes a few seconds to start on a busy machine: wait for one if none is up.
      let victim = env.roles.find((r) => isWorker(r) && alive(r));
      for (let waited = 0; !victim && waited < 30_000; waited += 100) {
        await sleep(100);
        victim = env.roles.find((r) => isWorker(r) && alive(r));
      }
      if (!victim) throw new Error("no live worker to kill");
      if ((await slotsAtRest(env.deps)).held > 0) killedWhilePaying++;
      expect(await victim.kill("SIGKILL")).toBe("SIGKILL");
      replacements.push(env.startWorker());
      await sleep(1000);
    }
    const lastKill = Date.now();
    const killSpanS = ((lastKill - firstKill) / 1000).toFixed(0);
    await Promise.all(replacements);
    const stats = await load.stop();

    await waitForRest(env.deps, saleId, 90_000);
    const recoveryMs = Date.now() - lastKill;
    // A dead worker's slot that no ticket recorded comes back when its lease ends.
    await sleep(TIMEOUT_MS + LEASE_GRACE_MS);

    const report = await checkInvariants(env.deps, saleId);
    expect(report.violations).toEqual([]);
    const audit = await auditSale(env.deps, saleId, readTickets);
    expect(audit.checks.filter((c) => c.violations.length)).toEqual([]);
    expect(await slotsAtRest(env.deps)).toMatchObject({ held: 0, inFlight: 0 });
    const payments = await env.json<{ peak_in_flight: number }>("/admin/payments", { admin: true });
    expect(payments.body.peak_in_flight).toBeLessThanOrEqual(SLOTS);
    // Not every kill finds payments running (all workers may be down a moment, or the sale nearly done).
    expect(killedWhilePaying).toBeGreaterThanOrEqual(2);
    expect(stats.accepted.length).toBeGreaterThan(100);
    // Every ticket the crowd was given is among those counted, and final.
    const tickets = new Map((await readTickets(env.deps, saleId)).map((t) => [t.id, t.status]));
    expect(
      stats.accepted.filter((id) => !["purchased", "failed", "rejected"].includes(tickets.get(id) ?? "")),
    ).toEqual([]);
    expect(report.sold).toBeGreaterThan(0);

    recordDrill({
      drill: "worker-kill",
      load: `10 clients (~${stats.rate()} checkouts/s), ${ITEMS} items × 2, ${SLOTS} slots, payments 150–500 ms, 20% declined, 5% hang (timeout ${TIMEOUT_MS} ms), LINE_FACTOR 1`,
      fault: `${KILLS} worker processes SIGKILLed, one a second or as soon as one was up, over ${killSpanS} s (${killedWhilePaying} with payments in flight), a replacement started each time`,
      recovery: "last kill → every ticket final",
      recovery_ms: recoveryMs,
      answers: stats.answers,
      audit,
      extra: { peak_in_flight: payments.body.peak_in_flight, killed_while_paying: killedWhilePaying },
    });
  }, 180_000);
});
