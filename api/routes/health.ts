import { createRoute } from "@hono/zod-openapi";
import { probeStores } from "../../shared/health.js";
import type { ApiCtx } from "../context.js";
import { json, router } from "../openapi.js";
import { healthDown, healthOk } from "../schemas/ops.js";

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
    const { redis, postgres } = await probeStores(ctx.deps);
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
