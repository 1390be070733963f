import type { Deps } from "../../shared/deps.js";
import { auditSale } from "../audit/audit.js";
import { readTickets, waitForRest as waitForTickets } from "../audit/tickets.js";

// The counting lives in shared/audit (also behind `npm run audit`); this keeps
// the suites' names for it.

export { readTickets, type TicketRow } from "../audit/tickets.js";

/** Waits until every ticket of the sale is final and the queue is idle. */
export const waitForRest = (deps: Deps, saleId: string, timeoutMs = 60_000) =>
  waitForTickets(deps, saleId, timeoutMs, readTickets);

export interface InvariantReport {
  violations: string[];
  sold: number;
  stock: number;
  purchases: number;
  tickets: number;
  byStatus: Record<string, number>;
}

/**
 * Counts the contract's invariants for one sale at rest, in both stores, and
 * checks that they agree. Tickets are counted 1..n, so a lost one shows. The
 * payment slots are system-wide: suites check them with slotsAtRest.
 */
export async function checkInvariants(deps: Deps, saleId: string): Promise<InvariantReport> {
  const report = await auditSale(deps, saleId, readTickets);
  return {
    violations: report.checks.filter((c) => c.id !== "slot_cap").flatMap((c) => c.violations),
    sold: report.redis.sd,
    stock: report.redis.tot,
    purchases: report.counts.purchases,
    tickets: report.counts.tickets,
    byStatus: report.counts.byStatus,
  };
}

/** Payment slots: none held and no payment in flight once the system is at rest. */
export async function slotsAtRest(deps: Deps) {
  const { redis, keys } = deps;
  const now = Date.now();
  return {
    held: await redis.zcount(keys.slots, now, "+inf"),
    inFlight: await redis.zcount(keys.inflight, now, "+inf"),
    peak: Number((await redis.get(keys.peak)) ?? 0),
  };
}
