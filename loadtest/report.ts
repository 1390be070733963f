import type { InvariantResult } from "./invariants.js";
import type { Stats } from "./stats.js";
import { type LatencySummary, perSecond, type Second, summarize } from "./stats.js";

/** What a run did, as text for people and as JSON (`--json`) for scripts and benchmarks. */
export interface Report {
  target: string;
  sale: { sale_id: string; total: number; user_limit: number } | null;
  settings: Record<string, unknown>;
  started_at: string;
  /** From the first checkout sent until the last user left. */
  duration_s: number;
  users: { started: number; done: number; dropped: number };
  requests: {
    checkouts: number;
    checkout_by_status: Record<string, number>;
    /** Accepted checkouts whose answer (`?wait=`) was already the final ticket: no poll needed. */
    checkouts_final: number;
    /** Refusal codes, and `network:<code>` for requests that got no answer. */
    errors_by_code: Record<string, number>;
    polls: number;
    poll_by_status: Record<string, number>;
    /** `POST /purchase` (two_step sales): answers by status, and error codes with `network:<code>` as above. */
    purchase_requests: number;
    purchase_by_status: Record<string, number>;
    purchase_errors_by_code: Record<string, number>;
    /** Requests answered: checkouts, polls and `POST /purchase` (not set-up or checks). */
    total: number;
    /** `total` / purchases the crowd saw; null without a purchase. */
    per_purchase: number | null;
  };
  /** Two_step sales: tickets that held a unit behind a code, and holds the crowd never paid. */
  holds: { held: number; abandoned: number };
  tickets: {
    accepted: number;
    final_by_status: Record<string, number>;
    reasons: Record<string, number>;
    unfinished: number;
  };
  sold: { units: number | null; purchases_seen: number; sold_out_s: number | null };
  throughput: {
    checkouts_per_s: number;
    accepted_per_s: number;
    rejections_per_s: number;
    purchases_per_s: number;
  };
  /**
   * `checkout`: from sending to the answer, a checkout's `?wait=` included; `ticket_to_final`:
   * from the 202 answer (from the sending, for a checkout that waited) until the crowd saw the ticket final.
   */
  latency_ms: { checkout: LatencySummary; ticket_to_final: LatencySummary };
  /** Checkout answers second by second. */
  per_second: Second[];
  invariants: InvariantResult | null;
}

const perS = (n: number, ms: number | null) => (ms && ms > 0 ? Math.round((n * 1000 * 10) / ms) / 10 : 0);
const secs = (ms: number | null) => (ms === null ? null : Math.round(ms) / 1000);

export function buildReport(
  stats: Stats,
  meta: {
    target: string;
    sale: Report["sale"];
    settings: Record<string, unknown>;
    startedAt: Date;
    soldUnits: number | null;
    invariants: InvariantResult | null;
  },
): Report {
  const first = stats.firstCheckoutAt ?? 0;
  const answersMs = stats.lastAnswerAt === null ? null : stats.lastAnswerAt - first;
  const purchasesMs = stats.lastPurchaseAt === null ? null : stats.lastPurchaseAt - first;
  const { checkout } = stats;
  const requests = checkout.answered + stats.polls.sent + stats.purchaseRequests.answered;
  return {
    target: meta.target,
    sale: meta.sale,
    settings: meta.settings,
    started_at: meta.startedAt.toISOString(),
    duration_s: secs(stats.endedAt === null ? answersMs : stats.endedAt - first) ?? 0,
    users: { ...stats.users },
    requests: {
      checkouts: checkout.answered,
      checkout_by_status: { ...checkout.byStatus },
      checkouts_final: checkout.final,
      errors_by_code: { ...stats.byCode },
      polls: stats.polls.sent,
      poll_by_status: { ...stats.polls.byStatus },
      purchase_requests: stats.purchaseRequests.answered,
      purchase_by_status: { ...stats.purchaseRequests.byStatus },
      purchase_errors_by_code: { ...stats.purchaseRequests.byCode },
      total: requests,
      per_purchase: stats.purchases > 0 ? Math.round((requests / stats.purchases) * 100) / 100 : null,
    },
    holds: { ...stats.holds },
    tickets: {
      accepted: checkout.accepted,
      final_by_status: { ...stats.finals.byStatus },
      reasons: { ...stats.finals.byReason },
      unfinished: stats.finals.unfinished,
    },
    sold: {
      units: meta.soldUnits,
      purchases_seen: stats.purchases,
      sold_out_s: stats.soldOutAt === null ? null : secs(stats.soldOutAt - first),
    },
    throughput: {
      checkouts_per_s: perS(checkout.answered, answersMs),
      accepted_per_s: perS(checkout.accepted, answersMs),
      rejections_per_s: perS(checkout.answered - checkout.accepted, answersMs),
      purchases_per_s: perS(stats.purchases, purchasesMs),
    },
    latency_ms: {
      checkout: summarize(stats.checkoutLatency.values()),
      ticket_to_final: summarize(stats.finalLatency.values()),
    },
    per_second: perSecond(stats.checkoutAt.values(), stats.checkoutLatency.values(), first),
    invariants: meta.invariants,
  };
}

const n = (v: number | null | undefined) => (v === null || v === undefined ? "-" : v.toLocaleString("en-US"));
const counts = (m: Record<string, number>) =>
  Object.keys(m).length === 0
    ? "none"
    : Object.entries(m)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${n(v)}`)
        .join(", ");
const latency = (l: LatencySummary) =>
  l.count === 0
    ? "no samples"
    : `p50 ${n(l.p50)}  p90 ${n(l.p90)}  p99 ${n(l.p99)}  max ${n(l.max)} ms  (${n(l.count)} samples)`;

/** Holds and `POST /purchase`, only when the sale had holds (a direct sale's report stays as it was). */
function twoStepLines(r: Report): string[] {
  if (r.holds.held === 0 && r.requests.purchase_requests === 0) return [];
  return [
    `holds       ${n(r.holds.held)} held, ${n(r.holds.abandoned)} abandoned`,
    `purchase    ${n(r.requests.purchase_requests)} answered: ${counts(r.requests.purchase_by_status)}; errors ${counts(r.requests.purchase_errors_by_code)}`,
  ];
}

/** The report as plain text, one fact a line. */
export function renderText(r: Report): string {
  const lines = [
    `load test against ${r.target}${r.sale ? `, sale ${r.sale.sale_id} (${n(r.sale.total)} units, user limit ${r.sale.user_limit})` : ""}`,
    `started ${r.started_at}, ran ${r.duration_s} s; users ${n(r.users.started)} started, ${n(r.users.done)} done, ${n(r.users.dropped)} dropped`,
    "",
    `checkouts   ${n(r.requests.checkouts)} answered: ${counts(r.requests.checkout_by_status)}`,
    `refusals    ${counts(r.requests.errors_by_code)}`,
    `polls       ${n(r.requests.polls)}: ${counts(r.requests.poll_by_status)}`,
    ...twoStepLines(r),
    `requests    ${n(r.requests.total)} in all, ${n(r.requests.per_purchase)} per purchase; ` +
      `${n(r.requests.checkouts_final)} checkouts answered with the final ticket`,
    `tickets     ${n(r.tickets.accepted)} accepted; final: ${counts(r.tickets.final_by_status)}; unfinished ${n(r.tickets.unfinished)}`,
    `reasons     ${counts(r.tickets.reasons)}`,
    `sold        ${n(r.sold.units)} units (the crowd saw ${n(r.sold.purchases_seen)} purchases)` +
      (r.sold.sold_out_s === null
        ? "; not sold out by this crowd"
        : `; sold out after ${r.sold.sold_out_s} s`),
    "",
    `throughput  ${n(r.throughput.checkouts_per_s)} checkouts/s, ${n(r.throughput.accepted_per_s)} accepted/s, ` +
      `${n(r.throughput.rejections_per_s)} refused/s, ${n(r.throughput.purchases_per_s)} purchases/s`,
    `checkout    ${latency(r.latency_ms.checkout)}`,
    `to final    ${latency(r.latency_ms.ticket_to_final)}`,
    "",
  ];
  if (!r.invariants) lines.push("invariants  not checked");
  else {
    lines.push(`invariants  ${r.invariants.ok ? "all hold" : "VIOLATED"}`);
    for (const c of r.invariants.checks) lines.push(`  ${c.ok ? "ok  " : "FAIL"} ${c.name}: ${c.detail}`);
  }
  return `${lines.join("\n")}\n`;
}
