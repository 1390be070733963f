import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { methodNotAllowed } from "hono/method-not-allowed";
import { AppError } from "../shared/errors.js";
import { adminActionLog } from "./admin-actions.js";
import { adminAuth } from "./auth.js";
import type { ApiCtx } from "./context.js";
import { errorResponse, onError } from "./errors.js";
import { identityFrom } from "./identity.js";
import { requestLogging } from "./logging.js";
import { createMetrics } from "./metrics.js";
import { header } from "./node-request.js";
import { documentOf, router } from "./openapi.js";
import { adminActionRoutes } from "./routes/admin-actions.js";
import { adminLiveRoutes } from "./routes/admin-live.js";
import { adminPageRoutes } from "./routes/admin-page.js";
import { adminPaymentRoutes } from "./routes/admin-payments.js";
import { adminQueueRoutes, QUEUES_PATH, queuesDashboardDoc } from "./routes/admin-queues.js";
import { adminSaleRoutes } from "./routes/admin-sales.js";
import { adminStockRoutes } from "./routes/admin-stock.js";
import { checkoutRoutes } from "./routes/checkout.js";
import { docsRoutes } from "./routes/docs.js";
import { healthRoutes } from "./routes/health.js";
import { itemRoutes } from "./routes/items.js";
import { metricsRoutes } from "./routes/metrics.js";
import { purchaseRoutes } from "./routes/purchase.js";
import { saleRoutes } from "./routes/sales.js";
import { statsRoutes } from "./routes/stats.js";
import { storefrontRoutes } from "./routes/storefront.js";
import { ticketCancelRoutes } from "./routes/ticket-cancel.js";
import { ticketEventRoutes } from "./routes/ticket-events.js";
import { ticketRoutes } from "./routes/tickets.js";
import { userTicketRoutes } from "./routes/user-tickets.js";
import { userRoutes } from "./routes/users.js";

// Large enough for an admin sale listing thousands of items; checkout bodies are tiny.
const MAX_BODY_BYTES = 4 * 1024 * 1024;
// A checkout body is two ids of at most 64 characters; anything far bigger is not
// a checkout, and is refused before it is read.
const MAX_CHECKOUT_BODY_BYTES = 4 * 1024;

/**
 * hono's bodyLimit, skipped where it could only say yes: a request with no body (no
 * Transfer-Encoding and no or a zero Content-Length, as Node's own client sends on a
 * bare POST), or a Content-Length within the limit (Node reads no more than that).
 * It asks for the body, which makes @hono/node-server build a full Request with a
 * stream and an AbortSignal: most of the cost of a small checkout in a flood.
 */
function limitBody(maxSize: number, message: string): MiddlewareHandler {
  const limit = bodyLimit({
    maxSize,
    onError: (c) => errorResponse(c, new AppError("payload_too_large", message)),
  });
  return (c, next) => {
    if (header(c, "transfer-encoding") !== undefined) return limit(c, next);
    const length = header(c, "content-length");
    // As bodyLimit reads it.
    return length === undefined || Number.parseInt(length, 10) <= maxSize ? next() : limit(c, next);
  };
}

// What a shopper's token guards (docs/security.md); sales, items and health stay public.
const SHOPPER_ROUTES = ["/checkout", "/tickets/*", "/purchase", "/users/*"];

export function createApp(ctx: ApiCtx) {
  // An OpenAPIHono: the route modules' createRoute() definitions gather into its document.
  const app = router();
  const metrics = createMetrics(ctx);
  app.use(requestLogging(ctx.deps.log));
  app.onError(onError(ctx.deps.log));
  app.notFound((c) => errorResponse(c, new AppError("not_found", `no route ${c.req.method} ${c.req.path}`)));
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) => {
        c.header("Allow", methods.join(", "));
        return errorResponse(c, new AppError("method_not_allowed", `${c.req.method} is not allowed here`));
      },
    }),
  );
  app.use(limitBody(MAX_BODY_BYTES, "the request body is too large"));
  app.use("/checkout", limitBody(MAX_CHECKOUT_BODY_BYTES, "a checkout body is at most 4 KB"));
  // The other public route with a body: a code is some 60 characters.
  app.use("/purchase", limitBody(MAX_CHECKOUT_BODY_BYTES, "a purchase body is at most 4 KB"));
  app.use("/admin/*", adminAuth(ctx.deps.cfg));
  // Every admin change, with who made it: logged, and kept for the live page.
  app.use("/admin/*", adminActionLog(ctx.deps));
  // Signed shopper identity, when configured: the shopper routes take the user from the token.
  const identity = identityFrom(ctx.deps.cfg);
  if (identity) for (const path of SHOPPER_ROUTES) app.use(path, identity);
  app.use(metrics.middleware);

  app.route("/", checkoutRoutes(ctx));
  app.route("/", purchaseRoutes(ctx));
  app.route("/", ticketRoutes(ctx));
  app.route("/", ticketEventRoutes(ctx));
  app.route("/", ticketCancelRoutes(ctx));
  app.route("/", saleRoutes(ctx));
  app.route("/", itemRoutes(ctx));
  app.route("/", userRoutes(ctx));
  app.route("/", userTicketRoutes(ctx));
  app.route("/", healthRoutes(ctx));
  app.route("/", statsRoutes(ctx));
  app.route("/", adminSaleRoutes(ctx));
  app.route("/", adminPaymentRoutes(ctx));
  app.route("/", adminLiveRoutes(ctx));
  app.route("/", adminActionRoutes(ctx));
  app.route("/", adminPageRoutes());
  app.route("/", adminStockRoutes(ctx));
  app.route("/", metricsRoutes(metrics));
  app.route(QUEUES_PATH, adminQueueRoutes(ctx.queues));
  // bull-board's own pages and API are its business; the document lists the dashboard.
  app.openAPIRegistry.registerPath(queuesDashboardDoc);
  app.route("/", storefrontRoutes());
  app.route("/", docsRoutes(documentOf(app)));
  return app;
}
