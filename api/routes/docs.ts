import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import swaggerUiDir from "swagger-ui-dist/absolute-path.js";
import { AppError } from "../../shared/errors.js";
import { errors, json, other, router } from "../openapi.js";

// The docs page is Swagger UI from the installed swagger-ui-dist: its files are
// read once at start and served from here, so the page needs no network. The
// policy makes any stray request elsewhere fail in the browser, not quietly load.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // Swagger UI sets inline styles on its elements.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

// Relative links, so the page also works behind a proxy that adds a prefix.
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Flash sale API</title>
<link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/assets/init.js"></script>
</body>
</html>
`;

// A file, not an inline script, so the policy can forbid inline scripts.
// validatorUrl null: Swagger UI would otherwise send the document to validator.swagger.io.
const INIT = `window.ui = SwaggerUIBundle({
  url: new URL("openapi.json", window.location.href).href,
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  layout: "BaseLayout",
});
`;

const TYPES: Record<string, string> = {
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  png: "image/png",
};
const FROM_PACKAGE = ["swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"];

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
  etag: string;
}

function asset(name: string, body: Uint8Array<ArrayBuffer>): Asset {
  const type = TYPES[name.slice(name.lastIndexOf(".") + 1)] ?? "application/octet-stream";
  return { body, type, etag: `"${createHash("sha1").update(body).digest("base64url")}"` };
}

function loadAssets(): Map<string, Asset> {
  const dir = swaggerUiDir();
  const assets = new Map<string, Asset>();
  for (const name of FROM_PACKAGE) {
    let body = readFileSync(join(dir, name));
    // Its source map is not served; without the comment devtools would ask for it.
    if (name.endsWith(".css"))
      body = Buffer.from(body.toString("utf8").replace(/\/\*# sourceMappingURL=.*\*\//, ""));
    assets.set(name, asset(name, body));
  }
  assets.set("init.js", asset("init.js", Buffer.from(INIT)));
  return assets;
}

const documentRoute = createRoute({
  method: "get",
  path: "/openapi.json",
  tags: ["docs"],
  summary: "This document (OpenAPI 3.1)",
  responses: { 200: json(z.record(z.string(), z.unknown()), "The OpenAPI document.") },
});

const pageRoute = createRoute({
  method: "get",
  path: "/docs",
  tags: ["docs"],
  summary: "The API docs page (Swagger UI, served from this server)",
  responses: { 200: other("text/html", "The page.") },
});

const assetRoute = createRoute({
  method: "get",
  path: "/docs/assets/{file}",
  tags: ["docs"],
  summary: "The docs page's scripts, styles and icon",
  request: { params: z.object({ file: z.string().openapi({ example: "swagger-ui.css" }) }) },
  responses: {
    200: {
      description: "The file.",
      content: {
        "text/css": { schema: z.string() },
        "text/javascript": { schema: z.string() },
        "image/png": { schema: z.string().openapi({ format: "binary" }) },
      },
    },
    304: { description: "Not modified since the `ETag` the client sent." },
    ...errors("not_found"),
  },
});

function send(c: Context, a: Asset): Response {
  // Revalidated on every load (cheap: a 304), so an upgrade shows at once.
  const headers = { etag: a.etag, "cache-control": "no-cache", "x-content-type-options": "nosniff" };
  if (c.req.header("if-none-match") === a.etag) return new Response(null, { status: 304, headers });
  return new Response(a.body, { headers: { ...headers, "content-type": a.type } });
}

/** `/openapi.json`, and Swagger UI at `/docs` reading it. */
export function docsRoutes(document: () => object) {
  const assets = loadAssets();
  return router()
    .openapi(documentRoute, (c) => c.json(document(), 200))
    .openapi(pageRoute, (c) => {
      c.header("content-security-policy", CSP);
      c.header("cache-control", "no-cache");
      return c.html(PAGE);
    })
    .openapi(assetRoute, (c) => {
      const name = c.req.valid("param").file;
      const found = assets.get(name);
      if (!found) throw new AppError("not_found", `no docs asset ${name}`);
      return send(c, found);
    });
}
