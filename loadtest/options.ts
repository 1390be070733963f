import { randomBytes } from "node:crypto";
import type { ChoiceKind } from "./choice.js";
import type { UserPlan } from "./client.js";
import { isLoopback } from "./http.js";
import type { Arrival } from "./schedule.js";

/** Everything a run needs; `cli.ts` builds it from flags, tests and benchmarks build it directly. */
export interface LoadOptions {
  url: string;
  /** Without it, any target that is not this machine is refused. */
  allowRemote: boolean;
  admin: { user: string; password: string } | null;
  /** Distinct users in all: the run's bound in count. */
  users: number;
  arrival: Arrival;
  /** The run's bound in time: no new checkouts after this many seconds. */
  durationS: number;
  /** After `durationS`, how long tickets in flight are still followed before everything is aborted. */
  drainS: number;
  /** Open crowd only: users in flight at most; arrivals beyond it are dropped and counted. */
  maxInFlight: number;
  plan: UserPlan;
  choice: ChoiceKind;
  zipfExponent: number;
  /** The hot item's id; default the sale's first item. */
  hotItem: string | null;
  /** Target this sale; null means the sale created for the run, else the current one. */
  saleId: string | null;
  createSale: { items: number; stockPerItem: number; userLimit: number; durationS: number } | null;
  /** A `PUT /admin/payments` body applied before the run, or null to leave the simulator alone. */
  payments: Record<string, unknown> | null;
  /** User ids are this prefix and a number, so runs never share a user. */
  userPrefix: string;
  seed: number;
  /** Check the invariants after the run (off for steps of a longer measurement that checks at its end). */
  checkInvariants: boolean;
  /** Users whose purchases are checked afterwards: a number sampled, or every user. */
  checkUsers: number | "all";
  /** How long to wait after the run for the sale to come to rest (no unit reserved). */
  settleS: number;
  progress: boolean;
}

export function defaultOptions(): LoadOptions {
  return {
    url: "http://127.0.0.1:3000",
    allowRemote: false,
    admin: null,
    users: 1000,
    arrival: { kind: "concurrency", concurrency: 100 },
    durationS: 30,
    drainS: 30,
    maxInFlight: 5000,
    plan: {
      poll: true,
      pollWaitMs: 5000,
      ticketTimeoutMs: 60_000,
      retries: 0,
      buyUpTo: 1,
      maxBackoffMs: 1000,
    },
    choice: "uniform",
    zipfExponent: 1,
    hotItem: null,
    saleId: null,
    createSale: null,
    payments: null,
    userPrefix: `lt${randomBytes(3).toString("hex")}-`,
    seed: Date.now() % 2 ** 31,
    checkInvariants: true,
    checkUsers: 200,
    settleS: 30,
    progress: false,
  };
}

/** Problems with the options, as lines a person can act on; empty when they are fine. */
export function validate(o: LoadOptions): string[] {
  const bad: string[] = [];
  let url: URL | null = null;
  try {
    url = new URL(o.url);
  } catch {
    bad.push(`--url: not a URL: ${o.url}`);
  }
  if (url && url.protocol !== "http:") bad.push("--url: only http:// targets are supported");
  if (url && !o.allowRemote && !isLoopback(url)) {
    bad.push(`--url: ${url.hostname} is not this machine; pass --allow-remote if you mean to load it`);
  }
  const positive = (name: string, v: number) => {
    if (!Number.isFinite(v) || v <= 0) bad.push(`${name}: must be a positive number (got ${v})`);
  };
  positive("--users", o.users);
  positive("--duration", o.durationS);
  if (o.arrival.kind === "concurrency") positive("--concurrency", o.arrival.concurrency);
  else {
    positive("--rate", o.arrival.rate);
    for (const [name, v] of [
      ["--ramp-up", o.arrival.rampUpS],
      ["--hold", o.arrival.holdS],
      ["--ramp-down", o.arrival.rampDownS],
    ] as const) {
      if (!Number.isFinite(v) || v < 0) bad.push(`${name}: must be 0 or more seconds (got ${v})`);
    }
  }
  if (o.plan.retries < 0 || Number.isNaN(o.plan.retries)) bad.push("--retries: must be 0 or more");
  if (o.plan.buyUpTo < 1) bad.push("--buy: must be 1 or more");
  if (o.plan.pollWaitMs < 1 || o.plan.pollWaitMs > 30_000) bad.push("--poll-wait: must be 1 to 30000 ms");
  if ((o.createSale || o.payments) && !o.admin) {
    bad.push("creating a sale or setting payments needs admin credentials (--admin-user/--admin-password)");
  }
  if (o.choice === "zipf" && !(o.zipfExponent > 0)) bad.push("--zipf-s: must be positive");
  return bad;
}
