import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { heartbeatFile } from "../shared/process.js";
import { testConfig } from "../tools/harness/env.js";
import { envOf, freePort } from "../tools/harness/processes.js";

// `npm run build` is what the image runs (Dockerfile, docker-compose.yml): built here for
// real, its output is run with plain node, no tsx, as the containers run it.

const root = fileURLToPath(new URL("..", import.meta.url));
const at = (path: string) => `${root}${path}`;
// The folders compiled, and the migrations the processes read from beside them.
const COMPILED = ["api", "worker", "scheduler", "shared"];
const SKIPPED = new Set(["node_modules", "dist", ".git", ".data"]);

function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(cmd, args, { cwd: root });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, out })));
}

/** Every file under `dir` (relative to the checkout), past the folders the checkout does not keep. */
function filesUnder(dir: string): string[] {
  return readdirSync(at(dir), { withFileTypes: true })
    .filter((e) => !SKIPPED.has(e.name))
    .flatMap((e) => {
      const path = dir === "." ? e.name : `${dir}/${e.name}`;
      return e.isDirectory() ? filesUnder(path) : e.isFile() ? [path] : [];
    });
}

const healthcheck = (...args: string[]) =>
  spawnSync(process.execPath, ["dist/scripts/healthcheck.js", ...args], { cwd: root, timeout: 10_000 })
    .status;

beforeAll(async () => {
  const built = await run("npm", ["run", "build"]);
  expect(built.out).toMatch(/build: dist\/ compiled/);
  expect(built.code).toBe(0);
}, 240_000);

describe("npm run build", () => {
  it("compiles every TypeScript file the processes run, and copies every other file of theirs", () => {
    for (const dir of COMPILED)
      for (const file of filesUnder(dir)) {
        if (file.endsWith(".ts"))
          expect(existsSync(at(`dist/${file.replace(/\.ts$/, ".js")}`)), file).toBe(true);
        else expect(readFileSync(at(`dist/${file}`), "utf8"), file).toBe(readFileSync(at(file), "utf8"));
      }
    for (const file of filesUnder("drizzle"))
      expect(readFileSync(at(`dist/${file}`), "utf8"), file).toBe(readFileSync(at(file), "utf8"));
  });

  it("has every .lua file of the source tree at the same place in dist/", () => {
    const lua = filesUnder(".").filter((f) => f.endsWith(".lua"));
    expect(lua.length).toBeGreaterThan(0);
    for (const file of lua)
      expect(readFileSync(at(`dist/${file}`), "utf8"), file).toBe(readFileSync(at(file), "utf8"));
  });

  it("leaves nothing in dist/ that imports or reads a .ts file at run time", () => {
    const tsPath = /(?:from |import\(|new URL\(|readFileSync\()\s*["'`][^"'`\n]*\.ts["'`]/;
    for (const file of filesUnder("dist").filter((f) => f.endsWith(".js")))
      expect(readFileSync(at(file), "utf8"), file).not.toMatch(tsPath);
  });

  it("has every file the image's runtime stage copies from the build", () => {
    const copied = [...readFileSync(at("Dockerfile"), "utf8").matchAll(/^COPY --from=build \/app\/(\S+)/gm)];
    expect(copied.map((m) => m[1])).toContain("dist");
    for (const m of copied) expect(existsSync(at(m[1] as string)), m[1]).toBe(true);
  });

  it("has a health check that loads nothing but Node's own modules", () => {
    const imports = [...readFileSync(at("dist/scripts/healthcheck.js"), "utf8").matchAll(/from "([^"]+)"/g)];
    expect(imports.length).toBeGreaterThan(0);
    for (const m of imports) expect(m[1]).toMatch(/^node:/);
  });

  it("the health check reads the heartbeat the processes write: fresh is healthy, 30 s old is not", () => {
    const name = `build-test-${process.pid}`;
    const file = heartbeatFile(name);
    try {
      writeFileSync(file, String(Date.now()));
      expect(healthcheck(name)).toBe(0);
      const old = new Date(Date.now() - 31_000);
      utimesSync(file, old, old);
      expect(healthcheck(name)).toBe(1);
    } finally {
      rmSync(file, { force: true });
    }
    expect(healthcheck(name)).toBe(1);
  });
});

describe("the built API, run with plain node", () => {
  let api: ChildProcess;
  let out = "";
  let port = 0;
  let exited: Promise<number | string>;

  beforeAll(async () => {
    port = await freePort();
    api = spawn(process.execPath, ["dist/api/main.js"], {
      cwd: root,
      env: envOf(testConfig(), { PORT: String(port) }),
    });
    exited = new Promise((resolve) => api.on("exit", (code, signal) => resolve(signal ?? code ?? 0)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`dist/api/main.js not listening in 60 s:\n${out}`)),
        60_000,
      );
      const onData = (d: Buffer) => {
        out += d.toString();
        if (/api listening/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      api.stdout?.on("data", onData);
      api.stderr?.on("data", onData);
      void exited.then((code) => reject(new Error(`dist/api/main.js exited (${code}):\n${out}`)));
    });
  }, 90_000);

  afterAll(async () => {
    if (api && api.exitCode === null) api.kill("SIGKILL");
  });

  it("answers /health with 200, and so does the image's health check", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    expect(res.status).toBe(200);
    expect(healthcheck("api", String(port))).toBe(0);
  });

  it("serves the storefront, the API reference and its document (files read beside the build)", async () => {
    const pkg = JSON.parse(readFileSync(at("package.json"), "utf8")) as { version: string };
    const doc = (await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json()) as {
      info: { version: string };
    };
    expect(doc.info.version).toBe(pkg.version);
    for (const path of ["/", "/storefront/app.js", "/docs"])
      expect((await fetch(`http://127.0.0.1:${port}${path}`)).status, path).toBe(200);
  });

  it("stops cleanly on SIGTERM, after which the health check fails", async () => {
    api.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(healthcheck("api", String(port))).toBe(1);
  });
});
