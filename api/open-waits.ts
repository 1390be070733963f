import { rateLimited } from "../shared/checkout/rate-limit.js";

/**
 * Long polls, checkout waits and event streams open per client in this API process,
 * bounded (MAX_WAITS_PER_CLIENT): each holds a connection and a watch for up to 30 s (a
 * stream until its ticket is final), so one client must not hold an unbounded share of
 * them. Beyond the bound a new one is 429 rate_limited with Retry-After, and nothing is
 * written for it. Counted in memory: a client spread over several API processes gets the
 * bound in each.
 */
export function createOpenWaits(max: number) {
  const open = new Map<string, number>();
  return {
    /**
     * Counts one more open wait for `client` (its address, api/client-address.ts), or throws
     * 429; returns its release (safe to call twice).
     */
    hold(client: string): () => void {
      const n = open.get(client) ?? 0;
      // A wait ends within 30 s, so retrying in a second is reasonable.
      if (n >= max) throw rateLimited(1000);
      open.set(client, n + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (open.get(client) ?? 1) - 1;
        if (left <= 0) open.delete(client);
        else open.set(client, left);
      };
    },
    /** Open waits of every client, for tests and metrics. */
    total: () => [...open.values()].reduce((a, b) => a + b, 0),
  };
}

export type OpenWaits = ReturnType<typeof createOpenWaits>;
