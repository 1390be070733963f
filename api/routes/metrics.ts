import { createRoute } from "@hono/zod-openapi";
import type { Metrics } from "../metrics.js";
import { other, router } from "../openapi.js";

const route = createRoute({
  method: "get",
  path: "/metrics",
  tags: ["operators"],
  summary: "Prometheus metrics",
  responses: { 200: other("text/plain; version=0.0.4", "Prometheus text format.") },
});

export function metricsRoutes(metrics: Metrics) {
  return router().openapi(route, async (c) => {
    c.header("Content-Type", metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });
}
