import type { Duplex } from "node:stream";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError, type ErrorCode } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { loggerOf } from "./logging.js";

/** The one mapping from error code to HTTP status (literal, so the API document can be typed from it). */
export const STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  not_found: 404,
  item_not_found: 404,
  sale_not_found: 404,
  ticket_not_found: 404,
  code_not_found: 404,
  ticket_not_cancellable: 409,
  method_not_allowed: 405,
  sale_not_active: 409,
  sale_ambiguous: 409,
  sold_out: 409,
  insufficient_stock: 409,
  idempotency_conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  user_limit_reached: 429,
  rate_limited: 429,
  overloaded: 503,
  unavailable: 503,
  internal: 500,
} as const satisfies Record<ErrorCode, ContentfulStatusCode>;

export function errorResponse(c: Context, err: AppError) {
  if (err.retryAfter !== undefined) c.header("Retry-After", String(err.retryAfter));
  return c.json({ error: { code: err.code, message: err.message } }, STATUS[err.code]);
}

const STORE_DOWN = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "57P01",
  "57P03",
]);

/** A store that cannot be reached is a 503 the client may retry, not a 500. */
function isStoreDown(err: unknown): boolean {
  const e = err as { code?: string; name?: string; message?: string };
  return (
    STORE_DOWN.has(String(e.code)) ||
    e.name === "MaxRetriesPerRequestError" ||
    /Connection is closed|Stream isn't writeable/.test(String(e.message))
  );
}

export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof HTTPException) {
    if (err.status === 401) return new AppError("unauthorized", "valid admin credentials are required");
    if (err.status === 413) return new AppError("payload_too_large", "the request body is too large");
    if (err.status === 415)
      return new AppError("unsupported_media_type", "send the body as application/json");
    if (err.status === 400) return new AppError("invalid_request", err.message || "bad request");
  }
  if (isStoreDown(err))
    return new AppError("unavailable", "a data store is unavailable; try again shortly", 1);
  return new AppError("internal", "internal error");
}

export function onError(log: Logger) {
  return (err: Error, c: Context) => {
    const app = toAppError(err);
    if (app.code === "internal") loggerOf(c, log).error({ err, path: c.req.path }, "unhandled error");
    if (app.code === "unauthorized") c.header("WWW-Authenticate", 'Basic realm="flash-sale admin"');
    return errorResponse(c, app);
  };
}

/**
 * Requests Node's HTTP parser refuses (a URL or headers over its 16 KB limit,
 * broken HTTP) never reach Hono; without this they get a bare status and no body.
 */
export function onClientError(
  err: Error & { code?: string },
  socket: Duplex & { _httpMessage?: { headersSent: boolean } | null },
) {
  // Like Node's own handler: never write into a response already under way on this socket.
  if (!socket.writable || socket._httpMessage?.headersSent || !err.code?.startsWith("HPE_")) {
    socket.destroy();
    return;
  }
  const message =
    err.code === "HPE_HEADER_OVERFLOW" ? "the URL or headers are too large" : "malformed HTTP request";
  const body = JSON.stringify({ error: { code: "invalid_request", message } });
  socket.end(
    `HTTP/1.1 ${STATUS.invalid_request} Bad Request\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
