import type { Context, MiddlewareHandler } from "hono";
import type { Deps } from "../shared/deps.js";
import { clientAddress } from "./client-address.js";
import { loggerOf } from "./logging.js";

// The admin action log: one line per request that may change something under /admin
// (a sale created, payments or a profile switched, stock adjusted, a job retried or
// cleaned on the queue dashboard), with who sent it, what it asked and how it ended.
// The line goes to the process's log; the newest ones also to a capped list in Redis,
// which the live page shows. Redis rather than each process's memory: behind a load
// balancer the page's polls reach any API process, and each would show only its own.

/** Entries the Redis list keeps: the live page shows them all. */
export const ADMIN_ACTIONS_KEPT = 50;

// Methods that only read: not logged.
const READS = new Set(["GET", "HEAD", "OPTIONS"]);
// A body is logged as given up to these sizes; past them, a count or a cut.
const MAX_LIST = 5;
const MAX_TEXT = 80;
const MAX_DEPTH = 3;

export interface AdminAction {
  at: string;
  user: string;
  from: string;
  method: string;
  path: string;
  status: number;
  /** "ok", or the error code the answer carried. */
  outcome: string;
  /** The validated request (body, query, path parameters), shortened; null when none was. */
  request: Record<string, unknown> | null;
  /** The sale the answer names (a sale created), if any. */
  sale_id?: string;
}

/** A value short enough for one log line: long lists as their length, long text cut. */
function brief(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}…` : value;
  if (Array.isArray(value)) {
    if (value.length > MAX_LIST || depth >= MAX_DEPTH) return `${value.length} entries`;
    return value.map((v) => brief(v, depth + 1));
  }
  if (value && typeof value === "object") {
    if (depth >= MAX_DEPTH) return "{…}";
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, brief(v, depth + 1)]));
  }
  return value;
}

/** What the route's validators accepted: only what passed a schema is logged, never raw input. */
function validated(c: Context): Record<string, unknown> | null {
  const out: Record<string, unknown> = {};
  for (const target of ["param", "query", "json"] as const) {
    // Hono keeps validated data on the request; `valid` is typed per route, unknown here.
    const data = (c.req.valid as (t: string) => unknown)(target);
    if (data && typeof data === "object" && Object.keys(data).length > 0) out[target] = brief(data);
  }
  return Object.keys(out).length > 0 ? out : null;
}

/** The answer's error code, or the sale it names: read from a copy, the answer goes out as it is. */
async function answerOf(res: Response): Promise<{ code?: string; saleId?: string }> {
  if (!res.headers.get("content-type")?.includes("application/json")) return {};
  const body = (await res
    .clone()
    .json()
    .catch(() => null)) as { error?: { code?: unknown }; sale_id?: unknown } | null;
  return {
    code: typeof body?.error?.code === "string" ? body.error.code : undefined,
    saleId: typeof body?.sale_id === "string" ? body.sale_id : undefined,
  };
}

/** Logs, and keeps in Redis, every request under /admin that is not a read. Behind the admin auth. */
export function adminActionLog(deps: Deps): MiddlewareHandler {
  return async (c, next) => {
    if (READS.has(c.req.method)) return next();
    await next();
    const { code, saleId } = await answerOf(c.res);
    const action: AdminAction = {
      at: new Date().toISOString(),
      // Behind the admin auth (api/app.ts), which lets in its one configured user only.
      user: deps.cfg.ADMIN_USER,
      from: clientAddress(c, deps.cfg.TRUST_PROXY),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      outcome: c.res.status < 400 ? "ok" : (code ?? `status ${c.res.status}`),
      request: validated(c),
      ...(saleId ? { sale_id: saleId } : {}),
    };
    const log = loggerOf(c, deps.log);
    log.info({ admin: action }, "admin action");
    // The change is made: a list Redis could not take costs the page a line, not the answer.
    await keepAction(deps, action).catch((err: unknown) =>
      log.warn({ err: String(err) }, "could not keep the admin action for the live page"),
    );
  };
}

async function keepAction(deps: Deps, action: AdminAction): Promise<void> {
  const key = deps.keys.adminActions;
  await deps.redis
    .multi()
    .lpush(key, JSON.stringify(action))
    .ltrim(key, 0, ADMIN_ACTIONS_KEPT - 1)
    .exec();
}

/** The newest `limit` admin actions, newest first, of every API process. */
export async function recentAdminActions(deps: Deps, limit = ADMIN_ACTIONS_KEPT): Promise<AdminAction[]> {
  const raw = await deps.redis.lrange(deps.keys.adminActions, 0, limit - 1);
  return raw.flatMap((line) => {
    try {
      return [JSON.parse(line) as AdminAction];
    } catch {
      return [];
    }
  });
}
