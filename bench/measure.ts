import os from "node:os";
import { commandDelta, commandStats, cpuDelta, cpuSnapshot, quiesce } from "./probes.js";
import type { BenchOptions, RunResult, Scenario, Target } from "./target.js";

/**
 * One run of a scenario, with what the machine did meanwhile: CPU seconds per
 * process and the costliest Redis commands (Redis is shared, so on a busy
 * machine these count other clients too).
 */
export async function measure(
  s: Scenario,
  t: Target,
  o: BenchOptions,
  log: (line: string) => void,
): Promise<RunResult> {
  const sys = t.sys;
  // Jobs left by the run before (delayed re-checks) would count in this one's queue figures.
  if (sys && !(await quiesce(sys))) log("  the queue did not empty in 30 s; starting anyway");
  const cmd = sys ? await commandStats(sys) : null;
  const cpu = await cpuSnapshot(t.procs, sys);
  const loadBefore = os.loadavg()[0] ?? 0;
  const run = await s.run(t, o);
  const cpuS = cpuDelta(cpu, await cpuSnapshot(t.procs, sys));
  if (run.cpuPer) Object.assign(run.figures, cpuFigures(cpuS, run.cpuPer.unit, run.cpuPer.count, t.kind));
  run.notes = {
    ...run.notes,
    cpu_s: cpuS,
    // Above 2 on this two-core machine, something besides the run wanted the CPU too.
    load_avg_1m: [loadBefore, os.loadavg()[0] ?? 0].map((l) => Math.round(l * 100) / 100),
  };
  if (sys && cmd) run.notes.redis_commands = commandDelta(cmd, await commandStats(sys));
  return run;
}

/**
 * CPU-ms per purchase (or accepted ticket) of the target's own processes: the
 * system's API, workers, scheduler, Redis and PostgreSQL, or the bare app; never
 * the generator. For the system also per process (the scheduler only in the sum).
 * Redis and PostgreSQL are the machine's: anything else using them counts too.
 */
export function cpuFigures(
  cpuS: Record<string, number>,
  unit: string,
  count: number | null,
  kind: Target["kind"],
): Record<string, number | null> {
  const per = (names: (name: string) => boolean) => {
    if (!count) return null;
    const s = Object.entries(cpuS).reduce((sum, [name, v]) => (names(name) ? sum + v : sum), 0);
    return Math.round((s * 1e6) / count) / 1000;
  };
  const own = per((name) => name !== "generator");
  if (kind === "baseline") return { [`cpu_ms_per_${unit}`]: own };
  return {
    [`cpu_ms_per_${unit}`]: own,
    [`api_cpu_ms_per_${unit}`]: per((name) => name === "api"),
    [`worker_cpu_ms_per_${unit}`]: per((name) => name.startsWith("worker")),
    [`redis_cpu_ms_per_${unit}`]: per((name) => name === "redis"),
    [`postgres_cpu_ms_per_${unit}`]: per((name) => name === "postgres"),
  };
}
