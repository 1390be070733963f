import { Hono } from "hono";
import type { ApiCtx } from "../context.js";

// A store that does not answer within this long counts as down.
const PROBE_MS = 1000;

const probe = (p: Promise<unknown>) =>
  Promise.race([
    p.then(() => "ok" as const),
    new Promise<"down">((r) => setTimeout(() => r("down"), PROBE_MS).unref()),
  ]).catch(() => "down" as const);

export function healthRoutes(ctx: ApiCtx) {
  return new Hono().get("/health", async (c) => {
    const [redis, postgres] = await Promise.all([
      probe(ctx.deps.redis.ping()),
      probe(ctx.deps.db.client`select 1`),
    ]);
    if (redis === "ok" && postgres === "ok") return c.json({ status: "ok", redis, postgres });
    const down = [redis === "down" && "redis", postgres === "down" && "postgres"]
      .filter(Boolean)
      .join(" and ");
    c.header("Retry-After", "1");
    return c.json(
      { status: "down", redis, postgres, error: { code: "unavailable", message: `${down} unreachable` } },
      503,
    );
  });
}
