// The panel of recent admin actions (GET /admin/actions): who changed what under
// /admin, from any API process, newest first.

import { apiUrl, field } from "./util.js";

/** The request as one short line: `{"delta":5}`, or the path parameters and body together. */
function describe(request) {
  if (!request) return "";
  const parts = [];
  if (request.param) parts.push(JSON.stringify(request.param));
  if (request.query) parts.push(`?${new URLSearchParams(request.query)}`);
  if (request.json) parts.push(JSON.stringify(request.json));
  return parts.join(" ");
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function row(a) {
  const tr = document.createElement("tr");
  tr.dataset.outcome = a.outcome === "ok" ? "ok" : "error";
  const time = new Date(a.at).toLocaleTimeString("en-GB", { timeZone: "UTC" });
  tr.append(
    cell(time, "when"),
    cell(a.user || "?"),
    cell(`${a.method} ${a.path}`, "what"),
    cell(describe(a.request), "request"),
    cell(a.sale_id ? `${a.outcome} · sale ${a.sale_id}` : a.outcome, "outcome"),
  );
  return tr;
}

/** Reads the actions and redraws the panel when they changed. */
export async function refreshAdminLog() {
  const res = await fetch(apiUrl("/admin/actions"), { cache: "no-store" });
  if (!res.ok) throw new Error(`GET /admin/actions answered ${res.status}`);
  const { actions } = await res.json();
  const body = field("admin-log.rows");
  const key = `${actions.length}:${actions[0]?.at ?? ""}`;
  if (body.dataset.key === key) return;
  body.dataset.key = key;
  body.replaceChildren(...actions.map(row));
  field("admin-log.empty").hidden = actions.length > 0;
}
