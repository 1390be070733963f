import { isIPv6 } from "node:net";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";
import { header } from "./node-request.js";

// When the request did not come through a Node socket (app.request in a script):
// such requests all share one client bucket.
const UNKNOWN = "unknown";

/**
 * Who sent the request, for the per-client limits (rate, open waits): the socket's
 * remote address. X-Forwarded-For is anyone's to write, so it counts only behind a
 * proxy we trust (TRUST_PROXY), and then only its last entry, the one that proxy
 * appended; entries before it came from the client.
 */
export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = header(c, "x-forwarded-for");
    const last = forwarded?.split(",").at(-1)?.trim();
    if (last) return clientKey(last);
  }
  try {
    return clientKey(getConnInfo(c).remote.address ?? UNKNOWN);
  } catch {
    return UNKNOWN;
  }
}

/**
 * The limits' key for an address. An IPv6 host is usually given a whole /64 and can
 * change address within it at will, so it counts as one client by its /64; an IPv4
 * address written as IPv6 (::ffff:a.b.c.d) counts as the IPv4 address.
 */
export function clientKey(address: string): string {
  if (!isIPv6(address)) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  const [head = "", tail = ""] = address.split("%")[0]?.split("::") ?? [];
  const left = head ? head.split(":") : [];
  const right = address.includes("::") && tail ? tail.split(":") : [];
  // An embedded IPv4 tail (…:a.b.c.d) stands for two groups; it lies past the /64 anyway.
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}
