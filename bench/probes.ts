import { readdirSync, readFileSync } from "node:fs";
import type { Proc, System } from "./system.js";

// What the bench reads from Redis beside the API: memory, command statistics
// and how many jobs are queued. Redis is shared with whatever else runs on the
// machine, so its global figures are read as before/after differences and the
// system's own keys are measured apart.

/** A field of INFO, as a number. */
export async function info(sys: System, section: string, field: string): Promise<number> {
  const text = await sys.deps.redis.info(section);
  const m = new RegExp(`^${field}:(\\S+)`, "m").exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

export const usedMemory = (sys: System) => info(sys, "memory", "used_memory");

/**
 * Bytes and count of the system's own keys, by MEMORY USAGE: those under its
 * prefix, and BullMQ's under a hash tag that starts with it ({prefix:bull}).
 */
export async function prefixMemory(sys: System): Promise<{ keys: number; bytes: number }> {
  const { redis } = sys.deps;
  const prefix = sys.cfg.REDIS_PREFIX;
  let count = 0;
  let bytes = 0;
  for (const pattern of [`${prefix}:*`, `{${prefix}:*`]) {
    let cursor = "0";
    do {
      const [next, found] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (found.length === 0) continue;
      const pipe = redis.pipeline();
      for (const k of found) pipe.memory("USAGE", k, "SAMPLES", "0");
      for (const [, v] of (await pipe.exec()) ?? []) bytes += Number(v ?? 0);
      count += found.length;
    } while (cursor !== "0");
  }
  return { keys: count, bytes };
}

/**
 * Checkout jobs not done yet (waiting, active, delayed), as the API's GET /stats
 * shows them: the contract's view, whatever the queue's keys look like.
 */
export async function jobsQueued(sys: System): Promise<number> {
  const res = await fetch(`${sys.url}/stats`);
  const { queue } = (await res.json()) as { queue: Record<string, number> };
  return (queue.waiting ?? 0) + (queue.active ?? 0) + (queue.delayed ?? 0) + (queue.prioritized ?? 0);
}

/** The sale's stock through GET /sales/{id}. */
export async function stockOf(sys: System, saleId: string) {
  const res = await fetch(`${sys.url}/sales/${saleId}`);
  return (
    (await res.json()) as { stock: { total: number; available: number; reserved: number; sold: number } }
  ).stock;
}

export type CommandStats = Record<string, { calls: number; usec: number }>;

export async function commandStats(sys: System): Promise<CommandStats> {
  const out: CommandStats = {};
  for (const line of (await sys.deps.redis.info("commandstats")).split("\n")) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (m) out[m[1] as string] = { calls: Number(m[2]), usec: Number(m[3]) };
  }
  return out;
}

/** Commands run between two snapshots, the costliest first (machine-wide: other clients count too). */
export function commandDelta(before: CommandStats, after: CommandStats, top = 12) {
  return Object.entries(after)
    .map(([cmd, a]) => ({
      cmd,
      calls: a.calls - (before[cmd]?.calls ?? 0),
      usec: a.usec - (before[cmd]?.usec ?? 0),
    }))
    .filter((r) => r.calls > 0)
    .sort((a, b) => b.usec - a.usec)
    .slice(0, top);
}

/** Samples, while a scenario runs, the jobs not done and Redis memory; keeps the highest of each. */
export function sampleWhileRunning(sys: System, everyMs = 100) {
  const peak = { jobs: 0, usedMemory: 0 };
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      peak.jobs = Math.max(peak.jobs, await jobsQueued(sys));
      peak.usedMemory = Math.max(peak.usedMemory, await usedMemory(sys));
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return peak;
    },
  };
}

/** Waits (at most `ms`) until no checkout job is waiting, active or delayed, so a run starts from an empty queue. */
export async function quiesce(sys: System, ms = 30_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if ((await jobsQueued(sys)) === 0) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

// Linux reports process CPU time in clock ticks of 1/100 s (USER_HZ).
const TICKS_PER_S = 100;

export function cpuOfPid(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may contain spaces, closed by the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
  } catch {
    return 0;
  }
}

function pidsNamed(comm: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, "utf8").trim() === comm) out.push(Number(d));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/**
 * CPU seconds used so far by each of `procs`, and with a system its Redis and
 * every PostgreSQL process (shared with anything else using them), and by this
 * bench process (the load generator). Differences over a run say where the CPU went.
 */
export async function cpuSnapshot(procs: Proc[], sys: System | null): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const p of procs) if (p.child.pid) out[p.name] = cpuOfPid(p.child.pid);
  if (sys) {
    out.redis = cpuOfPid(await info(sys, "server", "process_id"));
    out.postgres = pidsNamed("postgres").reduce((sum, pid) => sum + cpuOfPid(pid), 0);
  }
  const self = process.cpuUsage();
  out.generator = (self.user + self.system) / 1e6;
  return out;
}

export function cpuDelta(before: Record<string, number>, after: Record<string, number>) {
  return Object.fromEntries(
    Object.entries(after).map(([k, v]) => [k, Math.round((v - (before[k] ?? 0)) * 100) / 100]),
  );
}

// The steady rate is taken between these shares of a backlog sold, leaving out the
// start (workers starting, or seeing a new slot count) and the tail.
const FROM = 0.1;
const TO = 0.9;

/** Units per second sold between 10 % and 90 % of `backlog` past `base`, from [ms, sold] samples. */
export function steadyRate(timeline: [number, number][], base: number, backlog: number): number | null {
  const at = (share: number) => timeline.find(([, sold]) => sold - base >= share * backlog)?.[0] ?? null;
  const t0 = at(FROM);
  const t1 = at(TO);
  return t0 !== null && t1 !== null && t1 > t0 ? ((TO - FROM) * backlog * 1000) / (t1 - t0) : null;
}
