import type { Deps } from "../deps.js";
import { HISTOGRAMS, type HistogramDef, type HistogramName, type LabelArgs } from "./histograms.js";

// Counters that must add up across every process (checkouts seen by each API,
// payments run by each worker) are summed in one Redis hash, so /metrics and the
// live page show the whole system whichever API process answers. Each process
// adds up locally and flushes twice a second: one pipeline, not a write per event.
const FLUSH_MS = 500;

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
  // A histogram's field names, built once per name and labels (observed on every payment
  // and every settled ticket), its labels in the definition's order whatever the caller's.
  const histograms = new Map<
    string,
    { les: readonly number[]; buckets: string[]; inf: string; sum: string; count: string }
  >();
  const fieldsOf = (name: HistogramName, labels: Record<string, string>) => {
    const id = field(name, labels);
    let h = histograms.get(id);
    if (!h) {
      const def: HistogramDef = HISTOGRAMS[name];
      const ordered = Object.fromEntries(Object.keys(def.labels).map((k) => [k, labels[k] ?? ""]));
      h = {
        les: def.buckets,
        buckets: def.buckets.map((le) => field(`${name}_bucket`, { ...ordered, le: String(le) })),
        inf: field(`${name}_bucket`, { ...ordered, le: "+Inf" }),
        sum: field(`${name}_sum`, ordered),
        count: field(`${name}_count`, ordered),
      };
      histograms.set(id, h);
    }
    return h;
  };
  return {
    inc,
    /** Records one observation in a cumulative histogram (Prometheus style) of histograms.ts. */
    observe<N extends HistogramName>(name: N, value: number, ...labels: LabelArgs<N>) {
      const h = fieldsOf(name, (labels[0] ?? {}) as Record<string, string>);
      h.les.forEach((le, i) => {
        if (value <= le) add(h.buckets[i] as string, 1);
      });
      add(h.inf, 1);
      add(h.sum, value);
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
