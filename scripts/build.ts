import { spawnSync } from "node:child_process";
import { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// `npm run build`: the processes compiled to dist/ (tsconfig.build.json), and beside the
// JavaScript every file they read at run time, at the same relative path, so
// `new URL("./x.lua", import.meta.url)` finds in dist/ what it finds in the sources.

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist");
// In these folders whatever is not TypeScript is read at run time: Lua scripts, the pages.
const COMPILED = ["api", "worker", "scheduler", "shared"];

// From scratch: a file moved or removed in the sources must not live on in dist/.
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const built = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit",
});
if (built.status !== 0) process.exit(built.status ?? 1);

let copied = 0;
for (const dir of COMPILED) {
  for (const file of readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })) {
    const from = join(root, dir, file);
    // Folders come along with their files.
    if (file.endsWith(".ts") || !statSync(from).isFile()) continue;
    cpSync(from, join(dist, dir, file));
    copied++;
  }
}
// The migrations, which shared/db/migrate.ts reads from ../../drizzle.
cpSync(join(root, "drizzle"), join(dist, "drizzle"), { recursive: true });
// api/openapi.ts reads its version from ../package.json; "type" makes dist/ an ES module scope.
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Record<string, unknown>;
const { name, version, description, type } = pkg;
writeFileSync(
  join(dist, "package.json"),
  `${JSON.stringify({ name, version, description, type, private: true }, null, 2)}\n`,
);
process.stdout.write(`build: dist/ compiled, ${copied} files copied beside it, and the migrations\n`);
