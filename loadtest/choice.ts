// Which item a user goes for. The crowd shares what it has learned, as shoppers
// share one shop window: an item seen sold out, or bought down to zero, is no
// longer offered (except the one hot item, which everyone keeps trying).

export type ChoiceKind = "hot" | "uniform" | "zipf";

export interface ShopItem {
  id: string;
  /** Units the crowd believes are left (from the sale listing, minus what it bought). */
  stock: number;
}

export interface ItemChoice {
  /** The next item to try, or null when nothing is left to try. */
  pick(): string | null;
  soldOut(itemId: string): void;
  bought(itemId: string): void;
  remaining(): number;
}

/** A small seeded generator (mulberry32), so a run's choices can be repeated. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Everyone wants the same item, sold out or not. */
export function hotChoice(itemId: string): ItemChoice {
  return { pick: () => itemId, soldOut: () => {}, bought: () => {}, remaining: () => 1 };
}

/** The items still believed to be in stock, with O(1) removal. */
function shelf(items: ShopItem[]) {
  const ids = items.filter((i) => i.stock > 0).map((i) => i.id);
  const index = new Map(ids.map((id, i) => [id, i]));
  const stock = new Map(items.map((i) => [i.id, i.stock]));
  const remove = (id: string) => {
    const i = index.get(id);
    if (i === undefined) return;
    const last = ids.pop() as string;
    if (last !== id) {
      ids[i] = last;
      index.set(last, i);
    }
    index.delete(id);
  };
  return {
    ids,
    has: (id: string) => index.has(id),
    remove,
    bought(id: string) {
      const left = (stock.get(id) ?? 0) - 1;
      stock.set(id, left);
      if (left <= 0) remove(id);
    },
  };
}

/** Any item still in stock, each equally likely. */
export function uniformChoice(items: ShopItem[], random: () => number): ItemChoice {
  const s = shelf(items);
  return {
    pick: () => (s.ids.length === 0 ? null : (s.ids[Math.floor(random() * s.ids.length)] ?? null)),
    soldOut: s.remove,
    bought: s.bought,
    remaining: () => s.ids.length,
  };
}

/** Cumulative Zipf weights 1/k^s for ranks 1..n, normalised to end at 1. */
export function zipfCdf(n: number, s: number): Float64Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 1; k <= n; k++) {
    sum += 1 / k ** s;
    cdf[k - 1] = sum;
  }
  for (let i = 0; i < n; i++) cdf[i] = (cdf[i] as number) / sum;
  return cdf;
}

/** The rank (0-based) whose cumulative weight first reaches `u`. */
export function rankOf(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cdf[mid] as number) < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Draws at the skewed distribution before falling back to any item left: late
// in a sale the popular items are gone and shoppers take what remains.
const ZIPF_TRIES = 8;

/** Popular items first: the k-th item in sale order is chosen with weight 1/k^s. */
export function zipfChoice(items: ShopItem[], exponent: number, random: () => number): ItemChoice {
  const cdf = zipfCdf(items.length, exponent);
  const s = shelf(items);
  const uniform = () => (s.ids.length === 0 ? null : (s.ids[Math.floor(random() * s.ids.length)] ?? null));
  return {
    pick() {
      if (s.ids.length === 0) return null;
      for (let i = 0; i < ZIPF_TRIES; i++) {
        const id = items[rankOf(cdf, random())]?.id;
        if (id !== undefined && s.has(id)) return id;
      }
      return uniform();
    },
    soldOut: s.remove,
    bought: s.bought,
    remaining: () => s.ids.length,
  };
}
