import { IDEAL_PER_S, SLOTS } from "./scenarios/slots.js";

// The issue's goals next to what was measured, as a Markdown table. A missed
// goal is reported, never turned into a failure.

export type Figures = Record<string, number | null>;

export interface ScenarioSummary {
  name: string;
  runs: number;
  /** Median of each figure over the runs. */
  system: Figures;
  /** Lowest and highest of each figure over the runs. */
  spread: Record<string, [number, number] | null>;
  baseline: Figures | null;
  violations: string[];
}

interface Goal {
  text: string;
  met(value: number, baseline: number | null): boolean | null;
}

// Issue 12's "Done when" (medians of 3 runs).
const GOALS: Record<string, Record<string, Goal>> = {
  sellout: {
    cpu_ms_per_purchase: { text: "≤ 0.6 ms (system's own processes)", met: (v) => v <= 0.6 },
    sold_out_s: { text: "≤ 1.5 × baseline", met: (v, b) => (b === null ? null : v <= 1.5 * b) },
  },
  flood: {
    sold: { text: "exactly 10", met: (v) => v === 10 },
    rejections_per_s: {
      text: "≥ 0.7 × baseline",
      met: (v, b) => (b === null ? null : v >= 0.7 * b),
    },
    redis_growth_mb: { text: "< 50 MB", met: (v) => v < 50 },
    // Not in issue 12's list, kept from issue 4: the line holds at most 4 tickets per
    // sellable unit (LINE_FACTOR), plus one job paying per unit.
    max_jobs_queued: { text: "≤ 50 (5 × 10 units)", met: (v) => v <= 50 },
  },
  slots: {
    purchases_per_s: { text: `≥ ${0.9 * IDEAL_PER_S} (0.9 × P/L)`, met: (v) => v >= 0.9 * IDEAL_PER_S },
    peak_in_flight: { text: `≤ ${SLOTS} slots`, met: (v) => v <= SLOTS },
  },
  intake: { accepted_per_s: { text: "≥ 3,000/s at p99 < 50 ms", met: (v) => v >= 3000 } },
};

/** Figures whose ratio to the baseline means something (the rest are counts or limits). */
const RATIOS = new Set([
  "cpu_ms_per_purchase",
  "cpu_ms_per_accepted",
  "sold_out_s",
  "purchases_per_s",
  "rejections_per_s",
  "checkouts_per_s",
  "accepted_per_s",
]);

// Below 1 (CPU-ms per purchase, shares) a third decimal still says something.
const fmt = (v: number | null | undefined) =>
  v === null || v === undefined
    ? "–"
    : v.toLocaleString("en-US", { maximumFractionDigits: Math.abs(v) < 1 ? 3 : 2 });

export function spread(values: (number | null)[]): [number, number] | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length > 1 ? [Math.min(...v), Math.max(...v)] : null;
}

export function median(values: (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

const range = (r: [number, number] | null | undefined) =>
  r && r[0] !== r[1] ? ` (${fmt(r[0])}–${fmt(r[1])})` : "";

export function markdownTable(summaries: ScenarioSummary[]): string {
  const rows = [
    "| scenario | figure | system: median (range) | baseline | system ÷ baseline | goal | met |",
    "| --- | --- | ---: | ---: | ---: | --- | --- |",
  ];
  for (const s of summaries) {
    for (const [figure, value] of Object.entries(s.system)) {
      const base = s.baseline?.[figure] ?? null;
      const ratio =
        RATIOS.has(figure) && value !== null && base ? Math.round((value / base) * 100) / 100 : null;
      const goal = GOALS[s.name]?.[figure];
      const met = goal && value !== null ? goal.met(value, base) : null;
      rows.push(
        `| ${s.name} | ${figure} | ${fmt(value)}${range(s.spread[figure])} | ${RATIOS.has(figure) ? fmt(base) : ""} | ${fmt(ratio)} | ${goal?.text ?? ""} | ${
          met === null ? "" : met ? "yes" : "**no**"
        } |`,
      );
    }
    rows.push(
      `| ${s.name} | invariants (${s.runs} runs) | ${s.violations.length === 0 ? "all hold" : `**${s.violations.length} violated**`} | | | all hold | ${s.violations.length === 0 ? "yes" : "**no**"} |`,
    );
  }
  return `${rows.join("\n")}\n`;
}
