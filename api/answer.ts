import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { hasRequestId } from "./logging.js";

/**
 * A JSON answer for the hot routes. c.json() builds a WHATWG Headers as soon as
 * there is a second header (Location); a Response with a plain header object is
 * written by @hono/node-server straight to Node. Only when headers were set on the
 * context (an echoed request id, see ./logging.ts) does c.json() merge them in.
 */
export function answerJson(
  c: Context,
  body: unknown,
  status: ContentfulStatusCode,
  headers?: Record<string, string>,
): Response {
  if (hasRequestId(c)) return c.json(body, status, headers);
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}
