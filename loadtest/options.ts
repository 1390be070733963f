import { randomBytes } from "node:crypto";
import type { ChoiceKind } from "./choice.js";
import type { UserPlan } from "./client.js";
import { isLoopback } from "./http.js";
import type { Arrival } from "./schedule.js";

export type CheckoutMode = "direct" | "two_step";

/** A `POST /admin/sales` for the run. */
export interface SaleSetup {
  items: number;
  stockPerItem: number;
  userLimit: number;
  durationS: number;
  /** Left out: the system's `CHECKOUT_MODE` decides. */
  checkoutMode?: CheckoutMode;
  /** Seconds a two_step code holds its unit; left out: the system's `HOLD_S`. */
  holdS?: number;
}

/** Everything a run needs; `cli.ts` builds it from flags, tests and benchmarks build it directly. */
export interface LoadOptions {
  url: string;
  /** Without it, any target that is not this machine is refused. */
  allowRemote: boolean;
  admin: { user: string; password: string } | null;
  /**
   * The API's AUTH_JWT_SECRET, for a system with signed shopper identity: every shopper
   * request carries a bearer token (HS256, `sub` its user id). Null sends none.
   */
  jwtSecret: string | null;
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
  createSale: SaleSetup | null;
  /** A `PUT /admin/payments` body applied before the run, or null to leave the simulator alone. */
  payments: Record<string, unknown> | null;
  /** Put back, when the run ends, the payment settings `payments` changed (the CLI does; a bench reads them after). */
  restorePayments: boolean;
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
    jwtSecret: null,
    users: 1000,
    arrival: { kind: "concurrency", concurrency: 100 },
    durationS: 30,
    drainS: 30,
    maxInFlight: 5000,
    plan: {
      poll: true,
      pollWaitMs: 5000,
      waitAtCheckout: true,
      ticketTimeoutMs: 60_000,
      retries: 0,
      buyUpTo: 1,
      maxBackoffMs: 1000,
      abandonRate: 0,
    },
    choice: "uniform",
    zipfExponent: 1,
    hotItem: null,
    saleId: null,
    createSale: null,
    payments: null,
    restorePayments: false,
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
  if (o.jwtSecret === "") bad.push("--jwt-secret: must not be empty");
  if (o.choice === "zipf" && !(o.zipfExponent > 0)) bad.push("--zipf-s: must be positive");
  if (!(o.plan.abandonRate >= 0 && o.plan.abandonRate <= 1)) {
    bad.push(`--abandon-rate: must be from 0 to 1 (got ${o.plan.abandonRate})`);
  }
  if (o.createSale) bad.push(...validateSaleSetup(o.createSale));
  return bad;
}

// The range POST /admin/sales accepts for hold_s.
const MAX_HOLD_S = 3600;

function validateSaleSetup(s: SaleSetup): string[] {
  const bad: string[] = [];
  const mode = s.checkoutMode;
  if (mode !== undefined && mode !== "direct" && mode !== "two_step") {
    bad.push(`--mode: one of direct, two_step (got ${String(mode)})`);
  }
  if (s.holdS === undefined) return bad;
  // The API refuses hold_s for a direct sale; with no --mode the system's default decides, so ask for it.
  if (mode !== "two_step") bad.push("--hold-s: only for a two_step sale; add --mode two_step");
  if (!Number.isInteger(s.holdS) || s.holdS < 1 || s.holdS > MAX_HOLD_S) {
    bad.push(`--hold-s: must be a whole number of seconds from 1 to ${MAX_HOLD_S} (got ${s.holdS})`);
  }
  return bad;
}
