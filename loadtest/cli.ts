import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { ChoiceKind } from "./choice.js";
import { type CheckoutMode, defaultOptions, type LoadOptions } from "./options.js";
import { renderText } from "./report.js";
import { runLoad } from "./run.js";

// `npm run loadtest -- [options]`: a crowd against a running system. Exits 0
// when the invariants hold, 1 when one is violated, 2 on a bad option. It never
// fails on a speed.

const HELP = `npm run loadtest -- [options]

target
  --url URL               the API (default http://127.0.0.1:$PORT, PORT from the environment, else 3000);
                          only this machine unless --allow-remote
  --allow-remote          allow a target that is not on this machine
  --admin-user U          admin user for creating a sale / setting payments (env ADMIN_USER, default admin)
  --admin-password P      admin password (env ADMIN_PASSWORD)
  --jwt-secret S          the API's AUTH_JWT_SECRET (env AUTH_JWT_SECRET): every shopper request carries
                          Authorization: Bearer <HS256 token, sub = its user id, one per user, 1 h>
sale
  --sale ID               target this sale (default: the one created with --create-sale, else the current sale)
  --create-sale           create a sale for the run through POST /admin/sales
  --items N               items in the created sale (default 1000)
  --stock N               units of each item (default 1)
  --user-limit N          units one user may hold (default 10)
  --sale-duration S       how long the created sale stays open (default 3600)
  --mode direct|two_step  the created sale's checkout mode (default: the system's CHECKOUT_MODE)
  --hold-s S              two_step only: seconds a checkout code holds its unit (default: the system's HOLD_S)
payments (PUT /admin/payments before the run; what they change is put back when the run ends)
  --failure-rate R  --hang-rate R  --latency MIN[-MAX]  --timeout-ms MS  --slots N
  --keep-payments         leave the payment settings as the run set them
crowd
  --users N               distinct users in all (default 1000): the bound in count
  --concurrency C         users at once (default 100)
  --rate R                instead: users arriving per second, with
  --ramp-up S --hold S --ramp-down S   (hold defaults to what --duration leaves)
  --max-in-flight N       open crowd: users in flight at most; later arrivals are dropped (default 5000)
  --duration S            no new checkouts after this (default 30): the bound in time
  --drain S               then follow tickets in flight this long before aborting (default 30)
shoppers
  --choice hot|uniform|zipf   which item a user goes for (default uniform)
  --zipf-s S              Zipf exponent (default 1)
  --hot-item ID           the hot item (default the sale's first)
  --retries N             further tries on another item after a refusal or failure (default 0)
  --buy N|limit           units each user buys before leaving (default 1)
  --no-poll               check out only, do not follow tickets
  --poll-wait MS          ?wait= of each ticket poll, and of each checkout in a direct sale (default 5000)
  --checkout-then-poll    direct sales: check out without ?wait=, then poll the ticket (by default the
                          checkout waits for the final ticket, one request per purchase, polling only
                          when that wait runs out); two_step sales always check out, then poll
  --ticket-timeout MS     a ticket not final by then counts as unfinished (default 60000; after a hold, from its end)
  --abandon-rate P        two_step sales: the share of shoppers (0 to 1) who never pay their holds (default 0);
                          the others pay each hold with POST /purchase?code= as soon as they see the code
report
  --check-users N|all     users whose purchases are read back (default 200)
  --settle S              how long to wait for the sale to come to rest (default 30)
  --seed N  --user-prefix P
  --json                  print the report as JSON instead of text
  --out FILE              also write the JSON report to FILE
  --quiet                 no progress line
`;

const spec = {
  url: { type: "string" },
  "allow-remote": { type: "boolean" },
  "admin-user": { type: "string" },
  "admin-password": { type: "string" },
  "jwt-secret": { type: "string" },
  sale: { type: "string" },
  "create-sale": { type: "boolean" },
  items: { type: "string" },
  stock: { type: "string" },
  "user-limit": { type: "string" },
  "sale-duration": { type: "string" },
  mode: { type: "string" },
  "hold-s": { type: "string" },
  "failure-rate": { type: "string" },
  "hang-rate": { type: "string" },
  latency: { type: "string" },
  "timeout-ms": { type: "string" },
  slots: { type: "string" },
  "keep-payments": { type: "boolean" },
  users: { type: "string" },
  concurrency: { type: "string" },
  rate: { type: "string" },
  "ramp-up": { type: "string" },
  hold: { type: "string" },
  "ramp-down": { type: "string" },
  "max-in-flight": { type: "string" },
  duration: { type: "string" },
  drain: { type: "string" },
  choice: { type: "string" },
  "zipf-s": { type: "string" },
  "hot-item": { type: "string" },
  retries: { type: "string" },
  buy: { type: "string" },
  "no-poll": { type: "boolean" },
  "checkout-then-poll": { type: "boolean" },
  "poll-wait": { type: "string" },
  "ticket-timeout": { type: "string" },
  "abandon-rate": { type: "string" },
  "check-users": { type: "string" },
  settle: { type: "string" },
  seed: { type: "string" },
  "user-prefix": { type: "string" },
  json: { type: "boolean" },
  out: { type: "string" },
  quiet: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof spec }>>["values"];

/** Options from command-line arguments and the environment (admin credentials and the JWT secret only). */
export function parseCli(
  argv: string[],
  env: Record<string, string | undefined> = {},
): LoadOptions & { help: boolean; json: boolean; out: string | null } {
  const { values: v } = parseArgs({ args: argv, options: spec, strict: true, allowPositionals: false });
  const d = defaultOptions();
  const num = (name: keyof Values, fallback: number) => {
    const raw = v[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (Number.isNaN(n)) throw new Error(`--${name}: not a number: ${String(raw)}`);
    return n;
  };
  const durationS = num("duration", d.durationS);
  const arrival: LoadOptions["arrival"] =
    v.rate === undefined
      ? { kind: "concurrency", concurrency: num("concurrency", 100) }
      : (() => {
          const up = num("ramp-up", 0);
          const down = num("ramp-down", 0);
          return {
            kind: "rate",
            rate: num("rate", 0),
            rampUpS: up,
            rampDownS: down,
            holdS: num("hold", Math.max(0, durationS - up - down)),
          };
        })();
  const choice = (v.choice ?? "uniform") as ChoiceKind;
  if (!["hot", "uniform", "zipf"].includes(choice))
    throw new Error(`--choice: one of hot, uniform, zipf (got ${choice})`);
  // They shape the sale --create-sale makes; silently ignoring them would test something else.
  if (!v["create-sale"] && (v.mode !== undefined || v["hold-s"] !== undefined)) {
    throw new Error("--mode and --hold-s set up the sale that --create-sale creates: add --create-sale");
  }
  const password = v["admin-password"] ?? env.ADMIN_PASSWORD;
  return {
    ...d,
    help: Boolean(v.help),
    json: Boolean(v.json),
    out: v.out ?? null,
    url: v.url ?? (env.PORT ? `http://127.0.0.1:${env.PORT}` : d.url),
    allowRemote: Boolean(v["allow-remote"]),
    admin: password ? { user: v["admin-user"] ?? env.ADMIN_USER ?? "admin", password } : null,
    jwtSecret: v["jwt-secret"] ?? env.AUTH_JWT_SECRET ?? null,
    saleId: v.sale ?? null,
    createSale: v["create-sale"]
      ? {
          items: num("items", 1000),
          stockPerItem: num("stock", 1),
          userLimit: num("user-limit", 10),
          durationS: num("sale-duration", 3600),
          ...(v.mode !== undefined ? { checkoutMode: v.mode as CheckoutMode } : {}),
          ...(v["hold-s"] !== undefined ? { holdS: num("hold-s", 0) } : {}),
        }
      : null,
    payments: paymentsOf(v),
    restorePayments: !v["keep-payments"],
    users: num("users", d.users),
    arrival,
    durationS,
    drainS: num("drain", d.drainS),
    maxInFlight: num("max-in-flight", d.maxInFlight),
    choice,
    zipfExponent: num("zipf-s", d.zipfExponent),
    hotItem: v["hot-item"] ?? null,
    plan: {
      poll: !v["no-poll"],
      pollWaitMs: num("poll-wait", d.plan.pollWaitMs),
      waitAtCheckout: !v["checkout-then-poll"],
      ticketTimeoutMs: num("ticket-timeout", d.plan.ticketTimeoutMs),
      retries: num("retries", d.plan.retries),
      buyUpTo: v.buy === "limit" ? Number.POSITIVE_INFINITY : num("buy", 1),
      maxBackoffMs: d.plan.maxBackoffMs,
      abandonRate: num("abandon-rate", d.plan.abandonRate),
    },
    checkUsers: v["check-users"] === "all" ? "all" : num("check-users", 200),
    settleS: num("settle", d.settleS),
    seed: num("seed", d.seed),
    userPrefix: v["user-prefix"] ?? d.userPrefix,
    progress: !v.quiet,
  };
}

function paymentsOf(v: Values): Record<string, unknown> | null {
  const p: Record<string, unknown> = {};
  if (v["failure-rate"] !== undefined) p.failure_rate = Number(v["failure-rate"]);
  if (v["hang-rate"] !== undefined) p.hang_rate = Number(v["hang-rate"]);
  if (v["timeout-ms"] !== undefined) p.timeout_ms = Number(v["timeout-ms"]);
  if (v.slots !== undefined) p.slots = Number(v.slots);
  if (v.latency !== undefined) {
    const [min, max] = v.latency.split("-").map(Number);
    p.latency_ms = { min, max: max ?? min };
  }
  return Object.keys(p).length ? p : null;
}

async function main() {
  let o: ReturnType<typeof parseCli>;
  try {
    o = parseCli(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (o.help) {
    process.stdout.write(HELP);
    return;
  }
  const report = await runLoad(o);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (o.out) writeFileSync(o.out, json);
  process.stdout.write(o.json ? json : renderText(report));
  process.exitCode = report.invariants?.ok === false ? 1 : 0;
}

// Imported by tests for parseCli; run only as the entry point.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  });
}
