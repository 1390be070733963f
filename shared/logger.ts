import pino from "pino";
import type { Config } from "./config.js";

export type Logger = pino.Logger;

/** JSON lines in production; readable lines when a person watches a terminal. */
export function createLogger(name: string, cfg: Pick<Config, "LOG_LEVEL" | "NODE_ENV">): Logger {
  const pretty = process.stdout.isTTY && cfg.NODE_ENV !== "production";
  return pino({
    name,
    level: cfg.LOG_LEVEL,
    redact: ["req.headers.authorization", "password"],
    ...(pretty ? { transport: { target: "pino-pretty", options: { translateTime: "HH:MM:ss.l" } } } : {}),
  });
}
