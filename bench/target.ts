import { createHttp, type HttpClient } from "../loadtest/http.js";
import type { Report } from "../loadtest/report.js";
import type { Proc, System } from "./system.js";

/** What a scenario runs against: the system, or the bare baseline app. */
export interface Target {
  kind: "system" | "baseline";
  url: string;
  admin: { user: string; password: string };
  /** The system's stores, for figures the API does not give (memory, queue); null for the baseline. */
  sys: System | null;
  /** For set-up calls (creating sales, setting payments). */
  http: HttpClient;
  /** Its processes, for CPU accounting. */
  procs: Proc[];
}

export function target(
  kind: Target["kind"],
  url: string,
  admin: Target["admin"],
  sys: System | null,
  procs: Proc[],
): Target {
  return { kind, url, admin, sys, procs, http: createHttp(new URL(url), { connections: 8, admin }) };
}

export interface BenchOptions {
  runs: number;
  floodAttempts: number;
  floodConcurrency: number;
  slotsBacklog: number;
  intakeStepS: number;
  scaleBacklog: number;
  /** Shoppers that follow tickets check out without `?wait=`, then poll (the generator's old way), for an A/B. */
  checkoutThenPoll: boolean;
}

/** One run of a scenario: named figures (null where not measured) and what the generator reported. */
export interface RunResult {
  figures: Record<string, number | null>;
  /** Invariant checks that failed, and any other broken promise (e.g. not exactly 10 sold). */
  violations: string[];
  reports: Report[];
  notes?: Record<string, unknown>;
  /**
   * What the run's CPU is counted per: `measure` adds `cpu_ms_per_<unit>` (and, for the
   * system, per process) from the CPU its processes used over the whole run.
   */
  cpuPer?: { unit: "purchase" | "accepted"; count: number | null };
}

export interface Scenario {
  name: string;
  /** Also run against the baseline, so its figures have a ratio. */
  withBaseline: boolean;
  run(t: Target, o: BenchOptions): Promise<RunResult>;
}

/** Invariant checks that failed in a report, as lines. */
export function violationsOf(r: Report): string[] {
  if (!r.invariants) return [];
  return r.invariants.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
}

/** Payments as the contract's defaults have them, for scenarios that do not care. */
export const DEFAULT_PAYMENTS = {
  failure_rate: 0,
  hang_rate: 0,
  latency_ms: { min: 10, max: 50 },
  timeout_ms: 3000,
  slots: 200,
};
