import { basicAuth } from "hono/basic-auth";
import type { Config } from "../shared/config.js";

/** HTTP Basic auth for /admin; hono compares credentials in constant time. */
export function adminAuth(cfg: Config) {
  return basicAuth({
    username: cfg.ADMIN_USER,
    password: cfg.ADMIN_PASSWORD,
    realm: "flash-sale admin",
    invalidUserMessage: { error: { code: "unauthorized", message: "valid admin credentials are required" } },
  });
}
