import { readFileSync } from "node:fs";
import type { Context, MiddlewareHandler } from "hono";
import { verify } from "hono/jwt";
import type { Config } from "../shared/config.js";
import { AppError } from "../shared/errors.js";
import { errorResponse } from "./errors.js";
import { header } from "./node-request.js";

// Optional signed shopper identity (docs/security.md): when configured, shopper routes
// take the user from a bearer token's `sub`, checked with Hono's JWT verification, and
// answer only the ticket's or purchases' owner. Off, a user id is whatever is sent.

const SHOPPER = "shopper";

/** The verifier for the configured key, or null when identity is off. */
export function identityFrom(cfg: Config): MiddlewareHandler | null {
  const key =
    cfg.AUTH_JWT_SECRET ??
    (cfg.AUTH_JWT_PUBLIC_KEY_FILE && readFileSync(cfg.AUTH_JWT_PUBLIC_KEY_FILE, "utf8"));
  if (!key) return null;
  const alg = cfg.AUTH_JWT_SECRET ? "HS256" : cfg.AUTH_JWT_ALG;
  return async (c, next) => {
    const auth = header(c, "authorization");
    const token = auth?.startsWith("Bearer ") ? auth.slice(7).trim() : "";
    let sub: unknown;
    try {
      // Checks the signature, the algorithm named in the token against ours, and exp/nbf.
      const claims = await verify(token, key, alg);
      // Hono checks exp only when the token has one: a token without it would never expire.
      sub = typeof claims.exp === "number" ? claims.sub : undefined;
    } catch {
      sub = undefined;
    }
    if (typeof sub !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(sub)) {
      c.header("WWW-Authenticate", 'Bearer realm="flash-sale"');
      return errorResponse(
        c,
        new AppError("unauthorized", "a valid bearer token is required (its sub is the user id)"),
      );
    }
    c.set(SHOPPER as never, sub as never);
    await next();
  };
}

/**
 * Whether the request may see this ticket: any ticket when identity is off, else only
 * the token's user's (the others answer 404, as if there were no such ticket).
 */
export function visibleTo(c: Context, ticket: { user_id: string } | null | undefined): boolean {
  if (!ticket) return false;
  const shopper = shopperOf(c);
  return shopper === undefined || ticket.user_id === shopper;
}

/** The shopper proven by the request's token, or undefined when identity is off. */
export function shopperOf(c: Context): string | undefined {
  return c.get(SHOPPER as never) as string | undefined;
}
