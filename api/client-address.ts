import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";
import { header } from "./node-request.js";

// When the request did not come through a Node socket (app.request in a script):
// such requests all share one client bucket.
const UNKNOWN = "unknown";

/**
 * Who sent the request, for the per-client rate limit: the socket's remote
 * address. X-Forwarded-For is anyone's to write, so it counts only behind a
 * proxy we trust (TRUST_PROXY), and then only its last entry, the one that proxy
 * appended; entries before it came from the client.
 */
export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = header(c, "x-forwarded-for");
    const last = forwarded?.split(",").at(-1)?.trim();
    if (last) return last;
  }
  try {
    return getConnInfo(c).remote.address ?? UNKNOWN;
  } catch {
    return UNKNOWN;
  }
}
