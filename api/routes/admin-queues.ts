import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { HonoAdapter } from "@bull-board/hono";
import { serveStatic } from "@hono/node-server/serve-static";
import { createRoute } from "@hono/zod-openapi";
import type { Queue } from "bullmq";
import { Hono } from "hono";
import { refOf, TICKET_ID } from "../../shared/keys.js";
import { adminSecurity, errors, other } from "../openapi.js";

export const QUEUES_PATH = "/admin/queues";

/**
 * Job data as the dashboard shows it: every ticket id, at any depth (a ticket job's
 * `ticketId`, each of a batch's `tickets`), as its ref `<sale>-<seq>`. The id's key is
 * the shopper's secret (docs/security.md); the ref finds the ticket and its job as well.
 */
function redactTicketIds(data: unknown): unknown {
  if (typeof data === "string") return TICKET_ID.test(data) ? refOf(data) : data;
  if (Array.isArray(data)) return data.map(redactTicketIds);
  if (data && typeof data === "object")
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, redactTicketIds(v)]));
  return data;
}

/**
 * A queue's dashboard adapter, showing job data with ticket ids redacted. (Data edited
 * or copied on the dashboard starts from what it shows: a job saved with refs for ids
 * is refused by the worker as malformed.)
 */
function boardAdapter(queue: Queue) {
  const adapter = new BullMQAdapter(queue, { readOnlyMode: false });
  adapter.setFormatter("data", redactTicketIds);
  return adapter;
}

/**
 * Reopens the page without the credentials of a `http://user:pass@host/...` URL, before
 * anything else on it runs. bull-board fetches its translations and API by paths relative
 * to the page, and Chromium refuses `fetch` of a URL that carries credentials, so such a
 * page spins forever (its base path is read from `<base href>` and also used as the
 * router's basename, so it cannot be made absolute). The browser keeps the credentials
 * it was given for the realm, so the page opened again needs no prompt. (`document.URL`,
 * not `location.href`: Chromium leaves the credentials out of the latter only.)
 */
const WITHOUT_USERINFO =
  '<script>(function(){var u=new URL(document.URL);if(u.username||u.password){u.username="";u.password="";' +
  "location.replace(u.href)}})()</script>";

/**
 * The queue dashboard (bull-board) for every queue of the system. Its pages and
 * assets come from the installed @bull-board/ui package: no network needed.
 * Mounted under /admin, so the admin auth covers it.
 */
export function adminQueueRoutes(queues: Queue[]) {
  const adapter = new HonoAdapter(serveStatic).setBasePath(QUEUES_PATH);
  createBullBoard({
    queues: queues.map(boardAdapter),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: "Flash sale" } },
  });
  return new Hono()
    .use("*", async (c, next) => {
      await next();
      if (!c.res.headers.get("content-type")?.startsWith("text/html")) return;
      // bull-board's page links Google Fonts; without the network that is a failed
      // request and a console error, and its CSS falls back to system fonts anyway.
      const html = (await c.res.text())
        .replace(/<link[^>]+fonts\.googleapis\.com[^>]*>/g, "")
        .replace("<head>", `<head>${WITHOUT_USERINFO}`);
      const headers = new Headers(c.res.headers);
      headers.delete("content-length");
      c.res = new Response(html, { status: c.res.status, headers });
    })
    .route("/", adapter.registerPlugin());
}

/** The dashboard as one HTML operation in the API document. */
export const queuesDashboardDoc = createRoute({
  method: "get",
  path: QUEUES_PATH,
  tags: ["admin"],
  security: adminSecurity,
  summary: "The queue dashboard (bull-board)",
  description: `An HTML app; its pages, assets and JSON API live under ${QUEUES_PATH}/ and are not listed here.`,
  responses: { 200: other("text/html", "The dashboard."), ...errors("unauthorized") },
});
