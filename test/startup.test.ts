import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { answers } from "../scripts/local/probe.js";
import { ConfigError, parseConfig } from "../shared/config.js";
import { sleep } from "../shared/time.js";
import { testConfig } from "../tools/harness/env.js";
import { envOf, freePort } from "../tools/harness/processes.js";

const root = fileURLToPath(new URL("..", import.meta.url));
// A process that cannot start must say so and stop within this: it never hangs on a
// dead store. Generous, because tsx alone takes seconds to start on a busy two-core machine.
const EXIT_BOUND_MS = 20_000;
// zod's own wording, which tells a person about types rather than what to set.
const ZOD_WORDING = /Invalid input|expected|received|Too (big|small)|Invalid (URL|option|string)/;
// A line of a JavaScript stack trace.
const STACK_LINE = /^\s+at .+/m;

function configError(env: Record<string, string>): string {
  try {
    parseConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(env)}`);
}

interface Exit {
  code: number | string;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs one role as a developer would (`node --import tsx <role>/main.ts`) until it exits. */
function runUntilExit(role: "api" | "worker" | "scheduler", env: NodeJS.ProcessEnv): Promise<Exit> {
  return runFileUntilExit(`${role}/main.ts`, env);
}

/** Runs a TypeScript file of the checkout through tsx until it exits. */
function runFileUntilExit(file: string, env: NodeJS.ProcessEnv): Promise<Exit> {
  const started = Date.now();
  const child = spawn(process.execPath, ["--import", "tsx", file], { cwd: root, env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => {
    // Kill a process that wrongly keeps running, so the test fails on the bound, not on a leak.
    const timer = setTimeout(() => child.kill("SIGKILL"), EXIT_BOUND_MS + 5000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal ?? code ?? 0, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** The environment of a machine with both stores up, before `extra` breaks something. */
function machineEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return envOf(testConfig(), extra);
}

function expectOneLineFailure(exit: Exit, line: RegExp) {
  expect(exit.code).toBe(1);
  expect(exit.ms).toBeLessThan(EXIT_BOUND_MS);
  expect(exit.stderr.endsWith("\n")).toBe(true);
  expect(exit.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(exit.stderr.trimEnd()).toMatch(line);
  expect(`${exit.stdout}${exit.stderr}`).not.toMatch(STACK_LINE);
}

describe("parseConfig names the bad variable and what it expects, in one line", () => {
  it.each([
    [{ PORT: "abc" }, "PORT", 'must be an integer from 0 to 65535 (got "abc")'],
    [{ PORT: "70000" }, "PORT", 'must be an integer from 0 to 65535 (got "70000")'],
    [{ PORT: "80.5" }, "PORT", "must be an integer"],
    [{ REDIS_URL: "http://x" }, "REDIS_URL", "must be a redis:// or rediss:// URL"],
    [{ DATABASE_URL: "localhost:5432" }, "DATABASE_URL", "must be a postgres:// or postgresql:// URL"],
    [{ PAYMENT_FAILURE_RATE: "2" }, "PAYMENT_FAILURE_RATE", 'must be a number from 0 to 1 (got "2")'],
    [{ PAYMENT_HANG_RATE: "-0.1" }, "PAYMENT_HANG_RATE", "must be a number from 0 to 1"],
    [{ SALE_ITEMS: "0" }, "SALE_ITEMS", 'must be an integer from 1 to 1000000 (got "0")'],
    [
      { PAYMENT_LATENCY_MIN_MS: "500", PAYMENT_LATENCY_MAX_MS: "100" },
      "PAYMENT_LATENCY_MIN_MS",
      "must not exceed PAYMENT_LATENCY_MAX_MS, which is 100",
    ],
    [{ NODE_ENV: "production" }, "ADMIN_PASSWORD", "must be set when NODE_ENV is production"],
    [{ NODE_ENV: "prod" }, "NODE_ENV", "must be one of development, production, test"],
    [{ SCHEDULER_HOURLY: "yes" }, "SCHEDULER_HOURLY", "must be true or false"],
    [{ REDIS_PREFIX: "my:prefix" }, "REDIS_PREFIX", "must be 1 to 32 letters, digits, _ or -"],
  ])("%o → config: %s …", (env, name, expects) => {
    const message = configError(env);
    expect(message.startsWith(`config: ${name} `)).toBe(true);
    expect(message).toContain(expects);
    expect(message).not.toContain("\n");
    expect(message).not.toMatch(ZOD_WORDING);
  });

  it("a password in a bad URL stays out of the message", () => {
    const message = configError({ REDIS_URL: "http://user:s3cret@cache:6379" });
    expect(message).toMatch(/^config: REDIS_URL /);
    expect(message).not.toContain("s3cret");
  });

  it("an empty environment starts with working defaults, and empty values count as unset", () => {
    const cfg = parseConfig({ PORT: "", SALE_ITEMS: "" });
    expect(cfg).toMatchObject({
      PORT: 3000,
      SALE_ITEMS: 10_000,
      SCHEDULER_HOURLY: true,
      NODE_ENV: "development",
    });
  });

  it("production with ADMIN_PASSWORD set is accepted", () => {
    expect(parseConfig({ NODE_ENV: "production", ADMIN_PASSWORD: "pw" }).ADMIN_PASSWORD).toBe("pw");
  });
});

describe.concurrent("a process that cannot start says why in one line and exits 1", () => {
  it.each([
    ["api", { PORT: "abc" }, /^config: PORT must be an integer from 0 to 65535 \(got "abc"\)$/],
    ["worker", { REDIS_URL: "http://x" }, /^config: REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
    ["scheduler", { SALE_ITEMS: "0" }, /^config: SALE_ITEMS must be an integer from 1 to 1000000/],
  ] as const)("%s with %o", async (role, extra, line) => {
    expectOneLineFailure(await runUntilExit(role, machineEnv(extra)), line);
  });

  it("api with REDIS_URL on a closed port: Redis cannot be reached, start it with npm run services", async () => {
    const port = await freePort();
    const exit = await runUntilExit("api", machineEnv({ REDIS_URL: `redis://127.0.0.1:${port}` }));
    expectOneLineFailure(
      exit,
      new RegExp(`^cannot reach Redis at 127\\.0\\.0\\.1:${port} .*npm run services$`),
    );
  });

  it("api with DATABASE_URL on a closed port: PostgreSQL cannot be reached, start it with npm run services", async () => {
    const port = await freePort();
    const exit = await runUntilExit(
      "api",
      machineEnv({ DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/flashsale` }),
    );
    expectOneLineFailure(
      exit,
      new RegExp(`^cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port} \\(DATABASE_URL.*npm run services$`),
    );
  });
});

describe("npm start (scripts/start.ts)", () => {
  it("uses a REDIS_URL that is set as given: starts nothing there, and says in one line it cannot reach it", async () => {
    const port = await freePort();
    const exit = await runFileUntilExit(
      "scripts/start.ts",
      machineEnv({ REDIS_URL: `redis://127.0.0.1:${port}` }),
    );
    expect(exit.stdout).toMatch(/^start: redis: REDIS_URL is set: using it as given$/m);
    expectOneLineFailure(exit, new RegExp(`^cannot reach Redis at 127\\.0\\.0\\.1:${port} \\(REDIS_URL\\)`));
    expect(await answers("127.0.0.1", port)).toBe(false);
  });

  it("runs api, worker and scheduler; Ctrl-C stops all three cleanly", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
      cwd: root,
      env: machineEnv({ PORT: String(port) }),
    });
    let out = "";
    const collect = (d: Buffer) => {
      out += d.toString();
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const exited = once(child, "exit") as Promise<[number | null, string | null]>;
    try {
      const deadline = Date.now() + 60_000;
      let healthy = false;
      while (!healthy && Date.now() < deadline && child.exitCode === null) {
        healthy = await fetch(`http://127.0.0.1:${port}/health`).then(
          (r) => r.ok,
          () => false,
        );
        if (!healthy) await sleep(250);
      }
      expect(healthy, out).toBe(true);
      // The worker and the scheduler are up too: each has logged that it runs.
      const deadlineRoles = Date.now() + 30_000;
      while (!/"name":"worker"/.test(out) || !/"name":"scheduler"/.test(out)) {
        expect(Date.now() < deadlineRoles, out).toBe(true);
        await sleep(250);
      }
    } finally {
      child.kill("SIGINT");
    }
    const [code] = await exited;
    expect(code, out).toBe(0);
    for (const role of ["api", "worker", "scheduler"])
      expect(out, role).toMatch(new RegExp(`"name":"${role}".*"msg":"stopping"`));
  }, 120_000);
});
