import { sign } from "hono/jwt";

// Shopper tokens for a system with signed identity (the API's AUTH_JWT_SECRET):
// each shopper's requests carry `Authorization: Bearer <HS256 JWT>` whose `sub`
// is its user id. A token is minted once per user and kept; signing per request
// would cost the crowd CPU that belongs to the system it measures.

// A token's lifetime, and how long before its end a fresh one is minted (a soak
// that outlives an hour keeps its users signed in).
const LIFETIME_S = 3600;
const RENEW_BEFORE_S = 300;

export interface Tokens {
  /** `Bearer <token>` for the user: the kept value, or a promise the first time. */
  header(user: string): string | Promise<string>;
}

/**
 * Tokens signed with `secret` (HS256), `sub` the user and `exp` an hour on. No `iat`:
 * a verifier refuses one from its future, and this machine's clock may run ahead.
 */
export function shopperTokens(secret: string, now: () => number = Date.now): Tokens {
  const kept = new Map<string, { value: string | Promise<string>; renewAt: number }>();
  return {
    header(user) {
      const t = kept.get(user);
      if (t && now() < t.renewAt) return t.value;
      const exp = Math.floor(now() / 1000) + LIFETIME_S;
      const entry = { value: "" as string | Promise<string>, renewAt: (exp - RENEW_BEFORE_S) * 1000 };
      entry.value = sign({ sub: user, exp }, secret, "HS256").then(
        (token) => {
          entry.value = `Bearer ${token}`;
          return entry.value;
        },
        (err: unknown) => {
          if (kept.get(user) === entry) kept.delete(user);
          throw err;
        },
      );
      kept.set(user, entry);
      return entry.value;
    },
  };
}
