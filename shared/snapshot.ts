import type { Queue } from "bullmq";
import type { Deps } from "./deps.js";
import { paymentStats, readSettings } from "./payment/settings.js";
import { slotsHeld } from "./payment/slots.js";
import { getSale, type SaleView } from "./sale/view.js";

// The system at a glance, read one way for everyone who shows it: GET /stats, the live
// page (GET /admin/live and its sampler) and the Prometheus gauges of /metrics.

/** The checkout queue's job counts in the states operators are shown. */
export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
}

/** Payment slots: the cap, those held now, and payments in flight (now and at peak). */
export interface SlotsSnapshot {
  slots: number;
  held: number;
  in_flight: number;
  peak_in_flight: number;
}

export interface Snapshot {
  /** The sales asked for that exist, in the order asked. */
  sales: SaleView[];
  queue: QueueCounts;
  slots: SlotsSnapshot;
}

export async function readQueueCounts(queue: Queue): Promise<QueueCounts> {
  const c = await queue.getJobCounts("waiting", "active", "delayed", "completed", "failed");
  const n = (state: string) => c[state] ?? 0;
  return {
    waiting: n("waiting"),
    active: n("active"),
    delayed: n("delayed"),
    completed: n("completed"),
    failed: n("failed"),
  };
}

export async function readSlots(deps: Pick<Deps, "redis" | "keys" | "cfg">): Promise<SlotsSnapshot> {
  const [settings, held, payments] = await Promise.all([
    readSettings(deps),
    slotsHeld(deps),
    paymentStats(deps),
  ]);
  return { slots: settings.slots, held, ...payments };
}

export async function readSnapshot(deps: Deps, queue: Queue, saleIds: readonly string[]): Promise<Snapshot> {
  const [views, counts, slots] = await Promise.all([
    Promise.all(saleIds.map((id) => getSale(deps, id))),
    readQueueCounts(queue),
    readSlots(deps),
  ]);
  return { sales: views.filter((s): s is SaleView => s !== null), queue: counts, slots };
}
