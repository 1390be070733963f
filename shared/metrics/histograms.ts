// The histograms that workers fill and every API exports summed over all processes
// (counters.ts carries them through Redis; api/metrics.ts exports each as
// `flashsale_<name>`). One entry each: adding one here is all a new histogram needs
// besides its observe() call. A label lists every value it may take, so each series
// exists from the first scrape (a rate over a series that appears late misses its first
// counts) and a call site cannot invent one.

export interface HistogramDef {
  help: string;
  /** Upper bounds of the buckets; +Inf is added. */
  buckets: readonly number[];
  labels: Readonly<Record<string, readonly string[]>>;
}

export const HISTOGRAMS = {
  payment_duration_seconds: {
    help: "Time from a payment's start to its answer or timeout",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    labels: {},
  },
  settlement_batch_size: {
    help: "Tickets in each settlement transaction committed in PostgreSQL",
    // The settler gathers at most 500 (shared/settlement/settle.ts); one alone is a quiet
    // moment or a ticket settled apart after a constraint refused its batch.
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
    labels: {},
  },
  settlement_lag_seconds: {
    help:
      "Time from a worker handing a paid ticket to the settler until its transaction committed " +
      "(settled, refused by a constraint, stale: fenced off as lost with Redis) or failed (error). " +
      "Measured from the hand-off, which follows the payment's approval by one Redis round trip " +
      "(a ticket resumed after a crash counts from its resumption)",
    // A batch waits 10 ms to fill; 20 s is the settlement's own timeout.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
    labels: { outcome: ["settled", "refused", "stale", "error"] },
  },
} as const satisfies Record<string, HistogramDef>;

export type HistogramName = keyof typeof HISTOGRAMS;

type LabelDefs<N extends HistogramName> = (typeof HISTOGRAMS)[N]["labels"];

/** The labels an observation of N takes: none for a histogram without labels. */
export type LabelArgs<N extends HistogramName> = keyof LabelDefs<N> extends never
  ? []
  : [{ [K in keyof LabelDefs<N>]: LabelDefs<N>[K] extends readonly (infer V)[] ? V : never }];

/** Every combination of a histogram's label values (one empty set for none). */
export function labelSets(def: HistogramDef): Record<string, string>[] {
  let sets: Record<string, string>[] = [{}];
  for (const [label, values] of Object.entries(def.labels))
    sets = sets.flatMap((s) => values.map((v) => ({ ...s, [label]: v })));
  return sets;
}
