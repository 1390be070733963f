import type { Sql } from "../db/client.js";

// Namespace of the per-sale advisory lock (any constant). Settling purchases
// (shared/settlement/settle.ts) and reading a sale to load it into Redis (shared/sale/load.ts)
// both take it, so no settlement commits between the statements of a reload.
const SETTLE_LOCK = 7_242_002;

/**
 * Takes a sale's settlement lock until the end of the caller's transaction (`tx`
 * must be a transaction: the lock is released at its commit or rollback).
 */
export async function lockSaleSettlement(tx: Sql, saleId: number): Promise<void> {
  await tx`select pg_advisory_xact_lock(${SETTLE_LOCK}, ${saleId % 2 ** 31})`;
}
