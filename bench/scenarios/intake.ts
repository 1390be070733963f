import { createSale } from "../../loadtest/api.js";
import type { Report } from "../../loadtest/report.js";
import { runLoad } from "../../loadtest/run.js";
import { sleep } from "../../shared/time.js";
import { jobsQueued, stockOf } from "../probes.js";
import type { System } from "../system.js";
import { DEFAULT_PAYMENTS, type Scenario, violationsOf } from "../target.js";

// The API's intake: shoppers arrive at a fixed rate and only check out (no
// polling); the rate steps up until the answer's p99 reaches 50 ms or the
// accepted rate falls behind the offered one, twice in a row. The workers run meanwhile, as
// they would; between steps the line is left to drain, so each step starts
// from an empty queue.

const STEPS = [250, 500, 1000, 1500, 2000, 3000, 4000, 5000, 6000, 8000, 10_000, 12_000, 15_000];
// One bad step on a busy machine is noise; two in a row is the limit.
const FAILS_TO_STOP = 2;
const P99_MS = 50;
// A step counts only if nearly every offered checkout was accepted.
const ACCEPTED_SHARE = 0.9;
const DRAIN_TIMEOUT_MS = 60_000;
const WARM_RATE = 200;
const WARM_S = 2;

export interface Step {
  rate: number;
  accepted_per_s: number;
  p99_ms: number | null;
  refused: number;
  dropped: number;
  ok: boolean;
}

export const intake: Scenario = {
  name: "intake",
  withBaseline: true,
  async run(t, o) {
    const sale = await createSale(t.http, {
      items: 1,
      stockPerItem: 1_000_000,
      userLimit: 10,
      durationS: 3600,
    });
    // A slow start on the new sale first: the first seconds of a sale pay for JIT and cold paths.
    const warm = await runLoad({
      url: t.url,
      admin: t.admin,
      saleId: sale.sale_id,
      payments: DEFAULT_PAYMENTS,
      users: WARM_RATE * WARM_S,
      arrival: { kind: "rate", rate: WARM_RATE, rampUpS: 0, holdS: WARM_S, rampDownS: 0 },
      choice: "hot",
      plan: { poll: false, buyUpTo: 1 },
      durationS: WARM_S + 1,
      checkInvariants: false,
    });
    if (t.sys) await drained(t.sys, sale.sale_id);
    const steps: Step[] = [];
    const reports: Report[] = [];
    for (const rate of STEPS) {
      const report = await runLoad({
        url: t.url,
        admin: t.admin,
        saleId: sale.sale_id,
        users: rate * o.intakeStepS,
        arrival: { kind: "rate", rate, rampUpS: 0, holdS: o.intakeStepS, rampDownS: 0 },
        maxInFlight: 4000,
        choice: "hot",
        plan: { poll: false, buyUpTo: 1 },
        durationS: o.intakeStepS + 1,
        drainS: 10,
        checkInvariants: false,
      });
      reports.push(report);
      const accepted = report.tickets.accepted / o.intakeStepS;
      const p99 = report.latency_ms.checkout.p99;
      const step: Step = {
        rate,
        accepted_per_s: Math.round(accepted),
        p99_ms: p99,
        refused: report.requests.checkouts - report.tickets.accepted,
        dropped: report.users.dropped,
        ok: p99 !== null && p99 < P99_MS && accepted >= ACCEPTED_SHARE * rate && report.users.dropped === 0,
      };
      steps.push(step);
      if (t.sys) await drained(t.sys, sale.sale_id);
      if (steps.slice(-FAILS_TO_STOP).filter((x) => !x.ok).length === FAILS_TO_STOP) break;
    }
    // One slow, checked crowd at the end: the sale at rest and its users' purchases.
    const check = await runLoad({
      url: t.url,
      admin: t.admin,
      saleId: sale.sale_id,
      users: 100,
      arrival: { kind: "concurrency", concurrency: 20 },
      choice: "hot",
      durationS: 10,
      settleS: 60,
    });
    reports.push(check);
    const best = steps.filter((s) => s.ok).sort((a, b) => b.accepted_per_s - a.accepted_per_s)[0];
    // The CPU is measured over the whole scenario, so every ticket accepted in it counts.
    const accepted = [warm, ...reports].reduce((sum, r) => sum + r.tickets.accepted, 0);
    return {
      figures: {
        accepted_per_s: best?.accepted_per_s ?? 0,
        p99_ms_at_best: best?.p99_ms ?? null,
        first_failing_rate: steps.find((s) => !s.ok)?.rate ?? null,
      },
      violations: violationsOf(check),
      reports,
      notes: { steps },
      cpuPer: { unit: "accepted", count: accepted },
    };
  },
};

/** Waits until no job is queued and no unit of the sale is reserved. */
async function drained(sys: System, saleId: string) {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if ((await jobsQueued(sys)) === 0 && (await stockOf(sys, saleId)).reserved === 0) return;
    await sleep(100);
  }
}
