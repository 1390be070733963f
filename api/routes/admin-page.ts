import { fileURLToPath } from "node:url";
import { type Context, Hono } from "hono";
import { AppError } from "../../shared/errors.js";
import { loadPageFiles, sendPageFile } from "../page-files.js";

// The live sale page: plain files in api/admin-page/ (../page-files.ts).
const PAGE_DIR = fileURLToPath(new URL("../admin-page/", import.meta.url));

/** `GET /admin` (the page) and `GET /admin/assets/<file>`; the admin auth in front covers both. */
export function adminPageRoutes(dir = PAGE_DIR) {
  const assets = loadPageFiles(dir, "admin page");
  const serve = (c: Context, name: string) => {
    const file = assets.get(name);
    if (!file) throw new AppError("not_found", `no admin asset ${name}`);
    return sendPageFile(c, file);
  };
  return new Hono()
    .get("/admin", (c) => serve(c, "index.html"))
    .get("/admin/", (c) => serve(c, "index.html"))
    .get("/admin/assets/:file", (c) => {
      const file = c.req.param("file");
      // Only the files read at start: no paths, so nothing outside the folder.
      return serve(c, file === "index.html" ? "" : file);
    });
}
