import { readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { AppError } from "../../shared/errors.js";

// The live sale page: plain files, no build step. They are read once at start,
// so a request never touches the disk and a missing file fails the start, not a
// request in the middle of a sale.
const PAGE_DIR = fileURLToPath(new URL("../admin-page/", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
};

// Everything the page needs comes from this server: the policy makes a stray
// CDN link fail loudly in the browser instead of quietly needing the network.
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
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type) assets.set(name, { body: readFileSync(join(dir, name), "utf8"), type });
  }
  if (!assets.has("index.html")) throw new Error(`admin page: no index.html in ${dir}`);
  return assets;
}

/** `GET /admin` (the page) and `GET /admin/assets/<file>`; the admin auth in front covers both. */
export function adminPageRoutes(dir = PAGE_DIR) {
  const assets = loadAssets(dir);
  const serve = (name: string) => {
    const asset = assets.get(name);
    if (!asset) throw new AppError("not_found", `no admin asset ${name}`);
    return new Response(asset.body, {
      headers: {
        "content-type": asset.type,
        // Revalidate each load, so a redeploy shows at once; the files are small.
        "cache-control": "no-cache",
        "content-security-policy": CSP,
        "x-content-type-options": "nosniff",
      },
    });
  };
  return new Hono()
    .get("/admin", () => serve("index.html"))
    .get("/admin/", () => serve("index.html"))
    .get("/admin/assets/:file", (c) => {
      const file = c.req.param("file");
      // Only the files read at start: no paths, so nothing outside the folder.
      return serve(file === "index.html" ? "" : file);
    });
}
