import type { MiddlewareHandler } from "hono";
import { requestId } from "hono/request-id";
import type { Logger } from "../shared/logger.js";

/**
 * Every request gets an id (the caller's X-Request-Id if hono's request-id
 * middleware finds it sane, else a new one), echoed in the response and carried
 * by every log line about it. Lines hold the method, route and status, never
 * bodies or credentials. The request's child logger is made only when a line is
 * written: most requests write none.
 */
export function requestLogging(log: Logger): MiddlewareHandler[] {
  return [
    requestId({ generator: () => crypto.randomUUID(), limitLength: 64 }),
    async (c, next) => {
      const start = performance.now();
      await next();
      // A 503 (line full, store away) is an answer the client expects to retry, not a fault.
      const failed = c.res.status >= 500 && c.res.status !== 503;
      // Per-request lines are debug: at flash-sale rates, info would drown the rest.
      if (!failed && !log.isLevelEnabled("debug")) return;
      const line = {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - start) * 10) / 10,
      };
      const reqLog = loggerOf(c, log);
      if (failed) reqLog.error(line, "request failed");
      else reqLog.debug(line, "request");
    },
  ];
}

/** The request's logger (with its reqId), or the process logger outside a request. */
export function loggerOf(c: { get: (key: never) => unknown }, fallback: Logger): Logger {
  const reqId = c.get("requestId" as never) as string | undefined;
  return reqId ? fallback.child({ reqId }) : fallback;
}
