import type { Deps } from "../deps.js";
import { initSettings } from "../payment/settings.js";
import { reloadSale } from "../sale/load.js";

// Sales that ended this recently are reloaded too, so tickets still in flight when
// Redis was lost get their final answer (sale_not_active) instead of vanishing.
const ENDED_GRACE_S = 600;

export interface Rebuilt {
  /** Sales that were missing from Redis and were loaded again. */
  sales: string[];
  /** Accepted tickets re-created from PostgreSQL and queued again. */
  tickets: number;
}

/**
 * Rebuilds an emptied Redis from PostgreSQL: the payment settings (back to the
 * configured defaults) and every sale not ended, with its stock and sold units,
 * each user's purchases, its ticket numbering above every id seen, and its
 * accepted tickets that never became a purchase, queued again in ticket order
 * (by the reload). Units that were reserved when Redis was lost count as returned,
 * since stock comes from PostgreSQL's items.sold. Sales Redis still has are left alone.
 */
export async function rebuildFromPostgres(deps: Deps): Promise<Rebuilt> {
  await initSettings(deps);
  const rows = await deps.db.client<{ id: string }[]>`
    select id::text from sales where ends_at > now() - make_interval(secs => ${ENDED_GRACE_S}) order by id`;
  const out: Rebuilt = { sales: [], tickets: 0 };
  for (const { id } of rows) {
    const jobs = await reloadSale(deps, id);
    if (jobs === null) continue;
    out.sales.push(id);
    out.tickets += jobs.length;
  }
  return out;
}
