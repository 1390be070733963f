import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import client from "prom-client";
import { probeStores } from "../shared/health.js";
import { field, readCounters } from "../shared/metrics/counters.js";
import { HISTOGRAMS, type HistogramDef, labelSets } from "../shared/metrics/histograms.js";
import { oldestWaitingSeconds } from "../shared/metrics/queue-age.js";
import { redisRebuiltAt } from "../shared/metrics/redis-epoch.js";
import { type SaleWindow, saleStatus } from "../shared/sale/directory.js";
import { getSale } from "../shared/sale/view.js";
import { readSlots } from "../shared/snapshot.js";
import type { ApiCtx } from "./context.js";
import { createHttpMetrics } from "./http-metrics.js";

// Two kinds of metrics. Per process (this API's HTTP traffic, Node's own):
// Prometheus sums them over processes. System-wide (checkouts, tickets,
// payments, queue, slots, stock), read from Redis at scrape time: every API
// process reports the same values, so aggregate them with max(), not sum().
// A system-wide metric Redis cannot give is left out of the scrape rather than
// failing it: flashsale_store_up then says why, and the process's own metrics stay.
const leaveOut = () => {};

type Snapshot = Awaited<ReturnType<typeof readCounters>>;

export function createMetrics(ctx: ApiCtx) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const http = createHttpMetrics(registry);

  // One read per scrape, shared by every metric that needs it: prom-client collects a
  // scrape's metrics side by side, so they share the read in flight; the next scrape reads anew.
  const perScrape = <T>(read: () => Promise<T>) => {
    let inFlight: Promise<T> | null = null;
    return () => {
      inFlight ??= read().finally(() => {
        inFlight = null;
      });
      return inFlight;
    };
  };
  const counters = perScrape(() => readCounters(ctx.deps));
  const slots = perScrape(() => readSlots(ctx.deps));
  const counterFrom = (name: string, help: string, labelNames: string[], source: string) =>
    new client.Counter({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        this.reset();
        const all = await counters().catch(() => []);
        for (const c of all) if (c.name === source) this.inc(c.labels, c.value);
      },
    });
  counterFrom(
    "flashsale_checkouts_total",
    "Checkout requests by outcome (accepted, or the error code)",
    ["outcome"],
    "checkouts_total",
  );
  counterFrom(
    "flashsale_tickets_total",
    "Tickets that reached a final status, by status and reason",
    ["status", "reason"],
    "tickets_total",
  );
  counterFrom("flashsale_payments_total", "Simulated payments by outcome", ["outcome"], "payments_total");
  for (const [name, def] of Object.entries(HISTOGRAMS))
    registry.registerMetric(histogramFrom(name, def, counters) as unknown as client.Metric);

  const gauge = (
    name: string,
    help: string,
    labelNames: string[],
    fill: (g: client.Gauge) => Promise<void>,
  ) =>
    new client.Gauge({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        this.reset();
        await fill(this).catch(leaveOut);
      },
    });
  gauge("flashsale_queue_jobs", "Jobs in the queues by state", ["queue", "state"], async (g) => {
    for (const q of ctx.queues) {
      const counts = await q.getJobCounts(
        "waiting",
        "active",
        "delayed",
        "completed",
        "failed",
        "prioritized",
      );
      for (const [state, n] of Object.entries(counts)) g.set({ queue: q.name, state }, n);
    }
  });
  gauge("flashsale_payment_slots", "Payment slots: the cap, and those held now", ["kind"], async (g) => {
    const s = await slots();
    g.set({ kind: "cap" }, s.slots);
    g.set({ kind: "in_use" }, s.held);
  });
  gauge(
    "flashsale_payments_in_flight",
    "Payments in flight, counted by the simulator",
    ["kind"],
    async (g) => {
      const p = await slots();
      g.set({ kind: "now" }, p.in_flight);
      g.set({ kind: "peak" }, p.peak_in_flight);
    },
  );
  gauge(
    "flashsale_sale_stock_units",
    "Units of each open, upcoming or recently ended sale, by state",
    ["sale_id", "state"],
    async (g) => {
      const ids = reportedSales(await ctx.directory.all(), Date.now());
      const sales = await Promise.all(ids.map((id) => getSale(ctx.deps, id)));
      for (const sale of sales) {
        if (!sale) continue;
        for (const [state, n] of Object.entries(sale.stock)) g.set({ sale_id: sale.sale_id, state }, n);
      }
    },
  );

  gauge(
    "flashsale_queue_oldest_waiting_seconds",
    "How long the job next in line has waited for a worker, by queue (0 when none waits)",
    ["queue"],
    async (g) => {
      const ages = await Promise.all(
        ctx.queues.map(async (q) => [q.name, await oldestWaitingSeconds(q)] as const),
      );
      for (const [queue, age] of ages) g.set({ queue }, age);
    },
  );
  gauge(
    "flashsale_redis_rebuilt_timestamp_seconds",
    "When Redis was last rebuilt from PostgreSQL after losing its data (Unix time; 0 if never)",
    [],
    async (g) => g.set(await redisRebuiltAt(ctx.deps)),
  );
  // Per process, like the HTTP metrics: whether this API reached each store just now.
  gauge(
    "flashsale_store_up",
    "1 if this API process reached the store at scrape time",
    ["store"],
    async (g) => {
      const s = await probeStores(ctx.deps);
      g.set({ store: "redis" }, s.redis === "ok" ? 1 : 0);
      g.set({ store: "postgres" }, s.postgres === "ok" ? 1 : 0);
    },
  );

  const middleware: MiddlewareHandler = async (c, next) => {
    const start = performance.now();
    await next();
    // The route pattern, not the path: one series per endpoint, not per ticket id.
    http.observe(c.req.method, routePath(c) || "unmatched", c.res.status, (performance.now() - start) / 1000);
  };

  return { registry, middleware };
}

// The stock gauge's series are bounded: sales not ended, and those ended within the last
// RECENT_MS (so a scrape sees a sale's final numbers), at most MAX_REPORTED_SALES of them.
const RECENT_MS = 3_600_000;
const MAX_REPORTED_SALES = 10;

/** The sales the stock gauge reports, newest first. */
function reportedSales(sales: SaleWindow[], now: number): string[] {
  return sales
    .filter((w) => saleStatus(w, now) !== "closed" || w.endsAt > now - RECENT_MS)
    .slice(0, MAX_REPORTED_SALES)
    .map((w) => w.saleId);
}

/**
 * A histogram of shared/metrics/histograms.ts, whose buckets processes fill in Redis:
 * every combination of its label values, 0 until observed.
 */
function histogramFrom(source: string, def: HistogramDef, counters: () => Promise<Snapshot>) {
  const name = `flashsale_${source}`;
  const les = [...def.buckets.map(String), "+Inf"];
  return {
    name,
    help: def.help,
    type: "histogram",
    aggregator: "max",
    collect: undefined,
    reset() {},
    async get() {
      const all = await counters().catch((): Snapshot | null => null);
      // Redis unreadable: leave the series out of this scrape. Zeros would read to
      // Prometheus as a counter reset, and every count since as new (false alerts).
      if (!all) return { name, help: def.help, type: "histogram", aggregator: "max", values: [] };
      // By the field the sink writes (labels in the definition's order, le last).
      const values = new Map(
        all.filter((c) => c.name.startsWith(source)).map((c) => [field(c.name, c.labels), c.value]),
      );
      const of = (metric: string, labels: Record<string, string>) => values.get(field(metric, labels)) ?? 0;
      return {
        name,
        help: def.help,
        type: "histogram",
        aggregator: "max",
        values: labelSets(def).flatMap((labels) => [
          ...les.map((le) => ({
            metricName: `${name}_bucket`,
            labels: { ...labels, le },
            value: of(`${source}_bucket`, { ...labels, le }),
          })),
          { metricName: `${name}_sum`, labels, value: of(`${source}_sum`, labels) },
          { metricName: `${name}_count`, labels, value: of(`${source}_count`, labels) },
        ]),
      };
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
