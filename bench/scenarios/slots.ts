import { createSale, setPayments } from "../../loadtest/api.js";
import { runLoad } from "../../loadtest/run.js";
import { sleep } from "../../shared/time.js";
import { steadyRate, stockOf } from "../probes.js";
import { type Scenario, violationsOf } from "../target.js";

// The payment slots as the bottleneck: P slots, payments taking exactly L ms,
// so at best P / L purchases per second. A backlog of tickets is queued first
// while one slot lets almost nothing through; then the slots open to P and the
// rate at which the backlog sells is read from GET /sales/{id} every 20 ms.

export const SLOTS = 200;
const P = SLOTS;
const L_MS = 50;
export const IDEAL_PER_S = (P * 1000) / L_MS;
const SAMPLE_MS = 20;
const SELL_TIMEOUT_MS = 120_000;

export const slots: Scenario = {
  name: "slots",
  withBaseline: false,
  async run(t, o) {
    const sys = t.sys;
    if (!sys) throw new Error("slots measures the system's workers; it has no baseline");
    const sale = await createSale(t.http, {
      items: 1,
      stockPerItem: o.slotsBacklog,
      userLimit: 10,
      durationS: 3600,
    });
    const timeline: [number, number][] = [];
    let switchedAt = 0;
    let soldAtSwitch = 0;
    const report = await runLoad(
      {
        url: t.url,
        admin: t.admin,
        saleId: sale.sale_id,
        payments: {
          failure_rate: 0,
          hang_rate: 0,
          latency_ms: { min: L_MS, max: L_MS },
          timeout_ms: 3000,
          slots: 1,
        },
        users: o.slotsBacklog,
        arrival: { kind: "concurrency", concurrency: 200 },
        choice: "hot",
        plan: { poll: false, buyUpTo: 1 },
        durationS: 120,
        drainS: 30,
        settleS: 120,
        checkUsers: 200,
      },
      {
        async afterCrowd() {
          soldAtSwitch = (await stockOf(sys, sale.sale_id)).sold;
          await setPayments(t.http, { slots: P });
          switchedAt = performance.now();
          const deadline = switchedAt + SELL_TIMEOUT_MS;
          for (;;) {
            const sold = (await stockOf(sys, sale.sale_id)).sold;
            timeline.push([performance.now() - switchedAt, sold]);
            if (sold >= o.slotsBacklog || performance.now() > deadline) break;
            await sleep(SAMPLE_MS);
          }
        },
      },
    );
    const backlog = o.slotsBacklog - soldAtSwitch;
    const steady = steadyRate(timeline, soldAtSwitch, backlog);
    const last = timeline[timeline.length - 1];
    const payments = (await t.http.send("GET", "/admin/payments", { admin: true })).body as {
      peak_in_flight?: number;
    };
    const violations = violationsOf(report);
    if ((payments.peak_in_flight ?? 0) > P)
      violations.push(`peak in flight ${payments.peak_in_flight} > ${P} slots`);
    return {
      figures: {
        purchases_per_s: steady === null ? null : Math.round(steady),
        overall_per_s: last && last[0] > 0 ? Math.round(((last[1] - soldAtSwitch) * 1000) / last[0]) : null,
        ideal_per_s: IDEAL_PER_S,
        share_of_ideal: steady === null ? null : Math.round((steady / IDEAL_PER_S) * 100) / 100,
        backlog,
        peak_in_flight: payments.peak_in_flight ?? null,
        sold: report.sold.units,
      },
      violations,
      reports: [report],
    };
  },
};
