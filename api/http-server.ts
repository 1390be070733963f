import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from "node:http";
import { getRequestListener, RequestError } from "@hono/node-server";

// Requests refused before Hono sees them would otherwise leave with a bare 400
// and no body: Node's own check for a Host header, and @hono/node-server's for a
// URL it cannot build ("GET *", a bad Host, a backslash in the path). Here they
// get the contract's error body like every other refusal.

// Connections waiting to be accepted. A crowd that connects in the same instant overflows
// Node's default of 511, and each dropped SYN costs its client a 1 s, 3 s, 7 s retry; the
// kernel caps this at net.core.somaxconn (4096 on current Linux).
const LISTEN_BACKLOG = 4096;
const CHECK_TIMEOUTS_MS = 1000;

const errorBody = (message: string) => JSON.stringify({ error: { code: "invalid_request", message } });

function refuse(res: ServerResponse, message: string) {
  const body = errorBody(message);
  res.writeHead(400, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    connection: "close",
  });
  res.end(body);
}

function hostHeaders(req: IncomingMessage): number {
  let n = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]?.toLowerCase() === "host") n++;
  return n;
}

/** For serve()'s `createServer`: Node's HTTP server, with every refusal in the contract's shape. */
export function contractServer(
  fetch: Parameters<typeof getRequestListener>[0],
  hostname: string,
  onInternal?: (err: unknown) => void,
  limits: Pick<ServerOptions, "headersTimeout" | "requestTimeout"> = {},
) {
  const listener = getRequestListener(fetch, {
    hostname,
    errorHandler: (err) => {
      // Only a request that could not be built is the client's fault; anything
      // else that escaped Hono is ours, and is logged and answered 500.
      if (err instanceof RequestError) {
        return new Response(errorBody("the request URL or Host header is malformed"), {
          status: 400,
          headers: { "content-type": "application/json" },
        });
      }
      onInternal?.(err);
      return new Response(JSON.stringify({ error: { code: "internal", message: "internal error" } }), {
        status: 500,
        headers: { "content-type": "application/json" },
      });
    },
  });
  // serve() calls it as createServer(serverOptions, its own listener): ours replaces that listener.
  const make = (options: ServerOptions) => {
    // Node's Host check answers without a body: ours answers the same 400 with one.
    const server = createServer(
      {
        ...options,
        ...limits,
        requireHostHeader: false,
        // How often Node looks for requests past headersTimeout / requestTimeout (default 30 s):
        // a client sending its headers byte by byte is cut off within a second of its timeout.
        connectionsCheckingInterval: CHECK_TIMEOUTS_MS,
      },
      (req, res) => {
        const hosts = hostHeaders(req);
        // HTTP/1.1 requires exactly one Host (RFC 9112 §3.2); two is a smuggling attempt.
        if (hosts > 1 || (hosts === 0 && req.httpVersion === "1.1"))
          return refuse(res, hosts ? "more than one Host header" : "a Host header is required");
        void listener(req, res);
      },
    );
    // serve() listens as listen(port, hostname, callback), with Node's default queue of 511.
    const listen = server.listen.bind(server) as (...args: unknown[]) => Server;
    server.listen = ((port: number, host: string, cb: () => void) =>
      listen(port, host, LISTEN_BACKLOG, cb)) as Server["listen"];
    return server;
  };
  return make as unknown as typeof createServer;
}
