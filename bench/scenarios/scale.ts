import { createSale } from "../../loadtest/api.js";
import { runLoad } from "../../loadtest/run.js";
import { sleep } from "../../shared/time.js";
import { cpuOfPid, info, jobsQueued, steadyRate, stockOf } from "../probes.js";
import type { System } from "../system.js";
import { type RunResult, type Scenario, violationsOf } from "../target.js";

// The workers as the bottleneck, with 1, 2 and 3 worker processes. For each count a
// backlog of tickets is queued while no worker runs (the API keeps accepting), then
// the workers start and the rate at which the backlog sells is read from
// GET /sales/{id}. Payments are instant and slots plentiful, so what is measured is
// the cost of a ticket in the workers, Redis and PostgreSQL, and how it spreads over
// processes on this machine's cores.

const COUNTS = [1, 2, 3];
// Many items, so tickets do not all queue for the same Redis keys.
const ITEMS = 100;
const SAMPLE_MS = 20;
const SELL_TIMEOUT_MS = 120_000;

export const scale: Scenario = {
  name: "scale",
  withBaseline: false,
  async run(t, o) {
    const sys = t.sys;
    if (!sys) throw new Error("scale measures the system's workers; it has no baseline");
    const before = sys.procs.filter((p) => p.name.startsWith("worker")).length;
    const figures: RunResult["figures"] = {};
    const violations: string[] = [];
    const reports: RunResult["reports"] = [];
    try {
      for (const n of COUNTS) {
        const r = await backlogWith(sys, t, o.scaleBacklog, n);
        figures[`workers_${n}_per_s`] = r.perS;
        figures[`workers_${n}_cpu_ms_per_purchase`] = r.workerCpuMs;
        figures[`workers_${n}_redis_cpu_ms_per_purchase`] = r.redisCpuMs;
        violations.push(...r.violations.map((v) => `${n} workers: ${v}`));
        reports.push(r.report);
      }
    } finally {
      await sys.setWorkers(before);
    }
    const one = figures.workers_1_per_s;
    for (const n of COUNTS.slice(1)) {
      const v = figures[`workers_${n}_per_s`];
      figures[`speedup_${n}_vs_1`] = one && v ? Math.round((v / one) * 100) / 100 : null;
    }
    return { figures, violations, reports };
  },
};

/** Queues `backlog` tickets with no worker running, starts `n` workers, and measures the steady rate of sales. */
async function backlogWith(sys: System, t: Parameters<Scenario["run"]>[0], backlog: number, n: number) {
  await sys.setWorkers(0);
  const sale = await createSale(t.http, {
    items: ITEMS,
    stockPerItem: Math.ceil(backlog / ITEMS),
    userLimit: 10,
    durationS: 3600,
  });
  const timeline: [number, number][] = [];
  let redisBefore = 0;
  let workerCpu = 0;
  let redisCpu = 0;
  const report = await runLoad(
    {
      url: t.url,
      admin: t.admin,
      saleId: sale.sale_id,
      payments: {
        failure_rate: 0,
        hang_rate: 0,
        latency_ms: { min: 0, max: 0 },
        timeout_ms: 3000,
        slots: 200,
      },
      users: backlog,
      arrival: { kind: "concurrency", concurrency: 200 },
      choice: "uniform",
      plan: { poll: false, buyUpTo: 1 },
      durationS: 120,
      drainS: 30,
      settleS: 120,
      checkUsers: 200,
    },
    {
      async afterCrowd() {
        redisBefore = cpuOfPid(await info(sys, "server", "process_id"));
        const start = performance.now();
        await sys.setWorkers(n);
        const deadline = start + SELL_TIMEOUT_MS;
        let previous = -1;
        for (;;) {
          const sold = (await stockOf(sys, sale.sale_id)).sold;
          timeline.push([performance.now() - start, sold]);
          // Done once sales stop and the queue is empty (asked only then: /stats costs more).
          if (sold === previous && (await jobsQueued(sys)) === 0) break;
          if (performance.now() > deadline) break;
          previous = sold;
          await sleep(SAMPLE_MS);
        }
        // The workers were started for this backlog: all their CPU went to it (start-up included).
        workerCpu = sys.procs
          .filter((p) => p.name.startsWith("worker"))
          .reduce((s, p) => s + cpuOfPid(p.child.pid ?? 0), 0);
        redisCpu = cpuOfPid(await info(sys, "server", "process_id")) - redisBefore;
      },
    },
  );
  const last = timeline[timeline.length - 1]?.[1] ?? 0;
  const steady = steadyRate(timeline, 0, last);
  const perS = steady === null ? null : Math.round(steady);
  const perPurchase = (cpuS: number) => (last > 0 ? Math.round((cpuS * 1e6) / last) / 1000 : null);
  return {
    perS,
    workerCpuMs: perPurchase(workerCpu),
    redisCpuMs: perPurchase(redisCpu),
    violations: violationsOf(report),
    report,
  };
}
