import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context } from "hono";
import type { Hangup } from "../shared/ticket/wait.js";

// What @hono/node-server hands every request besides the WHATWG view of it: Node's
// own request and response (c.env.incoming / c.env.outgoing). Absent when a request
// does not come through a Node socket (app.request in a script).
interface NodeBindings {
  incoming?: IncomingMessage;
  outgoing?: ServerResponse;
}

const bindings = (c: Context): NodeBindings | undefined => c.env as NodeBindings | undefined;

/**
 * A request header (`name` in lower case), from the headers Node has already
 * parsed: c.req.header() goes through a Headers facade that copies the raw header
 * list for some names, and any iteration of it builds a full WHATWG Headers.
 */
export function header(c: Context, name: string): string | undefined {
  const incoming = bindings(c)?.incoming;
  if (!incoming) return c.req.header(name);
  const value = incoming.headers[name];
  // Only set-cookie comes as a list; joined as the WHATWG Headers would.
  return Array.isArray(value) ? value.join(", ") : value;
}

/** The client's connection, which tells a wait when it is gone (see shared/ticket/wait.ts). */
export function hangupOf(c: Context): Hangup | undefined {
  return bindings(c)?.outgoing;
}
