import { Agent, request } from "node:http";
import type { Tokens } from "./tokens.js";

// A small JSON client on node:http with one keep-alive agent. node:http costs
// less CPU per request than fetch in Node 20, and on a two-core machine the
// crowd shares the CPU with the system it measures.

export interface HttpAnswer {
  status: number;
  /** Parsed JSON, or null when the body is empty or not JSON. */
  body: unknown;
  /** Seconds from a Retry-After header, if any. */
  retryAfterS: number | null;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent with the admin's Basic credentials. */
  admin?: boolean;
  /**
   * The shopper the request is made for: with shopper tokens (`--jwt-secret`) it carries
   * `Authorization: Bearer` with that user's token; without, nothing is added.
   */
  user?: string;
  timeoutMs?: number;
}

export interface HttpClient {
  readonly base: URL;
  send(method: string, path: string, opts?: RequestOptions): Promise<HttpAnswer>;
  /**
   * Ends every request in flight (they fail as network errors) and refuses new
   * ones. One call instead of an AbortSignal per request: with thousands of
   * requests in flight, adding and removing their abort listeners cost the
   * crowd about a tenth of its CPU.
   */
  abortAll(): void;
  close(): void;
}

/** Raised for a request that got no HTTP answer (refused, reset, timed out, aborted). */
export class NetworkError extends Error {
  constructor(readonly code: string) {
    super(`network: ${code}`);
  }
}

// A request with no answer after this long counts as a network error; long
// polls add their wait on top.
const DEFAULT_TIMEOUT_MS = 30_000;

type Admin = { user: string; password: string };
/** Credentials a client adds: the admin's for `admin` requests, shopper tokens for `user` requests. */
type Auth = { admin?: Admin; tokens?: Tokens };

const agentOf = (sockets: number) =>
  new Agent({
    keepAlive: true,
    maxSockets: sockets,
    maxFreeSockets: sockets,
    scheduling: "lifo",
    noDelay: true,
  });

/** A client whose requests share one keep-alive agent of `connections` sockets (set-up and checks). */
export function createHttp(base: URL, opts: Auth & { connections: number }): HttpClient {
  const agent = agentOf(opts.connections);
  let aborted = false;
  const send = sender(base, agent, opts, () => aborted);
  return {
    base,
    send,
    abortAll() {
      aborted = true;
      agent.destroy();
    },
    close: () => agent.destroy(),
  };
}

/**
 * Connections for a crowd: each user in flight takes a lane (its own agent with
 * one keep-alive socket, as a shopper's browser has) and hands it to the next
 * user when it leaves. One shared agent with thousands of sockets would spend
 * the crowd's CPU on its socket lists (Node's agent removes a socket from its
 * list by a linear search on every request).
 */
export function createLanes(base: URL, opts: Auth) {
  const all: Agent[] = [];
  const idle: HttpClient[] = [];
  let aborted = false;
  const isAborted = () => aborted;
  const fresh = (): HttpClient => {
    const agent = agentOf(1);
    all.push(agent);
    return { base, send: sender(base, agent, opts, isAborted), abortAll: () => {}, close: () => {} };
  };
  return {
    take: (): HttpClient => idle.pop() ?? fresh(),
    give(lane: HttpClient) {
      idle.push(lane);
    },
    /**
     * Opens `n` lanes before the clock starts, `parallel` at a time, each with
     * one request to `path`. A thousand connections opened in the same instant
     * overflow the server's listen queue, and the dropped SYNs come back after
     * the kernel's 1 s, 3 s, 7 s retransmits: that would measure TCP, not the API.
     */
    async warm(n: number, path: string, parallel = 64) {
      const ready: HttpClient[] = [];
      let next = 0;
      const work = async () => {
        while (next++ < n) {
          const lane = fresh();
          await lane.send("GET", path).catch(() => {});
          ready.push(lane);
        }
      };
      await Promise.all(Array.from({ length: Math.min(parallel, n) }, work));
      idle.push(...ready);
    },
    /** Ends every request in flight on every lane, and refuses new ones. */
    abortAll() {
      aborted = true;
      for (const a of all) a.destroy();
    },
    close() {
      for (const a of all) a.destroy();
    },
  };
}

export type Lanes = ReturnType<typeof createLanes>;

/** One shopper's client: every request it sends is made for `user` (see `RequestOptions.user`). */
export function forUser(http: HttpClient, user: string): HttpClient {
  return { ...http, send: (method, path, o = {}) => http.send(method, path, { ...o, user }) };
}

function sender(base: URL, agent: Agent, auth: Auth, aborted: () => boolean) {
  const { admin, tokens } = auth;
  const adminAuth = admin
    ? `Basic ${Buffer.from(`${admin.user}:${admin.password}`).toString("base64")}`
    : null;
  const host = base.hostname.replace(/^\[|\]$/g, "");
  const port = Number(base.port || 80);
  const go = (method: string, path: string, o: RequestOptions, bearer: string | null): Promise<HttpAnswer> =>
    new Promise((resolve, reject) => {
      if (aborted()) return reject(new NetworkError("aborted"));
      const headers: Record<string, string> = { accept: "application/json" };
      let payload: string | undefined;
      if (o.body !== undefined) {
        payload = JSON.stringify(o.body);
        headers["content-type"] = "application/json";
        headers["content-length"] = String(Buffer.byteLength(payload));
      }
      if (o.admin) {
        if (!adminAuth) return reject(new Error("admin credentials are needed for this request"));
        headers.authorization = adminAuth;
      } else if (bearer) headers.authorization = bearer;
      const req = request({ host, port, method, path, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (err) => reject(new NetworkError(codeOf(err))));
        res.on("end", () => {
          const text =
            chunks.length === 1 ? (chunks[0] as Buffer).toString() : Buffer.concat(chunks).toString();
          const ra = res.headers["retry-after"];
          resolve({
            status: res.statusCode ?? 0,
            body: parseJson(text),
            retryAfterS: ra === undefined ? null : Number(ra),
          });
        });
      });
      req.setTimeout(o.timeoutMs ?? DEFAULT_TIMEOUT_MS, () => req.destroy(new NetworkError("timeout")));
      req.on("error", (err) => reject(err instanceof NetworkError ? err : new NetworkError(codeOf(err))));
      req.end(payload);
    });
  return (method: string, path: string, o: RequestOptions = {}): Promise<HttpAnswer> => {
    if (o.user === undefined || !tokens || o.admin) return go(method, path, o, null);
    // Minted on the user's first request, then kept: later ones add the header without waiting.
    const bearer = tokens.header(o.user);
    return typeof bearer === "string"
      ? go(method, path, o, bearer)
      : bearer.then((b) => go(method, path, o, b));
  };
}

function parseJson(text: string): unknown {
  if (text.length === 0) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function codeOf(err: unknown): string {
  const e = err as { code?: string; name?: string };
  if (e.name === "AbortError") return "aborted";
  return e.code ?? e.name ?? "error";
}

/** Refusals that mean "come back later": the client waits as Retry-After asks, then tries again. */
export const BUSY_CODES: ReadonlySet<string> = new Set(["overloaded", "unavailable", "rate_limited"]);

/** The error code of a JSON error body (`{"error": {"code"}}`), else null. */
export function errorCode(body: unknown): string | null {
  const e = (body as { error?: { code?: unknown } } | null)?.error;
  return typeof e?.code === "string" ? e.code : null;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[?::1\]?|\[?::ffff:127(\.\d{1,3}){3}\]?)$/i;

/** True for a host on this machine; anything else needs an explicit flag. */
export function isLoopback(url: URL): boolean {
  return LOOPBACK.test(url.hostname);
}
