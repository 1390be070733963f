// In a flood nearly every checkout is for an item that is gone. An item Redis
// called sold out (no unit available, none reserved: nothing can come back but
// stock an operator adds) is refused from memory for a moment, without a Redis
// round trip or a rate-limit token, so refusing costs the API little more than a
// bare server's answer. Stock added through this process is seen at once; through
// another, within TTL_MS.
//
// Remembered per sale asked for: an item id sold out in one sale may be on sale in
// another. A checkout that names no sale is remembered under "" (the item in whichever
// one sale has it now: when the open sales change, within TTL_MS as well).
const TTL_MS = 500;
// Past this many remembered items, expired ones are dropped (a 10,000-item sale
// selling out remembers each item once).
const PRUNE_AT = 20_000;

export function createSoldOutMemo(ttlMs = TTL_MS) {
  const until = new Map<string, number>();
  return {
    remember(saleId: string, itemId: string) {
      const now = Date.now();
      if (until.size >= PRUNE_AT) for (const [id, t] of until) if (t <= now) until.delete(id);
      until.set(memoKey(saleId, itemId), now + ttlMs);
    },
    has(saleId: string, itemId: string): boolean {
      const key = memoKey(saleId, itemId);
      const t = until.get(key);
      if (t === undefined) return false;
      if (t > Date.now()) return true;
      until.delete(key);
      return false;
    },
    /** A sale was created: what "" stood for may have changed. */
    forgetUnnamed() {
      for (const key of until.keys()) if (key.startsWith(":")) until.delete(key);
    },
    /** Stock added to the item in this sale: neither that sale nor "whichever sale" is remembered sold out. */
    forget(saleId: string, itemId: string) {
      until.delete(memoKey(saleId, itemId));
      until.delete(memoKey("", itemId));
    },
  };
}

// Ids cannot contain ':'.
const memoKey = (saleId: string, itemId: string) => `${saleId}:${itemId}`;

export type SoldOutMemo = ReturnType<typeof createSoldOutMemo>;
