import { performance } from "node:perf_hooks";

// What the crowd saw, counted as it happens. Latencies are kept whole (a run is
// bounded in count, and a million doubles is 8 MB), so percentiles are exact.

/** A growable list of numbers. */
export function samples() {
  let data = new Float64Array(1024);
  let n = 0;
  return {
    add(v: number) {
      if (n === data.length) {
        const bigger = new Float64Array(data.length * 2);
        bigger.set(data);
        data = bigger;
      }
      data[n++] = v;
    },
    get count() {
      return n;
    },
    values: () => data.subarray(0, n),
  };
}

export type Samples = ReturnType<typeof samples>;

/** Nearest-rank percentile of ascending `sorted` values: the smallest value with at least p% at or below it. */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

export interface LatencySummary {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

const round = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);

export function summarize(values: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const n = sorted.length;
  return {
    count: n,
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(n ? (sorted[n - 1] as number) : null),
    mean: round(n ? sum / n : null),
  };
}

export const bump = (m: Record<string, number>, key: string, by = 1) => {
  m[key] = (m[key] ?? 0) + by;
};

// Accepted tickets kept for checking afterwards when users do not poll.
const TICKET_SAMPLE = 1000;

/** Counters for one run. Times are milliseconds since the stats were created. */
export function createStats(random: () => number = Math.random) {
  const t0 = performance.now();
  const acceptedSample: { ticketId: string; userId: string }[] = [];
  const s = {
    now: () => performance.now() - t0,
    users: { started: 0, done: 0, dropped: 0 },
    /** `final`: accepted checkouts whose answer (with `?wait=`) was already the final ticket. */
    checkout: { sent: 0, answered: 0, accepted: 0, final: 0, byStatus: {} as Record<string, number> },
    /** Error codes of refused checkouts, and `network:<code>` for requests with no answer. */
    byCode: {} as Record<string, number>,
    polls: { sent: 0, byStatus: {} as Record<string, number> },
    /** `POST /purchase` answers (two_step sales), and their error codes as for checkouts. */
    purchaseRequests: {
      answered: 0,
      byStatus: {} as Record<string, number>,
      byCode: {} as Record<string, number>,
    },
    /** Two_step holds the crowd saw (tickets that showed a code), and those it walked away from. */
    holds: { held: 0, abandoned: 0 },
    finals: { byStatus: {} as Record<string, number>, byReason: {} as Record<string, number>, unfinished: 0 },
    purchases: 0,
    /** Purchased ticket ids per user, as the crowd saw them. */
    purchasesByUser: new Map<string, string[]>(),
    acceptedSample,
    /** The last ticket accepted: in a FIFO line, about the last to end. */
    lastAccepted: null as { ticketId: string; userId: string } | null,
    firstCheckoutAt: null as number | null,
    lastAnswerAt: null as number | null,
    /** When the last user left (or the run was cut off). */
    endedAt: null as number | null,
    lastPurchaseAt: null as number | null,
    /** Units the target sale has in all; when the crowd has bought them all, it is sold out. */
    soldOutTarget: null as number | null,
    soldOutAt: null as number | null,
    checkoutLatency: samples(),
    /** When each checkout answer came (ms since start), in the order of checkoutLatency. */
    checkoutAt: samples(),
    finalLatency: samples(),

    checkoutSent() {
      s.checkout.sent++;
      s.firstCheckoutAt ??= s.now();
    },
    checkoutAnswer(status: number, code: string | null, ms: number) {
      s.checkout.answered++;
      s.lastAnswerAt = s.now();
      bump(s.checkout.byStatus, String(status));
      if (code) bump(s.byCode, code);
      s.checkoutLatency.add(ms);
      s.checkoutAt.add(s.lastAnswerAt);
    },
    accepted(ticketId: string, userId: string) {
      s.checkout.accepted++;
      s.lastAccepted = { ticketId, userId };
      // Reservoir sampling keeps an even sample of every accepted ticket.
      if (acceptedSample.length < TICKET_SAMPLE) acceptedSample.push({ ticketId, userId });
      else {
        const j = Math.floor(random() * s.checkout.accepted);
        if (j < TICKET_SAMPLE) acceptedSample[j] = { ticketId, userId };
      }
    },
    checkoutFinal() {
      s.checkout.final++;
    },
    networkError(code: string) {
      bump(s.byCode, `network:${code}`);
    },
    purchaseAnswer(status: number, code: string | null) {
      s.purchaseRequests.answered++;
      bump(s.purchaseRequests.byStatus, String(status));
      if (code) bump(s.purchaseRequests.byCode, code);
    },
    purchaseNetworkError(code: string) {
      bump(s.purchaseRequests.byCode, `network:${code}`);
    },
    held() {
      s.holds.held++;
    },
    abandoned() {
      s.holds.abandoned++;
    },
    poll(status: number) {
      s.polls.sent++;
      bump(s.polls.byStatus, String(status));
    },
    final(status: string, reason: string | null, ms: number, userId: string, ticketId: string) {
      bump(s.finals.byStatus, status);
      if (reason) bump(s.finals.byReason, reason);
      s.finalLatency.add(ms);
      if (status !== "purchased") return;
      s.purchases++;
      s.lastPurchaseAt = s.now();
      const mine = s.purchasesByUser.get(userId);
      if (mine) mine.push(ticketId);
      else s.purchasesByUser.set(userId, [ticketId]);
      if (s.soldOutAt === null && s.soldOutTarget !== null && s.purchases >= s.soldOutTarget) {
        s.soldOutAt = s.lastPurchaseAt;
      }
    },
  };
  return s;
}

export type Stats = ReturnType<typeof createStats>;

export interface Second {
  /** Seconds since the first checkout. */
  s: number;
  checkouts: number;
  p50_ms: number | null;
  p99_ms: number | null;
}

/** Checkout answers and their latency second by second, to see a run's shape (warm-up, stalls, collapse). */
export function perSecond(at: ArrayLike<number>, latency: ArrayLike<number>, startMs: number): Second[] {
  const buckets: number[][] = [];
  for (let i = 0; i < at.length; i++) {
    const b = Math.max(0, Math.floor(((at[i] as number) - startMs) / 1000));
    const bucket = buckets[b] ?? [];
    bucket.push(latency[i] as number);
    buckets[b] = bucket;
  }
  return Array.from(buckets, (values, s) => {
    const sorted = Float64Array.from(values ?? []).sort();
    return {
      s,
      checkouts: sorted.length,
      p50_ms: round(percentile(sorted, 50)),
      p99_ms: round(percentile(sorted, 99)),
    };
  });
}
