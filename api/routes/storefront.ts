import { fileURLToPath } from "node:url";
import { createRoute, z } from "@hono/zod-openapi";
import { AppError } from "../../shared/errors.js";
import { errors, other, router } from "../openapi.js";
import { loadPageFiles, type PageFile, sendPageFile } from "../page-files.js";

// The shoppers' page: plain files in api/storefront/ (../page-files.ts). Item pictures
// point elsewhere, so under the page's self-only policy it shows none.
const PAGE_DIR = fileURLToPath(new URL("../storefront/", import.meta.url));

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

/** `GET /` (the page) and `GET /storefront/<file>` (its script and style). */
export function storefrontRoutes(dir = PAGE_DIR) {
  const assets = loadPageFiles(dir, "storefront");
  const page = assets.get("index.html") as PageFile;
  const app = router();
  // Plain handlers (the answers are files, not JSON), listed in the API document.
  app.openAPIRegistry.registerPath(pageRoute);
  app.openAPIRegistry.registerPath(assetRoute);
  return app
    .get("/", (c) => sendPageFile(c, page))
    .get("/storefront/:file", (c) => {
      const name = c.req.param("file");
      // Only the files read at start, by name: nothing outside the folder.
      const found = name === "index.html" ? undefined : assets.get(name);
      if (!found) throw new AppError("not_found", `no storefront file ${name}`);
      return sendPageFile(c, found);
    });
}
