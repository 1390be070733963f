import type { MiddlewareHandler } from "hono";
import { requestId } from "hono/request-id";
import type { Logger } from "../shared/logger.js";

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Every request gets an id (the caller's X-Request-Id if it is sane, else a new
 * one), echoed in the response and carried by every log line about it. Lines
 * hold the method, route and status, never bodies or credentials.
 */
export function requestLogging(log: Logger): MiddlewareHandler[] {
  return [
    requestId({ generator: () => crypto.randomUUID(), limitLength: 64 }),
    async (c, next) => {
      const raw = c.get("requestId" as never) as string;
      const reqId = REQUEST_ID_RE.test(raw) ? raw : crypto.randomUUID();
      const reqLog = log.child({ reqId });
      c.set("log" as never, reqLog as never);
      const start = performance.now();
      await next();
      const line = {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - start) * 10) / 10,
      };
      // Per-request lines are debug: at flash-sale rates, info would drown the rest.
      // A 503 (line full, store away) is an answer the client expects to retry, not a fault.
      if (c.res.status >= 500 && c.res.status !== 503) reqLog.error(line, "request failed");
      else reqLog.debug(line, "request");
    },
  ];
}

/** The request's logger, or the process logger outside a request. */
export function loggerOf(c: { get: (key: never) => unknown }, fallback: Logger): Logger {
  return (c.get("log" as never) as Logger | undefined) ?? fallback;
}
