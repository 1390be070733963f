import type { Deps } from "../deps.js";

// Counters that must add up across every process (checkouts seen by each API,
// payments run by each worker) are summed in one Redis hash, so /metrics and the
// live page show the whole system whichever API process answers. Each process
// adds up locally and flushes twice a second: one pipeline, not a write per event.
const FLUSH_MS = 500;

/** Upper bounds (seconds) of the payment latency histogram buckets. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A counter field: a metric name and its labels, e.g. `payments_total|outcome=approved`. */
export function field(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  return [name, ...parts].join("|");
}

export function parseField(f: string): { name: string; labels: Record<string, string> } {
  const [name = "", ...parts] = f.split("|");
  const labels: Record<string, string> = {};
  for (const p of parts) {
    const i = p.indexOf("=");
    labels[p.slice(0, i)] = p.slice(i + 1);
  }
  return { name, labels };
}

export function createCounterSink(deps: Pick<Deps, "redis" | "keys" | "log">) {
  let pending = new Map<string, number>();
  const add = (f: string, n: number) => pending.set(f, (pending.get(f) ?? 0) + n);
  const flush = async () => {
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    const pipe = deps.redis.pipeline();
    for (const [f, n] of batch) pipe.hincrbyfloat(deps.keys.counters, f, n);
    try {
      await pipe.exec();
    } catch (err) {
      // Keep the counts for the next flush rather than lose them.
      for (const [f, n] of batch) add(f, n);
      deps.log.warn({ err: String(err) }, "could not flush counters");
    }
  };
  const timer = setInterval(() => void flush(), FLUSH_MS);
  timer.unref();
  const inc = (name: string, labels: Record<string, string> = {}, n = 1) => add(field(name, labels), n);
  // A histogram's field names, built once per name and labels (observed on every payment).
  const histograms = new Map<string, { buckets: string[]; inf: string; sum: string; count: string }>();
  const histogram = (name: string, labels: Record<string, string>) => {
    const id = field(name, labels);
    let h = histograms.get(id);
    if (!h) {
      h = {
        buckets: LATENCY_BUCKETS.map((le) => field(`${name}_bucket`, { ...labels, le: String(le) })),
        inf: field(`${name}_bucket`, { ...labels, le: "+Inf" }),
        sum: field(`${name}_sum`, labels),
        count: field(`${name}_count`, labels),
      };
      histograms.set(id, h);
    }
    return h;
  };
  return {
    inc,
    /** Records one observation in a cumulative histogram (Prometheus style). */
    observe(name: string, seconds: number, labels: Record<string, string> = {}) {
      const h = histogram(name, labels);
      LATENCY_BUCKETS.forEach((le, i) => {
        if (seconds <= le) add(h.buckets[i] as string, 1);
      });
      add(h.inf, 1);
      add(h.sum, seconds);
      add(h.count, 1);
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}

export type CounterSink = ReturnType<typeof createCounterSink>;

/** Every counter of the system, summed over all processes. */
export async function readCounters(deps: Pick<Deps, "redis" | "keys">) {
  const raw = await deps.redis.hgetall(deps.keys.counters);
  return Object.entries(raw).map(([f, v]) => ({ ...parseField(f), value: Number(v) }));
}
