import { createRoute } from "@hono/zod-openapi";
import { recentAdminActions } from "../admin-actions.js";
import type { ApiCtx } from "../context.js";
import { adminSecurity, errors, json, router } from "../openapi.js";
import { adminActionsQuery, adminActionsSchema } from "../schemas/admin-actions.js";

const route = createRoute({
  method: "get",
  path: "/admin/actions",
  tags: ["admin"],
  security: adminSecurity,
  summary: "The recent admin actions (the live page's panel)",
  description:
    "Every request under /admin that may change something (not GET, HEAD or OPTIONS), as logged: who, what, the outcome. Each is also one `admin action` log line.",
  request: { query: adminActionsQuery },
  responses: {
    200: json(adminActionsSchema, "Newest first."),
    ...errors("invalid_request", "unauthorized"),
  },
});

export function adminActionRoutes(ctx: ApiCtx) {
  return router().openapi(route, async (c) => {
    const { limit } = c.req.valid("query");
    return c.json({ actions: await recentAdminActions(ctx.deps, limit) }, 200);
  });
}
