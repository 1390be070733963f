import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../shared/config.js";

// WORKER_NICE: a worker process lowers its own CPU priority at start. Tried in a
// child process, since a priority once lowered cannot be raised back without privileges.

const root = fileURLToPath(new URL("..", import.meta.url));

/** Runs applyNice in a fresh process; returns the nice value of each of its threads and what it logged. */
function niceOfChild(nice: number): { threads: number[]; logged: string[] } {
  const script = `
    import os from "node:os";
    import { readdirSync } from "node:fs";
    import { applyNice } from "./shared/process-priority.ts";
    const logged = [];
    const log = { info: (_o, m) => logged.push(m), warn: (_o, m) => logged.push(m) };
    applyNice({ WORKER_NICE: ${nice} }, log);
    const threads = readdirSync("/proc/self/task").map((t) => os.getPriority(Number(t)));
    process.stdout.write(JSON.stringify({ threads, logged }));
  `;
  const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: root,
    encoding: "utf8",
  });
  return JSON.parse(out);
}

describe("WORKER_NICE", () => {
  it("lowers every thread of the process to the configured priority", () => {
    const { threads, logged } = niceOfChild(7);
    expect(threads.length).toBeGreaterThan(1);
    expect(new Set(threads)).toEqual(new Set([7]));
    expect(logged).toEqual(["running at a lower CPU priority"]);
  });

  it("leaves the process as started at 0", () => {
    const { threads, logged } = niceOfChild(0);
    expect(threads.every((n) => n === threads[0])).toBe(true);
    expect(logged).toEqual([]);
  });

  it("is an integer from 0 to 19, 0 unless set", () => {
    expect(parseConfig({}).WORKER_NICE).toBe(0);
    expect(parseConfig({ WORKER_NICE: "19" }).WORKER_NICE).toBe(19);
    for (const bad of ["20", "-1", "1.5", "low"]) {
      expect(() => parseConfig({ WORKER_NICE: bad })).toThrow(
        /^config: WORKER_NICE must be an integer from 0 to 19/,
      );
    }
  });
});
