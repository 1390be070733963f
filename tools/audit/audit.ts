import type { Deps } from "../../shared/deps.js";
import type { Check } from "./check.js";
import { conservation, noOversell, nothingReserved, storesAgree } from "./check-stock.js";
import {
  durability,
  everyTicketFinal,
  noDoubleSale,
  pgGuards,
  slotsAtRest,
  soldShare,
  userLimit,
} from "./check-tickets.js";
import { type RedisItem, readSaleState, type SaleState } from "./state.js";

export type { Check } from "./check.js";

export interface AuditReport {
  saleId: string;
  ok: boolean;
  checks: Check[];
  /** Units by state, summed over the sale's items as Redis has them. */
  redis: RedisItem;
  counts: {
    items: number;
    stock: number;
    sold: number;
    purchases: number;
    tickets: number;
    byStatus: Record<string, number>;
  };
}

/** Every invariant of the contract that can be counted after the fact, in the contract's order. */
export function checkState(s: SaleState): AuditReport {
  const checks = [
    noOversell(s),
    noDoubleSale(s),
    userLimit(s),
    pgGuards(s),
    everyTicketFinal(s),
    conservation(s),
    nothingReserved(s),
    durability(s),
    slotsAtRest(s),
    storesAgree(s),
    soldShare(s),
  ];
  const redis = { tot: 0, av: 0, rs: 0, sd: 0, q: 0 };
  for (const r of s.redisItems.values())
    for (const k of Object.keys(redis) as (keyof RedisItem)[]) redis[k] += r?.[k] ?? 0;
  const byStatus: Record<string, number> = {};
  for (const t of s.tickets) byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
  return {
    saleId: s.saleId,
    ok: checks.every((c) => c.violations.length === 0),
    checks,
    redis,
    counts: {
      items: s.pgItems.length,
      stock: s.pgItems.reduce((n, it) => n + it.stock, 0),
      sold: s.pgItems.reduce((n, it) => n + it.sold, 0),
      purchases: s.purchases.length,
      tickets: s.tickets.length,
      byStatus,
    },
  };
}

/** Reads a sale from both stores and counts every invariant. Meant for a sale at rest. */
export async function auditSale(
  deps: Pick<Deps, "redis" | "keys" | "db">,
  saleId: string,
  tickets?: Parameters<typeof readSaleState>[2],
) {
  return checkState(await readSaleState(deps, saleId, tickets));
}
