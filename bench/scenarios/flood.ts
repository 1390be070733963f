import { createSale } from "../../loadtest/api.js";
import { runLoad } from "../../loadtest/run.js";
import { prefixMemory, sampleWhileRunning, usedMemory } from "../probes.js";
import { DEFAULT_PAYMENTS, type Scenario, violationsOf } from "../target.js";

// A product with stock 10 and a crowd of distinct users, each trying once: all
// but a few are refused at the edge. Exactly 10 must sell, the refusals should
// come nearly as fast as a bare app answers, and neither Redis memory nor the
// queue may grow with the crowd.

const STOCK = 10;
const MB = 1024 * 1024;

export const flood: Scenario = {
  name: "flood",
  withBaseline: true,
  async run(t, o) {
    const sale = await createSale(t.http, { items: 1, stockPerItem: STOCK, userLimit: 10, durationS: 3600 });
    const sys = t.sys;
    const before = sys ? { mem: await usedMemory(sys), own: await prefixMemory(sys) } : null;
    const sampler = sys ? sampleWhileRunning(sys) : null;
    const report = await runLoad({
      url: t.url,
      admin: t.admin,
      saleId: sale.sale_id,
      payments: DEFAULT_PAYMENTS,
      users: o.floodAttempts,
      arrival: { kind: "concurrency", concurrency: o.floodConcurrency },
      choice: "hot",
      plan: { buyUpTo: 1, retries: 0, pollWaitMs: 5000, waitAtCheckout: !o.checkoutThenPoll },
      durationS: 600,
      drainS: 30,
      checkUsers: 200,
    });
    const peak = await sampler?.stop();
    const after = sys ? { mem: await usedMemory(sys), own: await prefixMemory(sys) } : null;
    const violations = violationsOf(report);
    if (report.sold.units !== STOCK) violations.push(`sold ${report.sold.units}, not exactly ${STOCK}`);
    const mb = (v: number) => Math.round((v / MB) * 100) / 100;
    return {
      figures: {
        rejections_per_s: report.throughput.rejections_per_s,
        checkouts_per_s: report.throughput.checkouts_per_s,
        sold: report.sold.units,
        checkout_p99_ms: report.latency_ms.checkout.p99,
        redis_growth_mb: before && after ? mb(after.mem - before.mem) : null,
        redis_peak_growth_mb: before && peak ? mb(Math.max(0, peak.usedMemory - before.mem)) : null,
        own_keys_growth_mb: before && after ? mb(after.own.bytes - before.own.bytes) : null,
        max_jobs_queued: peak?.jobs ?? null,
      },
      violations,
      reports: [report],
      notes: before && after ? { own_keys_after: after.own.keys } : {},
    };
  },
};
