// One table of error codes. Domain code throws AppError with a code; the API maps
// each code to its HTTP status in api/errors.ts.

export const ERROR_CODES = [
  "invalid_request",
  "unauthorized",
  "not_found",
  "item_not_found",
  "sale_not_found",
  "ticket_not_found",
  "code_not_found",
  "ticket_not_cancellable",
  "method_not_allowed",
  "sale_not_active",
  "sale_ambiguous",
  "sold_out",
  "insufficient_stock",
  "idempotency_conflict",
  "payload_too_large",
  "unsupported_media_type",
  "user_limit_reached",
  "rate_limited",
  "overloaded",
  "unavailable",
  "internal",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Seconds a client should wait before retrying, for 429 and 503. */
    readonly retryAfter?: number,
  ) {
    // An AppError is an answer to a client, not a bug: its stack is never read, and
    // capturing one for every refusal in a flood costs more than the refusal itself.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
}
