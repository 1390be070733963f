import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import type { Context } from "hono";

// The two pages (the storefront, the operators' live page) are plain files, no build step.
// They are read once at start, so a request never touches the disk and a missing file
// fails the start, not a request in the middle of a sale.

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
};

// Everything a page needs comes from this server: the policy makes a stray CDN or outside
// link fail loudly in the browser instead of quietly needing the network or leaking.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

export interface PageFile {
  body: string;
  type: string;
  etag: string;
}

/** A page's files by name (those of a known type); `what` names the page in the start error. */
export function loadPageFiles(dir: string, what: string): Map<string, PageFile> {
  const files = new Map<string, PageFile>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = readFileSync(join(dir, name), "utf8");
    files.set(name, { body, type, etag: `"${createHash("sha1").update(body).digest("base64url")}"` });
  }
  if (!files.has("index.html")) throw new Error(`${what}: no index.html in ${dir}`);
  return files;
}

/** One file, revalidated on every load (a 304 when unchanged), so a redeploy shows at once. */
export function sendPageFile(c: Context, f: PageFile): Response {
  const headers = {
    etag: f.etag,
    "cache-control": "no-cache",
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
  };
  if (c.req.header("if-none-match") === f.etag) return new Response(null, { status: 304, headers });
  return new Response(f.body, { headers: { ...headers, "content-type": f.type } });
}
