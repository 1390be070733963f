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
const compose = parse(read("docker-compose.yml"), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const APP = ["api", "worker", "scheduler", "migrate"];

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

  it.each(APP)("%s runs a file that exists", (name) => {
    const command = services[name]?.command ?? [];
    const file = command.find((c) => c.endsWith(".ts"));
    expect(file).toBeDefined();
    expect(existsSync(new URL(file as string, root))).toBe(true);
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
  it("builds in stages on Node 20 and runs slim, as a non-root user, with a health check", () => {
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f).toMatch(/^node:20-.*slim$/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
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

  it("copies folders that exist", () => {
    for (const m of dockerfile.matchAll(/^COPY --from=build \/app\/(\S+)/gm)) {
      expect(existsSync(new URL(m[1] as string, root))).toBe(true);
    }
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
