import { Hono } from "hono";
import type { Metrics } from "../metrics.js";

export function metricsRoutes(metrics: Metrics) {
  return new Hono().get("/metrics", async (c) => {
    c.header("Content-Type", metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });
}
