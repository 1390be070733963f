import type { Context } from "hono";
import { z } from "zod";
import { AppError } from "../shared/errors.js";

// Ids of users and items: 1-64 characters of [A-Za-z0-9_-]. A JSON number such
// as 1001 is taken as the id "1001".
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
export const idString = z.string().regex(ID_RE, "must be 1-64 characters of A-Z, a-z, 0-9, _ or -");
export const id = z.union([
  idString,
  z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).transform(String),
]);
// Sale ids are PostgreSQL bigserials in canonical decimal. A leading zero would
// reach the same row through Number() but not the sale's Redis keys ("{s01}"),
// splitting PostgreSQL from Redis.
export const saleIdString = z.string().regex(/^[1-9][0-9]{0,17}$/, "must be a sale id");

/** Parses with zod; the first problem becomes a 400 naming the field. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where = "request"): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue?.path.length ? issue.path.join(".") : where;
  throw new AppError("invalid_request", `${field}: ${issue?.message ?? "is invalid"}`);
}

/** The JSON body, or undefined when there is none. Malformed JSON or another media type is a 4xx. */
export async function jsonBody(c: Context): Promise<unknown> {
  // Most checkouts carry no body (the query-string form): don't build a stream to read nothing.
  const length = c.req.header("content-length");
  if ((length === undefined || length === "0") && c.req.header("transfer-encoding") === undefined)
    return undefined;
  const text = await c.req.text();
  if (text.trim() === "") return undefined;
  const type = c.req.header("content-type") ?? "";
  if (type && !/^application\/(.+\+)?json\b/i.test(type)) {
    throw new AppError("unsupported_media_type", "send the body as application/json");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError("invalid_request", "the body is not valid JSON");
  }
}

export function requireJsonBody(body: unknown): unknown {
  if (body === undefined) throw new AppError("invalid_request", "a JSON body is required");
  return body;
}
