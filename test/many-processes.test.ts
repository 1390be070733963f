import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countBy, crowd } from "../tools/harness/crowd.js";
import { createProcessEnv, httpClient } from "../tools/harness/env.js";
import { checkInvariants, readTickets, slotsAtRest, waitForRest } from "../tools/harness/invariants.js";
import { envOf, freePort, type Role, startRole } from "../tools/harness/processes.js";

const ITEMS = 2000;
const SLOTS = 20;
let env: Awaited<ReturnType<typeof createProcessEnv>>;
let secondApi: Role;
let second: ReturnType<typeof httpClient>;

beforeAll(async () => {
  // Two API processes and three worker processes on one Redis and one PostgreSQL.
  env = await createProcessEnv({ workers: 3 });
  const port = await freePort();
  secondApi = await startRole("api", envOf(env.cfg, { PORT: String(port) }), /api listening/);
  second = httpClient(`http://127.0.0.1:${port}`);
});
afterAll(async () => {
  await secondApi?.kill("SIGTERM");
  await env?.close();
});

describe("many processes", () => {
  it(`a sale of ${ITEMS} items through two APIs and three workers: invariants, one slot cap, work shared`, async () => {
    await env.setPayments({ slots: SLOTS, latency_ms: { min: 5, max: 20 }, failure_rate: 0.1, hang_rate: 0 });
    // Workers follow settings within a second.
    await new Promise((r) => setTimeout(r, 1000));
    const saleId = await env.createSale({ items: ITEMS, stock_per_item: 1, user_limit: 10 });
    // Every item is wanted twice, once through each API, so the APIs compete for the same units.
    const answers = await crowd(ITEMS * 2, 200, async (i) => {
      const api = i % 2 === 0 ? env : second;
      const item = Math.floor(i / 2) + 1;
      const res = await api.request(`/checkout?user_id=p${i % 1000}&id=${item}`, { method: "POST" });
      await res.body?.cancel();
      return res.status;
    });
    expect(Object.keys(countBy(answers, String)).every((s) => ["202", "409", "429", "503"].includes(s))).toBe(
      true,
    );
    await waitForRest(env.deps, saleId, 120_000);

    const report = await checkInvariants(env.deps, saleId);
    expect(report.violations).toEqual([]);
    expect(report.sold).toBeGreaterThan(0);
    const payments = await env.json<{ peak_in_flight: number }>("/admin/payments", { admin: true });
    expect(payments.body.peak_in_flight).toBeLessThanOrEqual(SLOTS);
    expect(payments.body.peak_in_flight).toBeGreaterThan(1);
    expect(await slotsAtRest(env.deps)).toMatchObject({ held: 0, inFlight: 0 });

    // Each worker process ran a share of the payments.
    const tickets = await readTickets(env.deps, saleId);
    const byWorker: Record<string, number> = {};
    for (const t of tickets) {
      const w = await env.deps.redis.hget(env.deps.keys.ticket(saleId, String(t.seq)), "w");
      if (w) byWorker[w] = (byWorker[w] ?? 0) + 1;
    }
    const shares = Object.values(byWorker);
    expect(shares).toHaveLength(3);
    const paid = shares.reduce((a, b) => a + b, 0);
    for (const n of shares) expect(n).toBeGreaterThan(paid / 10);
  });
});
