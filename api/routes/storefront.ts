import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { AppError } from "../../shared/errors.js";
import { errors, other, router } from "../openapi.js";

// The shoppers' page: plain files in api/storefront/, no build step. They are read once
// at start, so a request never touches the disk and a missing file fails the start.
const PAGE_DIR = fileURLToPath(new URL("../storefront/", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
};

// Everything the page needs comes from this server (item pictures point elsewhere, so the
// page shows none): a stray outside link fails loudly in the browser instead of leaking.
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

interface Asset {
  body: string;
  type: string;
  etag: string;
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = readFileSync(join(dir, name), "utf8");
    assets.set(name, { body, type, etag: `"${createHash("sha1").update(body).digest("base64url")}"` });
  }
  if (!assets.has("index.html")) throw new Error(`storefront: no index.html in ${dir}`);
  return assets;
}

const pageRoute = createRoute({
  method: "get",
  path: "/",
  tags: ["shoppers"],
  summary: "The storefront page",
  description:
    "A page for shoppers: the open sales and their items, a Buy button per item, each ticket followed live through its event stream, with Pay and Cancel.",
  responses: { 200: other("text/html", "The page."), 304: { description: "Not modified." } },
});

const assetRoute = createRoute({
  method: "get",
  path: "/storefront/{file}",
  tags: ["shoppers"],
  summary: "The storefront's script and style",
  request: { params: z.object({ file: z.string().openapi({ example: "app.js" }) }) },
  responses: {
    200: {
      description: "The file.",
      content: { "text/css": { schema: z.string() }, "text/javascript": { schema: z.string() } },
    },
    304: { description: "Not modified since the `ETag` the client sent." },
    ...errors("not_found"),
  },
});

function send(c: Context, a: Asset): Response {
  // Revalidated on every load (a 304 when unchanged), so a redeploy shows at once.
  const headers = {
    etag: a.etag,
    "cache-control": "no-cache",
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
  };
  if (c.req.header("if-none-match") === a.etag) return new Response(null, { status: 304, headers });
  return new Response(a.body, { headers: { ...headers, "content-type": a.type } });
}

/** `GET /` (the page) and `GET /storefront/<file>` (its script and style). */
export function storefrontRoutes(dir = PAGE_DIR) {
  const assets = loadAssets(dir);
  const page = assets.get("index.html") as Asset;
  const app = router();
  // Plain handlers (the answers are files, not JSON), listed in the API document.
  app.openAPIRegistry.registerPath(pageRoute);
  app.openAPIRegistry.registerPath(assetRoute);
  return app
    .get("/", (c) => send(c, page))
    .get("/storefront/:file", (c) => {
      const name = c.req.param("file");
      // Only the files read at start, by name: nothing outside the folder.
      const found = name === "index.html" ? undefined : assets.get(name);
      if (!found) throw new AppError("not_found", `no storefront file ${name}`);
      return send(c, found);
    });
}
