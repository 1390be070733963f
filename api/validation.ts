import type { Hook } from "@hono/zod-openapi";
import type { Context, Env, MiddlewareHandler, ValidationTargets } from "hono";
import type { z } from "zod";
import { AppError } from "../shared/errors.js";
import { header } from "./node-request.js";

type Issue = z.core.$ZodIssue;

/** A union's default issue says only "Invalid input"; a branch that got past the type check says why. */
function describe(issue: Issue): string {
  if (issue.code !== "invalid_union" || issue.message !== "Invalid input" || issue.errors.length === 0)
    return issue.message;
  const branches = issue.errors.map((e) => e[0]).filter((i): i is Issue => i !== undefined);
  const best = branches.find((i) => i.code !== "invalid_type") ?? branches[0];
  return best ? describe(best) : issue.message;
}

/** The first problem as a 400 naming the field, e.g. "item_id: must be 1-64 characters …". */
export function invalid(error: z.ZodError, where: string): AppError {
  const issue = error.issues[0];
  if (!issue) return new AppError("invalid_request", `${where}: is invalid`);
  const field = issue.path.length ? issue.path.join(".") : where;
  return new AppError("invalid_request", `${field}: ${describe(issue)}`);
}

/** Parses with zod; the first problem becomes a 400 naming the field. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where = "request"): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw invalid(r.error, where);
}

// What a problem with no path (the whole value) is called in the message.
const WHERE: Record<keyof ValidationTargets, string> = {
  json: "body",
  form: "body",
  query: "query",
  param: "path",
  header: "headers",
  cookie: "cookies",
};

/**
 * The one hook for every route's request schemas: a failure leaves through
 * onError as the same invalid_request a handler's parse() would throw.
 */
export const defaultHook: Hook<unknown, Env, string, void> = (result) => {
  if (!result.success) throw invalid(result.error, WHERE[result.target]);
};

// What the JSON body validator (hono's) reads as JSON; for anything else it would
// validate `{}` instead of the body.
const JSON_TYPE = /^application\/([a-z.-]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;

/** The JSON body, or undefined when there is none. Malformed JSON or another media type is a 4xx. */
export async function jsonBody(c: Context): Promise<unknown> {
  // Most checkouts carry no body (the query-string form): don't build a stream to read nothing.
  const length = header(c, "content-length");
  if ((length === undefined || length === "0") && header(c, "transfer-encoding") === undefined)
    return undefined;
  const text = await c.req.text();
  if (text.trim() === "") return undefined;
  const type = header(c, "content-type") ?? "";
  if (type && !/^application\/(.+\+)?json\b/i.test(type)) {
    throw new AppError("unsupported_media_type", "send the body as application/json");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError("invalid_request", "body: is not valid JSON");
  }
}

/**
 * In front of a route's JSON body validator, which on its own would take a
 * missing body for `{}` (a no-op PUT /admin/payments would succeed) and would
 * not name the field. Hono caches the body, so the validator does not read it again.
 */
export const jsonRequired: MiddlewareHandler = async (c, next) => {
  if ((await jsonBody(c)) === undefined)
    throw new AppError("invalid_request", "body: a JSON body is required");
  if (!JSON_TYPE.test(c.req.header("content-type") ?? "")) {
    throw new AppError("unsupported_media_type", "send the body with Content-Type: application/json");
  }
  await next();
};
