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
 * round trip. Several sales may be open at once and share item ids (generated sales
 * all number theirs 1..N), so it also keeps the item ids of every sale not yet ended,
 * read once per sale from PostgreSQL (a sale's items never change after it is
 * created): which open sales have an item is then known without asking Redis.
 */
export function createSaleDirectory(deps: Pick<Deps, "redis" | "keys" | "db">) {
  let cached: SaleWindow[] = [];
  let fetchedAt = 0;
  let inflight: Promise<SaleWindow[]> | null = null;
  // Sale id -> its item ids; absent while they are being read, null if too many to keep.
  const itemSets = new Map<string, ItemIds | null>();
  const reading = new Set<string>();

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
    keepItemSets(out);
    return out;
  }

  /** Reads (in the background) the item ids of sales not ended, and forgets those of the rest. */
  function keepItemSets(sales: SaleWindow[]) {
    const live = new Set(sales.filter((w) => saleStatus(w) !== "closed").map((w) => w.saleId));
    for (const id of itemSets.keys()) if (!live.has(id)) itemSets.delete(id);
    for (const id of live) {
      if (itemSets.has(id) || reading.has(id)) continue;
      reading.add(id);
      readItemIds(deps, id)
        .then((ids) => {
          // Ended while it was read: not kept.
          if (cached.some((w) => w.saleId === id && saleStatus(w) !== "closed")) itemSets.set(id, ids);
        })
        // Read again on a later fetch; until then Redis is asked (withItem).
        .catch(() => {})
        .finally(() => reading.delete(id));
    }
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
    /**
     * The sales of `sales` that have this item, in the same order: from the item ids kept
     * in memory, and from Redis (one round trip, every sale at once) only for a sale whose
     * ids are still being read.
     */
    async withItem(sales: SaleWindow[], itemId: string): Promise<SaleWindow[]> {
      const known = sales.map((s) => itemSets.get(s.saleId)?.has(itemId));
      if (known.every((k) => k !== undefined)) return sales.filter((_, i) => known[i]);
      const asked = await Promise.all(
        sales.map((s, i) =>
          known[i] === undefined ? deps.redis.exists(deps.keys.item(s.saleId, itemId)) : known[i] ? 1 : 0,
        ),
      );
      return sales.filter((_, i) => asked[i] === 1);
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

interface ItemIds {
  has(itemId: string): boolean;
}

// A sale with more items than this is not kept in memory: which sales have an item is
// asked of Redis instead (only while another open sale could have it too).
const MAX_KEPT_ITEMS = 100_000;
const NUMBERED = "^[1-9][0-9]{0,8}$";
const NUMBERED_RE = new RegExp(NUMBERED);

/**
 * A sale's item ids: the calendar's sales number theirs 1..N, kept as that range (nothing
 * read but three numbers); others as a set, or null past MAX_KEPT_ITEMS.
 */
async function readItemIds(deps: Pick<Deps, "db">, saleId: string): Promise<ItemIds | null> {
  const sql = deps.db.client;
  const [c] = await sql<{ n: number; numbered: number; top: number | null }[]>`
    select count(*)::int as n,
      count(*) filter (where item_id ~ ${NUMBERED})::int as numbered,
      max(case when item_id ~ ${NUMBERED} then item_id::int end) as top
    from items where sale_id = ${Number(saleId)}`;
  if (!c) return null;
  if (c.numbered === c.n && (c.top ?? 0) === c.n) {
    const n = c.n;
    return { has: (id) => NUMBERED_RE.test(id) && Number(id) <= n };
  }
  if (c.n > MAX_KEPT_ITEMS) return null;
  const rows = await sql<{ item_id: string }[]>`select item_id from items where sale_id = ${Number(saleId)}`;
  return new Set(rows.map((r) => r.item_id));
}
