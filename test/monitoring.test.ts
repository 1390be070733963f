import { readFileSync } from "node:fs";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { startApi } from "../api/start.js";
import { createDeps } from "../shared/deps.js";
import { oldestWaitingSeconds } from "../shared/metrics/queue-age.js";
import { watchRedis } from "../shared/recovery/watch.js";
import { createRedis, scanKeys } from "../shared/redis.js";
import { sleep } from "../shared/time.js";
import { crowd } from "../tools/harness/crowd.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { waitForRest } from "../tools/harness/invariants.js";
import { envOf, freePort, startRole } from "../tools/harness/processes.js";

// No Prometheus or Grafana runs here, so the files in monitoring/ are read and every
// metric, label value, service and port they name is checked against what the real
// processes export and what docker-compose.yml runs: a renamed metric fails here,
// not as an empty panel or an alert that can never fire.

const root = new URL("..", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");
const yaml = (path: string) => parse(read(path), { merge: true });

type Rule = {
  alert: string;
  expr: string;
  for?: string;
  labels?: { severity?: string };
  annotations?: { summary?: string };
};
type Panel = { title: string; datasource?: { uid: string }; targets?: { expr: string }[]; panels?: Panel[] };
type Service = {
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  expose?: string[];
};
type ScrapeJob = {
  job_name: string;
  metrics_path?: string;
  dns_sd_configs?: { names: string[]; type: string; port: number }[];
};

const prometheus = yaml("monitoring/prometheus.yml") as { rule_files: string[]; scrape_configs: ScrapeJob[] };
const rules = (yaml("monitoring/rules.yml") as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);
const dashboard = JSON.parse(read("monitoring/grafana/dashboards/flash-sale.json")) as { panels: Panel[] };
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const compose = yaml("docker-compose.yml") as {
  include?: (string | { path: string })[];
  services: Record<string, Service>;
};
const app = compose.services;
const monitoring = yaml("monitoring/compose.yml") as {
  services: Record<string, { image: string; profiles?: string[]; volumes?: string[] }>;
};

/**
 * The samples a selector is checked against: those of the job it names (`job="worker"`:
 * a worker's own endpoint; `job="api"`: the API's), else of either.
 */
function exposition(s: Selector): Map<string, Sample[]> {
  const job = s.matchers.find((m) => m.label === "job" && m.op === "=")?.value;
  if (job === "api") return exported;
  if (job === "worker") return workerExported;
  return new Map([...workerExported, ...exported]);
}

/** Every PromQL expression of the dashboard and the rules, with where it comes from. */
const expressions = [
  ...panels.flatMap((p) => (p.targets ?? []).map((t) => ({ from: `panel "${p.title}"`, expr: t.expr }))),
  ...rules.map((r) => ({ from: `alert ${r.alert}`, expr: r.expr })),
];

// Labels Prometheus attaches to a target, not exported by the processes.
const TARGET_LABELS = new Set(["job", "instance"]);
// Series Prometheus makes itself for each target.
const PROMETHEUS_MADE = new Set(["up"]);
const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
]);

interface Selector {
  name: string;
  matchers: { label: string; op: string; value: string }[];
}

/** The series selectors of a PromQL expression: just enough PromQL for these files. */
function selectors(expr: string): Selector[] {
  const bare = expr
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\[[^\]]*\]/g, " ");
  const out: Selector[] = [];
  for (const m of bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*(\()?/g)) {
    const [, name = "", braces, call] = m;
    if (call || KEYWORDS.has(name)) continue;
    const matchers = [...(braces ?? "").matchAll(/([a-zA-Z_]\w*)\s*(=~|!=|!~|=)\s*"([^"]*)"/g)].map(
      ([, label = "", op = "", value = ""]) => ({ label, op, value }),
    );
    out.push({ name, matchers });
  }
  return out;
}

type Sample = { labels: Record<string, string>; value: number };

/** The samples of a Prometheus text exposition (`name{labels} value` lines), by name. */
function series(text: string): Map<string, Sample[]> {
  const all = new Map<string, Sample[]>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries(
      [...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, v]),
    );
    const name = m[1] as string;
    all.set(name, [...(all.get(name) ?? []), { labels, value: Number(m[3]) }]);
  }
  return all;
}

const scrape = async (url: string) => {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  return series(await res.text());
};
const sample = (samples: Map<string, Sample[]>, name: string, labels: Record<string, string> = {}) =>
  samples.get(name)?.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

let env: TestEnv;
let exported: Map<string, Sample[]>;
/** A worker process's own /metrics, scraped while it ran; then how it stopped. */
let workerExported: Map<string, Sample[]>;
let workerStop: { code: number | string; portClosed: boolean };

beforeAll(async () => {
  env = await createTestEnv();
  // Series of every outcome the files name: timeouts first, then approvals and a sold out.
  await env.setPayments({ failure_rate: 0, hang_rate: 1, timeout_ms: 100, latency_ms: { min: 1, max: 2 } });
  const saleId = await env.createSale({ items: 4, stock_per_item: 1 });
  await crowd(2, 2, (i) => env.request(`/checkout?user_id=t${i}&id=${i + 1}`, { method: "POST" }));
  await waitForRest(env.deps, saleId);
  await env.setPayments({ hang_rate: 0 });
  await crowd(6, 6, (i) => env.request(`/checkout?user_id=a${i}&id=${(i % 4) + 1}`, { method: "POST" }));
  await waitForRest(env.deps, saleId);
  // Processes flush their counts to Redis twice a second.
  await sleep(700);
  exported = await scrape(env.url);
  // A worker as compose runs it, with its own port, started once the sale is over (so it
  // takes none of its tickets) and stopped before the rebuild below (so it takes no part).
  const port = await freePort();
  const worker = await startRole(
    "worker",
    envOf(env.cfg, { WORKER_METRICS_PORT: String(port), WORKER_CONCURRENCY: "7" }),
    /worker ready/,
  );
  try {
    workerExported = await scrape(`http://127.0.0.1:${port}`);
  } finally {
    const code = await worker.kill("SIGTERM");
    const portClosed = await fetch(`http://127.0.0.1:${port}/metrics`).then(
      () => false,
      () => true,
    );
    workerStop = { code, portClosed };
  }
}, 90_000);

afterAll(async () => {
  await env?.close();
});

describe("the dashboard and the alert rules", () => {
  it("name only metrics the processes export", () => {
    const unknown = expressions.flatMap(({ from, expr }) =>
      selectors(expr)
        .filter((s) => !exposition(s).has(s.name) && !PROMETHEUS_MADE.has(s.name))
        .map((s) => `${from}: ${s.name}`),
    );
    expect(unknown).toEqual([]);
    // The parser sees what it must: every expression names at least one metric.
    for (const { from, expr } of expressions) expect(selectors(expr), from).not.toEqual([]);
  });

  it("match label values the metrics carry", () => {
    const wrong: string[] = [];
    for (const { from, expr } of expressions) {
      for (const s of selectors(expr)) {
        const { name, matchers } = s;
        const sets = exposition(s).get(name) ?? [];
        for (const { label, op, value } of matchers) {
          if (TARGET_LABELS.has(label) || op.startsWith("!")) continue;
          // A regex of plain alternatives: each must be a value seen, or it matches nothing.
          const wanted = op === "=~" ? value.split("|") : [value];
          for (const v of wanted)
            if (!sets.some((l) => l.labels[label] === v)) wrong.push(`${from}: ${name}{${label}${op}"${v}"}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it("every rule has a duration, a severity and a summary", () => {
    expect(rules.length).toBeGreaterThanOrEqual(5);
    for (const r of rules) {
      expect(r.for, r.alert).toMatch(/^\d+[smh]$/);
      expect(r.labels?.severity, r.alert).toMatch(/^(critical|warning)$/);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
    }
  });

  it("every panel reads the provisioned data source", () => {
    const provisioned = yaml("monitoring/grafana/provisioning/datasources/prometheus.yml") as {
      datasources: { uid: string }[];
    };
    const uids = provisioned.datasources.map((d) => d.uid);
    for (const p of panels.filter((p) => p.targets)) expect(uids, p.title).toContain(p.datasource?.uid);
  });
});

describe("the scrape config", () => {
  it("scrapes every app service that listens, at its port and the metrics path", () => {
    // The role a service runs, by its entry file (api/main.ts, or dist/api/main.js when built).
    const roleOf = (s: Service) =>
      s.command?.map((c) => /(?:^|\/)(api|worker|scheduler)\/main\.[jt]s$/.exec(c)?.[1]).find(Boolean);
    const roles = Object.entries(app).filter(([, s]) => roleOf(s));
    expect(roles.map(([name]) => name).sort()).toEqual(["api", "scheduler", "worker"]);
    const listening = roles.filter(([, s]) => s.ports || s.expose || s.environment?.PORT);
    // The API listens, each worker on its metrics port; the scheduler has no port, so no target.
    expect(listening.map(([name]) => name)).toEqual(["api", "worker"]);
    const portVariable: Record<string, string> = { api: "PORT", worker: "WORKER_METRICS_PORT" };
    for (const [name, s] of listening) {
      const port = Number(s.environment?.[portVariable[name] ?? ""]);
      expect(port, name).toBeGreaterThan(0);
      expect(s.ports?.every((p) => p.endsWith(`:${port}`)) ?? true, name).toBe(true);
      expect(s.expose?.every((p) => p === String(port)) ?? true, name).toBe(true);
      const job = prometheus.scrape_configs.find((j) =>
        j.dns_sd_configs?.some((d) => d.names.includes(name)),
      );
      expect(job, name).toBeDefined();
      expect(job?.job_name, name).toBe(name);
      expect(job?.metrics_path ?? "/metrics").toBe("/metrics");
      // Type A: one record per container, so every replica of `--scale` is a target.
      expect(job?.dns_sd_configs).toContainEqual(expect.objectContaining({ names: [name], type: "A", port }));
    }
  });

  it("what the workers count reaches Prometheus through the API", () => {
    expect(sample(exported, "flashsale_tickets_total", { status: "purchased" })).toBe(4);
    expect(sample(exported, "flashsale_payments_total", { outcome: "timeout" })).toBe(2);
    expect(sample(exported, "flashsale_payment_duration_seconds_count")).toBe(6);
  });

  it("a sale's settlement shows: batches per transaction and each paid ticket's lag", () => {
    const batches = sample(exported, "flashsale_settlement_batch_size_count") ?? 0;
    const inBatches = sample(exported, "flashsale_settlement_batch_size_sum") ?? 0;
    expect(batches).toBeGreaterThan(0);
    expect(inBatches).toBeGreaterThanOrEqual(batches);
    expect(inBatches).toBeLessThanOrEqual(batches * 500);
    expect(sample(exported, "flashsale_settlement_batch_size_bucket", { le: "+Inf" })).toBe(batches);
    const settled = { outcome: "settled" };
    // Every ticket of a committed transaction settled here (none stale, none refused)...
    expect(sample(exported, "flashsale_settlement_lag_seconds_count", settled)).toBe(inBatches);
    expect(inBatches).toBeGreaterThanOrEqual(4);
    // ...each after some time, well inside the settlement's 20 s timeout.
    const lag = sample(exported, "flashsale_settlement_lag_seconds_sum", settled) ?? 0;
    expect(lag).toBeGreaterThan(0);
    expect(lag / inBatches).toBeLessThan(20);
    // Every outcome is a series from the start, at 0 until one happens.
    for (const outcome of ["refused", "stale", "error"])
      expect(sample(exported, "flashsale_settlement_lag_seconds_count", { outcome }), outcome).toBe(0);
    // Buckets are cumulative.
    const buckets = (exported.get("flashsale_settlement_lag_seconds_bucket") ?? [])
      .filter((b) => b.labels.outcome === "settled")
      .map((b) => b.value);
    expect(buckets).toEqual([...buckets].sort((x, y) => x - y));
    expect(buckets.at(-1)).toBe(inBatches);
  });

  it("a worker process answers on its own port with its process metrics and load, and frees it as it stops", () => {
    for (const name of [
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "nodejs_eventloop_lag_p99_seconds",
    ])
      expect(workerExported.has(name), name).toBe(true);
    expect(sample(workerExported, "flashsale_worker_concurrency")).toBe(7);
    expect(sample(workerExported, "flashsale_worker_jobs_active")).toBe(0);
    // What workers count together is the API's to export, summed over them all, not a worker's.
    expect(workerExported.has("flashsale_tickets_total")).toBe(false);
    expect(workerStop).toEqual({ code: 0, portClosed: true });
  });

  it("docker-compose.yml includes the monitoring services, so they share its network and names", () => {
    const paths = (compose.include ?? []).map((i) => (typeof i === "string" ? i : i.path));
    expect(paths).toContain("monitoring/compose.yml");
  });

  it("loads the rules file, and compose mounts both files and the dashboards where they are named", () => {
    expect(prometheus.rule_files).toEqual(["rules.yml"]);
    for (const [name, s] of Object.entries(monitoring.services)) {
      expect(s.profiles, name).toEqual(["monitoring"]);
      // Pinned: a version number, never latest.
      expect(s.image, name).toMatch(/:v?\d+\.\d+\.\d+$/);
    }
    expect(monitoring.services.prometheus?.volumes).toEqual(
      expect.arrayContaining([
        "./prometheus.yml:/etc/prometheus/prometheus.yml:ro",
        "./rules.yml:/etc/prometheus/rules.yml:ro",
      ]),
    );
    const providers = yaml("monitoring/grafana/provisioning/dashboards/flash-sale.yml") as {
      providers: { options: { path: string } }[];
    };
    const path = providers.providers[0]?.options.path;
    expect(monitoring.services.grafana?.volumes).toContain(`./grafana/dashboards:${path}:ro`);
  });
});

describe("metrics added for the dashboard", () => {
  it("the queue's age is that of the job next in line, 0 when none waits", async () => {
    const connection = createRedis(env.cfg);
    const queue = new Queue("age-probe", { connection, prefix: env.deps.keys.bull });
    try {
      expect(await oldestWaitingSeconds(queue)).toBe(0);
      await queue.add("first", {});
      await sleep(300);
      await queue.add("second", {});
      expect(await oldestWaitingSeconds(queue)).toBeGreaterThanOrEqual(0.3);
      expect(await oldestWaitingSeconds(queue)).toBeLessThan(5);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      await connection.quit();
    }
  });

  it("an API that cannot reach Redis still answers /metrics, and says so", async () => {
    const deps = await createDeps(env.cfg, "api-cut-off", env.deps.log);
    const api = await startApi(deps, 0);
    try {
      expect(sample(await scrape(api.url), "flashsale_store_up", { store: "redis" })).toBe(1);
      deps.redis.disconnect();
      const cut = await scrape(api.url);
      expect(sample(cut, "flashsale_store_up", { store: "redis" })).toBe(0);
      expect(sample(cut, "flashsale_store_up", { store: "postgres" })).toBe(1);
      // What only Redis knows is left out; the process's own metrics stay.
      expect(cut.has("flashsale_payment_slots")).toBe(false);
      expect(cut.has("process_cpu_seconds_total")).toBe(true);
    } finally {
      await deps.redis.connect().catch(() => {});
      await api.close();
      await Promise.allSettled([deps.redis.quit(), deps.db.client.end({ timeout: 2 })]);
    }
  });

  it("a Redis rebuilt from PostgreSQL shows when", async () => {
    // This Redis was built fresh, when the suite started.
    expect(sample(exported, "flashsale_redis_rebuilt_timestamp_seconds")).toBe(0);
    // Redis loses the suite's state (a sale is open), and a process rebuilds it.
    const { redis, keys } = env.deps;
    for await (const found of scanKeys(redis, `${keys.prefix}:*`))
      await Promise.all(found.map((k) => redis.unlink(k)));
    const started = Date.now() / 1000;
    const watcher = watchRedis(env.deps);
    await watcher.ready;
    await watcher.stop();
    const at = sample(await scrape(env.url), "flashsale_redis_rebuilt_timestamp_seconds") ?? 0;
    expect(at).toBeGreaterThanOrEqual(Math.floor(started));
    expect(at).toBeLessThanOrEqual(Date.now() / 1000);
  });
});
