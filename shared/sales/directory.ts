import type { Deps } from "../deps.js";

export interface SaleWindow {
  saleId: string;
  startsAt: number;
  endsAt: number;
  closed: boolean;
}

export type SaleStatus = "scheduled" | "open" | "closed";

export function saleStatus(w: SaleWindow, now = Date.now()): SaleStatus {
  if (w.closed || now >= w.endsAt) return "closed";
  return now < w.startsAt ? "scheduled" : "open";
}

// How many of the newest sales are considered when resolving an item; older
// sales have long ended.
const RECENT = 50;
// Sale windows change rarely; a process re-reads them at most this often.
const TTL_MS = 1000;

/**
 * Which sales are open, cached briefly per process so a checkout costs no extra
 * round trip. Items are found by id in the newest open sale that has them.
 */
export function createSaleDirectory(deps: Pick<Deps, "redis" | "keys">) {
  let cached: SaleWindow[] = [];
  let fetchedAt = 0;
  let inflight: Promise<SaleWindow[]> | null = null;

  async function fetch(): Promise<SaleWindow[]> {
    const { redis, keys } = deps;
    const ids = await redis.zrevrange(keys.timeline, 0, RECENT - 1);
    // One command per sale, not a pipeline: sales live in different cluster slots
    // (auto-pipelining still sends them together).
    const rows = await Promise.all(ids.map((id) => redis.hmget(keys.sale(id), "sa", "ea", "st")));
    const out: SaleWindow[] = [];
    ids.forEach((saleId, i) => {
      const v = rows[i];
      if (!v?.[0] || !v[1]) return;
      out.push({ saleId, startsAt: Number(v[0]), endsAt: Number(v[1]), closed: v[2] === "closed" });
    });
    out.sort((a, b) => b.startsAt - a.startsAt || Number(b.saleId) - Number(a.saleId));
    cached = out;
    fetchedAt = Date.now();
    return out;
  }

  async function all(maxAgeMs = TTL_MS): Promise<SaleWindow[]> {
    if (Date.now() - fetchedAt <= maxAgeMs) return cached;
    inflight ??= fetch().finally(() => {
      inflight = null;
    });
    return inflight;
  }

  return {
    all,
    /** Open sales, newest first. */
    async open(maxAgeMs = TTL_MS): Promise<SaleWindow[]> {
      const now = Date.now();
      return (await all(maxAgeMs)).filter((w) => saleStatus(w, now) === "open");
    },
    /** Forget the cache, e.g. right after this process created a sale. */
    invalidate() {
      fetchedAt = 0;
    },
    /** The newest sale, open or not, whose Redis state has this item. */
    async anyWithItem(itemId: string): Promise<SaleWindow | null> {
      const sales = await all();
      if (sales.length === 0) return null;
      // One command per sale: sales live in different cluster slots.
      const rows = await Promise.all(sales.map((s) => deps.redis.exists(deps.keys.item(s.saleId, itemId))));
      const i = rows.indexOf(1);
      return i >= 0 ? (sales[i] ?? null) : null;
    },
  };
}

export type SaleDirectory = ReturnType<typeof createSaleDirectory>;
