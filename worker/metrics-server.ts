import { once } from "node:events";
import { createServer } from "node:http";
import type { Job } from "bullmq";
import client from "prom-client";
import type { Deps } from "../shared/deps.js";

// What only this worker process knows, for Prometheus to scrape from each worker
// (monitoring/prometheus.yml): Node's own metrics (CPU, memory, event loop lag) and its
// live load. What workers count together (payments, tickets, settlement) is summed in
// Redis and exported by every API (api/metrics.ts), not here. No credentials, like the
// API's /metrics: nothing here names a ticket or a user; keep the port off the internet.

type Run<T> = (job: Job, token?: string) => Promise<T>;

/**
 * Serves GET /metrics on WORKER_METRICS_PORT (all interfaces) until closed with the
 * worker. Gives back `run` counting the jobs in hand: an increment, and a decrement when
 * its promise settles, no await added.
 */
export async function startWorkerMetrics<T>(deps: Pick<Deps, "cfg" | "log">, run: Run<T>) {
  let active = 0;
  const ended = () => {
    active--;
  };
  const counted: Run<T> = (job, token) => {
    active++;
    const p = run(job, token);
    p.then(ended, ended);
    return p;
  };
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const registers = [registry];
  new client.Gauge({
    name: "flashsale_worker_jobs_active",
    help: "Queue jobs (a ticket, or a batch of tickets) this worker process is running now",
    registers,
    collect() {
      this.set(active);
    },
  });
  new client.Gauge({
    name: "flashsale_worker_concurrency",
    help: "Queue jobs this worker process runs at most at once (WORKER_CONCURRENCY)",
    registers,
  }).set(deps.cfg.WORKER_CONCURRENCY);

  const server = createServer((req, res) => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      (err: unknown) => {
        deps.log.warn({ err: String(err) }, "could not collect worker metrics");
        res.writeHead(500).end();
      },
    );
  });
  // A scraper asks once every few seconds: a client that opens sockets and sends nothing,
  // or many at once, is cut off instead of held (it shares the worker's event loop).
  server.headersTimeout = 5_000;
  server.requestTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 32;
  server.listen(deps.cfg.WORKER_METRICS_PORT);
  // A port taken fails the start, with the port named, rather than a worker no one can scrape.
  // (once() rejects with the server's error).
  await once(server, "listening").catch((err: unknown) => {
    throw new Error(`worker metrics: cannot listen on port ${deps.cfg.WORKER_METRICS_PORT}: ${String(err)}`);
  });
  const port = (server.address() as { port: number }).port;
  deps.log.info({ port }, "worker metrics on /metrics");
  return {
    run: counted,
    port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Prometheus keeps its connection open between scrapes: it must not hold the stop.
      server.closeAllConnections();
      await closed;
    },
  };
}

export type WorkerMetrics = Awaited<ReturnType<typeof startWorkerMetrics>>;
