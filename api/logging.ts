import type { Context, MiddlewareHandler } from "hono";
import type { Logger } from "../shared/logger.js";
import { header } from "./node-request.js";

// A request id exists only where someone needs one: the client sent X-Request-Id
// (echoed back, or replaced by a fresh one if it is not sane), or a log line is
// written about the request (the id is made then, carried by the line and echoed
// in the answer). Most requests write no line and send no id, and then cost no
// UUID and no response headers beyond their own.

const HEADER = "X-Request-Id";
const MAX_LENGTH = 64;
// As hono's request-id middleware judged a caller's id.
const SANE = /^[\w\-=]+$/;
const KEY = "requestId" as never;

/** The request's id, made (and set to be echoed) on first use. */
function requestIdOf(c: Context): string {
  let id = c.get(KEY) as string | undefined;
  if (id === undefined) {
    id = crypto.randomUUID();
    c.set(KEY, id as never);
    c.header(HEADER, id);
  }
  return id;
}

/**
 * Lines hold the method, route and status, never bodies or credentials; per-request
 * lines are debug, and only failures are written at the default level.
 */
export function requestLogging(log: Logger): MiddlewareHandler {
  return async (c, next) => {
    const start = performance.now();
    const sent = header(c, "x-request-id");
    if (sent !== undefined) {
      const id = sent.length <= MAX_LENGTH && SANE.test(sent) ? sent : crypto.randomUUID();
      c.set(KEY, id as never);
      c.header(HEADER, id);
    } else if (log.isLevelEnabled("debug")) {
      // Every request will have its line: made now, so the answer carries it without being rebuilt.
      requestIdOf(c);
    }
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
  };
}

/**
 * The request's logger, carrying its id (made now if it had none, and echoed in the
 * answer), or the process logger outside a request.
 */
export function loggerOf(c: Context | undefined, fallback: Logger): Logger {
  return c ? fallback.child({ reqId: requestIdOf(c) }) : fallback;
}

/** True when the answer must carry headers set on the context (an echoed request id). */
export function hasRequestId(c: Context): boolean {
  return c.get(KEY) !== undefined;
}
