import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runLoad } from "../loadtest/run.js";
import { measure } from "./measure.js";
import { flood } from "./scenarios/flood.js";
import { intake } from "./scenarios/intake.js";
import { scale } from "./scenarios/scale.js";
import { sellout } from "./scenarios/sellout.js";
import { slots } from "./scenarios/slots.js";
import { startBaseline, startSystem } from "./system.js";
import { markdownTable, median, type ScenarioSummary, spread } from "./table.js";
import { type BenchOptions, type RunResult, type Scenario, type Target, target } from "./target.js";

// `npm run bench -- [options]`: starts the system (api, worker, scheduler as
// processes, production settings, its own Redis prefix and database) and the
// bare baseline app, runs each scenario a few times against both, writes
// bench/results/<date>.json and prints a Markdown table. It exits non-zero only
// when an invariant breaks, never for a time.

const HELP = `npm run bench -- [options]
  --scenarios LIST        comma-separated: sellout,flood,slots,intake,scale,baseline (default all;
                          without "baseline" nothing runs against the bare app)
  --runs N                runs of each scenario (default 3)
  --flood-attempts N      checkout attempts in flood (default 200000; the issue's figure is 1000000)
  --flood-concurrency N   shoppers at once in flood (default 200)
  --slots-backlog N       tickets queued before the slots open (default 20000)
  --intake-step S         seconds per rate step in intake (default 5)
  --scale-backlog N       tickets queued for each worker count in scale (default 10000)
  --workers N             worker processes (default 1; scale runs 1, 2 and 3 whatever this says)
  --checkout-then-poll    shoppers that follow their tickets (sellout, flood) check out without ?wait=,
                          then poll: two requests or more per purchase, as before the checkout's wait
  --cpu-prof DIR          run every process with --cpu-prof, profiles written to DIR
  --root DIR              run the system from another checkout (e.g. a snapshot of a commit:
                          git archive HEAD | tar -x -C DIR; git rev-parse HEAD > DIR/COMMIT;
                          ln -s "$PWD/node_modules" DIR/)
  --out DIR               where results go (default bench/results)
  --env KEY=VALUE         a setting for the system's processes (shared/config.ts), over the bench's
                          own; repeatable (e.g. --env JOB_HISTORY=0 for an A/B of a setting)
`;

const ALL: Scenario[] = [sellout, flood, slots, intake, scale];
const root = fileURLToPath(new URL("..", import.meta.url));

const { values: v } = parseArgs({
  options: {
    scenarios: { type: "string", default: "sellout,flood,slots,intake,scale,baseline" },
    runs: { type: "string", default: "3" },
    "flood-attempts": { type: "string", default: "200000" },
    "flood-concurrency": { type: "string", default: "200" },
    "slots-backlog": { type: "string", default: "20000" },
    "intake-step": { type: "string", default: "5" },
    "scale-backlog": { type: "string", default: "10000" },
    workers: { type: "string", default: "1" },
    "checkout-then-poll": { type: "boolean", default: false },
    "cpu-prof": { type: "string" },
    root: { type: "string" },
    out: { type: "string", default: "bench/results" },
    env: { type: "string", multiple: true, default: [] },
    help: { type: "boolean", short: "h" },
  },
});
if (v.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const chosen = new Set(v.scenarios.split(",").map((s) => s.trim()));
const scenarios = ALL.filter((s) => chosen.has(s.name));
const withBaseline = chosen.has("baseline");
const opts: BenchOptions = {
  runs: Number(v.runs),
  floodAttempts: Number(v["flood-attempts"]),
  floodConcurrency: Number(v["flood-concurrency"]),
  slotsBacklog: Number(v["slots-backlog"]),
  intakeStepS: Number(v["intake-step"]),
  scaleBacklog: Number(v["scale-backlog"]),
  checkoutThenPoll: Boolean(v["checkout-then-poll"]),
};
const systemEnv = Object.fromEntries(
  v.env.map((pair) => {
    const at = pair.indexOf("=");
    if (!/^[A-Z_]+=/.test(pair)) throw new Error(`--env ${pair}: expected KEY=VALUE`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);
const nodeArgs = v["cpu-prof"] ? ["--cpu-prof", "--cpu-prof-dir", v["cpu-prof"]] : [];
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

const machine = {
  cpus: os.cpus().length,
  cpu_model: os.cpus()[0]?.model ?? "unknown",
  memory_gb: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
  load_average_at_start: os.loadavg().map((l) => Math.round(l * 100) / 100),
  system_root: v.root ?? root,
  commit:
    v.root && existsSync(`${v.root}/COMMIT`)
      ? readFileSync(`${v.root}/COMMIT`, "utf8").trim().slice(0, 12)
      : git(["rev-parse", "--short", "HEAD"], v.root),
  uncommitted_files: git(["status", "--porcelain"], v.root).split("\n").filter(Boolean).length,
  system_env: systemEnv,
};

log(`starting the system (${v.workers} worker process${v.workers === "1" ? "" : "es"})`);
const sys = await startSystem({
  workers: Number(v.workers),
  nodeArgs,
  env: systemEnv,
  ...(v.root ? { root: v.root } : {}),
});
const base = withBaseline ? await startBaseline(nodeArgs) : null;
const targets: Target[] = [target("system", sys.url, sys.admin, sys, sys.procs)];
if (base) targets.push(target("baseline", base.url, sys.admin, null, [base.proc]));

const results: Record<string, { system: RunResult[]; baseline: RunResult[]; errors: string[] }> = {};
try {
  for (const t of targets) {
    await warmUp(t).catch((err) => {
      for (const p of sys.procs) log(`${p.name} said: ${p.output().slice(-1500)}`);
      throw err;
    });
  }
  for (const s of scenarios) {
    const r: (typeof results)[string] = { system: [], baseline: [], errors: [] };
    results[s.name] = r;
    for (const t of targets) {
      if (t.kind === "baseline" && !s.withBaseline) continue;
      for (let i = 1; i <= opts.runs; i++) {
        log(`${s.name} on the ${t.kind}, run ${i} of ${opts.runs}`);
        try {
          const run = await measure(s, t, opts, log);
          r[t.kind].push(run);
          log(
            `  ${JSON.stringify(run.figures)}${run.violations.length ? `  VIOLATIONS: ${run.violations.join("; ")}` : ""}`,
          );
        } catch (err) {
          r.errors.push(`${t.kind} run ${i}: ${(err as Error).message}`);
          log(`  failed: ${(err as Error).message}`);
          for (const p of sys.procs) log(`  ${p.name} said: ${p.output().slice(-1500)}`);
        }
      }
    }
  }
} finally {
  for (const t of targets) t.http.close();
  await base?.close();
  await sys.close();
}

const summaries: ScenarioSummary[] = scenarios.map((s) => {
  const r = results[s.name] ?? { system: [], baseline: [], errors: [] };
  return {
    name: s.name,
    runs: r.system.length,
    system: medians(r.system),
    spread: spreads(r.system),
    baseline: r.baseline.length ? medians(r.baseline) : null,
    violations: [...r.system, ...r.baseline].flatMap((x) => x.violations).concat(r.errors),
  };
});
const table = markdownTable(summaries);
const date = new Date().toISOString().replace(/:/g, "-").replace(/\..*$/, "");
mkdirSync(v.out, { recursive: true });
const file = `${v.out}/${date}.json`;
const loadAtEnd = os.loadavg().map((l) => Math.round(l * 100) / 100);
const record = {
  date,
  machine: { ...machine, load_average_at_end: loadAtEnd },
  options: opts,
  summaries,
  table,
  results,
};
writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
process.stdout.write(
  `\n${table}\nload average (1, 5, 15 min): ${machine.load_average_at_start.join(", ")} at the start, ` +
    `${loadAtEnd.join(", ")} at the end (2 cores)\nresults: ${file}\n`,
);
process.exitCode = summaries.some((s) => s.violations.length) ? 1 : 0;

function figureNames(runs: RunResult[]): string[] {
  return [...new Set(runs.flatMap((r) => Object.keys(r.figures)))];
}

function spreads(runs: RunResult[]) {
  return Object.fromEntries(figureNames(runs).map((n) => [n, spread(runs.map((r) => r.figures[n] ?? null))]));
}

function medians(runs: RunResult[]): Record<string, number | null> {
  return Object.fromEntries(figureNames(runs).map((n) => [n, median(runs.map((r) => r.figures[n] ?? null))]));
}

/** A short crowd first, so the first measured run does not pay for JIT compilation and cold connections. */
async function warmUp(t: Target) {
  log(`warming up the ${t.kind}`);
  await runLoad({
    url: t.url,
    admin: t.admin,
    createSale: { items: 2000, stockPerItem: 1, userLimit: 10, durationS: 3600 },
    users: 300,
    arrival: { kind: "concurrency", concurrency: 300 },
    plan: { buyUpTo: 10, retries: 100_000, waitAtCheckout: !opts.checkoutThenPoll },
    durationS: 20,
    checkInvariants: false,
  });
}

function git(args: string[], cwd = root): string {
  try {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}
