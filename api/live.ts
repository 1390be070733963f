import { readCounters } from "../shared/metrics/counters.js";
import { slotsHeld } from "../shared/payment/slots.js";
import { getSale } from "../shared/sale/view.js";
import { type QueueCounts, readQueueCounts } from "../shared/snapshot.js";
import type { ApiCtx } from "./context.js";

// The live page's chart: one sample a second for the last ten minutes.
const SAMPLE_MS = 1000;
const KEEP = 600;

export interface LiveSample {
  t: number;
  accepted: number;
  refused: Record<string, number>;
  purchased: number;
  declined: number;
  timed_out: number;
  queue: number;
  slots_in_use: number;
  available: number;
}

type Totals = Awaited<ReturnType<typeof totals>>;

/** Counters summed over every process, grouped for people to read. */
export async function totals(ctx: ApiCtx) {
  const out = {
    checkouts: {} as Record<string, number>,
    tickets: {} as Record<string, number>,
    payments: {} as Record<string, number>,
  };
  for (const c of await readCounters(ctx.deps)) {
    if (c.name === "checkouts_total") out.checkouts[c.labels.outcome ?? ""] = c.value;
    if (c.name === "tickets_total") {
      const key = c.labels.reason ? `${c.labels.status}:${c.labels.reason}` : String(c.labels.status);
      out.tickets[key] = (out.tickets[key] ?? 0) + c.value;
    }
    if (c.name === "payments_total") out.payments[c.labels.outcome ?? ""] = c.value;
  }
  return out;
}

/**
 * Samples the system once a second while someone watches (it stops a minute
 * after the last request), so the page can draw the last minutes.
 */
export function createLiveSampler(ctx: ApiCtx) {
  const history: LiveSample[] = [];
  let timer: NodeJS.Timeout | null = null;
  let lastAsked = 0;

  const sample = async () => {
    if (Date.now() - lastAsked > 60_000 && timer) {
      clearInterval(timer);
      timer = null;
      return;
    }
    // Only the figures a sample keeps, once a second: not the whole snapshot.
    const [t, open, queue, held] = await Promise.all([
      totals(ctx),
      ctx.directory.open(),
      readQueueCounts(ctx.queue),
      slotsHeld(ctx.deps),
    ]);
    const sale = open[0] ? await getSale(ctx.deps, open[0].saleId) : null;
    history.push(toSample(t, queue, held, sale?.stock.available ?? 0));
    if (history.length > KEEP) history.shift();
  };

  return {
    history(): LiveSample[] {
      lastAsked = Date.now();
      if (!timer) {
        timer = setInterval(() => void sample().catch(() => {}), SAMPLE_MS);
        timer.unref();
        void sample().catch(() => {});
      }
      return history;
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}

function toSample(t: Totals, queue: QueueCounts, held: number, available: number): LiveSample {
  const refused = Object.fromEntries(Object.entries(t.checkouts).filter(([k]) => k !== "accepted"));
  return {
    t: Date.now(),
    accepted: t.checkouts.accepted ?? 0,
    refused,
    purchased: t.tickets.purchased ?? 0,
    declined: t.payments.declined ?? 0,
    timed_out: t.payments.timeout ?? 0,
    queue: queue.waiting + queue.delayed,
    slots_in_use: held,
    available,
  };
}

export type LiveSampler = ReturnType<typeof createLiveSampler>;
