import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Queue } from "bullmq";
import { createAttemptRecorder } from "../shared/checkout/attempts.js";
import { createSoldOutMemo } from "../shared/checkout/sold-out.js";
import type { Deps } from "../shared/deps.js";
import { createCounterSink } from "../shared/metrics/counters.js";
import { initSettings } from "../shared/payment/settings.js";
import {
  CALENDAR_QUEUE,
  CHECKOUT_QUEUE,
  calendarQueueOptions,
  checkoutQueueOptions,
} from "../shared/queues.js";
import { createRedis } from "../shared/redis.js";
import { createSaleDirectory } from "../shared/sale/directory.js";
import { createEnqueuer } from "../shared/ticket/enqueue.js";
import { createTicketEvents } from "../shared/ticket/events.js";
import { createApp } from "./app.js";
import type { ApiCtx } from "./context.js";
import { onClientError } from "./errors.js";
import { contractServer } from "./http-server.js";
import { createOpenWaits } from "./open-waits.js";

// How long a stopping API lets requests in flight finish, within shared/process.ts's stop timeout.
const DRAIN_MS = 8000;
const IDLE_CLOSE_MS = 50;

/** Serves the HTTP API on `port` (0 picks a free one) until `close`. */
export async function startApi(deps: Deps, port = deps.cfg.PORT) {
  await initSettings(deps);
  const connection = createRedis(deps.cfg, { name: `${deps.keys.prefix}:api-queue` });
  const queue = new Queue(CHECKOUT_QUEUE, { connection, ...checkoutQueueOptions(deps.keys) });
  const calendar = new Queue(CALENDAR_QUEUE, { connection, ...calendarQueueOptions(deps.keys) });
  const ctx: ApiCtx = {
    deps,
    directory: createSaleDirectory(deps),
    enqueuer: createEnqueuer(queue, deps.cfg.JOB_BATCH_MAX),
    soldOut: createSoldOutMemo(),
    attempts: createAttemptRecorder(deps),
    queue,
    queues: [queue, calendar],
    counters: createCounterSink(deps),
    events: createTicketEvents(deps.cfg, deps.keys),
    waits: createOpenWaits(deps.cfg.MAX_WAITS_PER_CLIENT),
  };
  const app = createApp(ctx);
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve(
      {
        fetch: app.fetch,
        port,
        hostname: "0.0.0.0",
        createServer: contractServer(
          app.fetch,
          "0.0.0.0",
          (err) => deps.log.error({ err }, "request failed outside the app"),
          { headersTimeout: deps.cfg.HEADERS_TIMEOUT_MS, requestTimeout: deps.cfg.REQUEST_TIMEOUT_MS },
        ),
      },
      () => resolve(s),
    );
  });
  // Longer than a client's or load balancer's idle timeout, so the server never
  // closes a kept-alive connection just as a client reuses it. (An idle kept-alive
  // connection is not subject to headersTimeout: that clock starts with a request's first byte.)
  const http = server as unknown as HttpServer;
  http.keepAliveTimeout = 65_000;
  http.headersTimeout = deps.cfg.HEADERS_TIMEOUT_MS;
  http.requestTimeout = deps.cfg.REQUEST_TIMEOUT_MS;
  http.maxConnections = deps.cfg.MAX_CONNECTIONS;
  http.on("clientError", onClientError);
  const actual = (server.address() as AddressInfo).port;
  deps.log.info({ port: actual }, "api listening");
  return {
    app,
    ctx,
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    async close() {
      // Stop taking requests, let those in flight finish, then flush what is buffered.
      // Long polls and event streams would hold the server open: they answer now.
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // server.close() only closes the connections idle at that moment, so a kept-alive
      // client that keeps sending would hold a stopping API open: close each connection
      // as soon as its request is answered, and cut off any request still running after DRAIN_MS.
      const idle = setInterval(() => http.closeIdleConnections(), IDLE_CLOSE_MS);
      const cutOff = setTimeout(() => http.closeAllConnections(), DRAIN_MS);
      await ctx.events.close();
      await stopped;
      clearInterval(idle);
      clearTimeout(cutOff);
      await ctx.enqueuer.drain();
      await ctx.attempts.drain();
      await ctx.counters.close();
      await Promise.all(ctx.queues.map((q) => q.close()));
      await connection.quit().catch(() => {});
    },
  };
}
