// In a flood nearly every checkout is for an item that is gone. An item Redis
// called sold out (no unit available, none reserved: nothing can come back but
// stock an operator adds) is refused from memory for a moment, without a Redis
// round trip or a rate-limit token, so refusing costs the API little more than a
// bare server's answer. Stock added through this process is seen at once; through
// another, within TTL_MS.
const TTL_MS = 500;
// Past this many remembered items, expired ones are dropped (a 10,000-item sale
// selling out remembers each item once).
const PRUNE_AT = 20_000;

export function createSoldOutMemo(ttlMs = TTL_MS) {
  const until = new Map<string, number>();
  return {
    remember(itemId: string) {
      const now = Date.now();
      if (until.size >= PRUNE_AT) for (const [id, t] of until) if (t <= now) until.delete(id);
      until.set(itemId, now + ttlMs);
    },
    has(itemId: string): boolean {
      const t = until.get(itemId);
      if (t === undefined) return false;
      if (t > Date.now()) return true;
      until.delete(itemId);
      return false;
    },
    forget(itemId: string) {
      until.delete(itemId);
    },
  };
}

export type SoldOutMemo = ReturnType<typeof createSoldOutMemo>;
