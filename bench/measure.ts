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
  run.notes = {
    ...run.notes,
    cpu_s: cpuDelta(cpu, await cpuSnapshot(t.procs, sys)),
    // Above 2 on this two-core machine, something besides the run wanted the CPU too.
    load_avg_1m: [loadBefore, os.loadavg()[0] ?? 0].map((l) => Math.round(l * 100) / 100),
  };
  if (sys && cmd) run.notes.redis_commands = commandDelta(cmd, await commandStats(sys));
  return run;
}
