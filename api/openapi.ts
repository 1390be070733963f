import { readFileSync } from "node:fs";
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { ERROR_CODES, type ErrorCode } from "../shared/errors.js";
import { STATUS } from "./errors.js";
import { defaultHook } from "./validation.js";

// The API document is generated from the zod schemas the routes validate with:
// each route module is an OpenAPIHono whose createRoute() definitions are both
// the validators and the document's operations.

/** A router whose request validation fails as the one invalid_request (see defaultHook). */
export const router = () => new OpenAPIHono({ defaultHook });

export const ADMIN_AUTH = "adminBasic";
/** For every /admin operation: HTTP Basic auth, as app.ts enforces. */
export const adminSecurity = [{ [ADMIN_AUTH]: [] }];

export const SHOPPER_AUTH = "bearerAuth";
/**
 * For the shopper operations that honour identity (api/identity.ts): a bearer token,
 * needed only when the server is configured with one of AUTH_JWT_*. The empty
 * requirement is OpenAPI's "or none".
 */
export const shopperSecurity: Record<string, string[]>[] = [{}, { [SHOPPER_AUTH]: [] }];

/** A JSON response. */
export function json<S extends z.ZodType>(schema: S, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** A response with another media type (HTML, Prometheus text). */
export function other(type: string, description: string) {
  return { description, content: { [type]: { schema: z.string() } } };
}

/** `{"error": {"code", "message"}}`, with the codes one status can carry. */
export function errorBody(codes: readonly ErrorCode[]) {
  const [first, ...rest] = codes;
  const code = first ? z.enum([first, ...rest]) : z.enum(ERROR_CODES);
  return z.object({ error: z.object({ code, message: z.string() }).strict() }).strict();
}

type ErrorResponses<C extends ErrorCode> = {
  [S in (typeof STATUS)[C]]: ReturnType<typeof json<ReturnType<typeof errorBody>>>;
};

/** The error responses of an operation, grouped by status through the one code→status table. */
export function errors<C extends ErrorCode>(...codes: C[]): ErrorResponses<C> {
  const byStatus = new Map<number, C[]>();
  for (const code of codes) byStatus.set(STATUS[code], [...(byStatus.get(STATUS[code]) ?? []), code]);
  const out: Record<number, ReturnType<typeof json>> = {};
  for (const [status, cs] of byStatus)
    out[status] = json(errorBody(cs), cs.map((c) => `\`${c}\``).join(", "));
  // The keys are exactly STATUS[c] for the codes given, which is what the type says.
  return out as ErrorResponses<C>;
}

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const TAGS = [
  { name: "shoppers", description: "Check out, poll the ticket, browse the sale." },
  { name: "operators", description: "Health, stats and metrics." },
  { name: "admin", description: "Sales, stock and the payment simulator; HTTP Basic auth." },
  { name: "docs", description: "This document and its page." },
];

/** The OpenAPI 3.1 document of an app, built once on first use (the routes are fixed by then). */
export function documentOf(app: OpenAPIHono) {
  let doc: ReturnType<OpenAPIHono["getOpenAPI31Document"]> | undefined;
  return () => {
    if (doc) return doc;
    app.openAPIRegistry.registerComponent("securitySchemes", ADMIN_AUTH, { type: "http", scheme: "basic" });
    app.openAPIRegistry.registerComponent("securitySchemes", SHOPPER_AUTH, {
      type: "http",
      scheme: "bearer",
      bearerFormat: "JWT",
      description:
        "The shopper's identity: a JWT whose `sub` is the user id. Required only when the server is configured with `AUTH_JWT_SECRET` (HS256) or `AUTH_JWT_PUBLIC_KEY_FILE` (RS256/ES256); then `user_id` is the token's, and a ticket, its events, its code and a user's purchases answer only their owner. Otherwise not needed, and ignored.",
    });
    doc = app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: {
        title: "Flash sale",
        version: pkg.version,
        description:
          'Check out in a flash sale: the answer is a ticket at once, polled until final. Every error is `{"error": {"code", "message"}}`.',
      },
      // Relative, so the document is right behind any host or proxy.
      servers: [{ url: "/" }],
      tags: TAGS,
    });
    return doc;
  };
}
