import { createRoute } from "@hono/zod-openapi";
import type { ApiCtx } from "../context.js";
import { json, router } from "../openapi.js";
import { healthDown, healthOk } from "../schemas/ops.js";

// A store that does not answer within this long counts as down.
const PROBE_MS = 1000;

const probe = (p: Promise<unknown>) =>
  Promise.race([
    p.then(() => "ok" as const),
    new Promise<"down">((r) => setTimeout(() => r("down"), PROBE_MS).unref()),
  ]).catch(() => "down" as const);

const route = createRoute({
  method: "get",
  path: "/health",
  tags: ["operators"],
  summary: "Whether Redis and PostgreSQL answer",
  responses: {
    200: json(healthOk, "Both stores answer."),
    503: {
      ...json(healthDown, "A store is down (named in the body); `Retry-After` says when to ask again."),
      headers: { "Retry-After": { schema: { type: "integer" }, description: "Seconds." } },
    },
  },
});

export function healthRoutes(ctx: ApiCtx) {
  return router().openapi(route, async (c) => {
    const [redis, postgres] = await Promise.all([
      probe(ctx.deps.redis.ping()),
      probe(ctx.deps.db.client`select 1`),
    ]);
    if (redis === "ok" && postgres === "ok") return c.json({ status: "ok", redis, postgres } as const, 200);
    const down = [redis === "down" && "redis", postgres === "down" && "postgres"]
      .filter(Boolean)
      .join(" and ");
    c.header("Retry-After", "1");
    return c.json(
      {
        status: "down",
        redis,
        postgres,
        error: { code: "unavailable", message: `${down} unreachable` },
      } as const,
      503,
    );
  });
}
