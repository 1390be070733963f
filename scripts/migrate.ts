import { loadConfig } from "../shared/config.js";
import { runMigrations } from "../shared/db/migrate.js";

const cfg = loadConfig();
try {
  await runMigrations(cfg.DATABASE_URL);
  process.stdout.write("migrations applied\n");
} catch (err) {
  process.stderr.write(`migrate: cannot apply migrations to DATABASE_URL: ${String(err)}\n`);
  process.exit(1);
}
