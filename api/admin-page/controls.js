// The control panel: the payment simulator's raw settings and the named fault
// profiles. Every answer of the API, an error above all, shows next to the form.

import { apiUrl, field, setText } from "./util.js";

const settingsForm = () => document.getElementById("settings");
const profilesForm = () => document.getElementById("profiles");

// Inputs of the settings form and where each sits in the API's body.
const INPUTS = {
  failure_rate: (p) => p.failure_rate,
  hang_rate: (p) => p.hang_rate,
  latency_min: (p) => p.latency_ms?.min,
  latency_max: (p) => p.latency_ms?.max,
  timeout_ms: (p) => p.timeout_ms,
  slots: (p) => p.slots,
};
// The API names fields by path ("latency_ms.min: ..."); this maps them to inputs.
const INPUT_OF_PATH = {
  "latency_ms.min": "latency_min",
  "latency_ms.max": "latency_max",
  latency_ms: "latency_min",
};

let lastPayments = null;

async function send(method, path, body) {
  try {
    const res = await fetch(apiUrl(path), {
      method,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await res.json().catch(() => null);
    if (res.ok) return { ok: true, data };
    const message = data?.error?.message ?? `${res.status} ${res.statusText}`;
    return { ok: false, message: `${res.status} ${data?.error?.code ?? "error"}: ${message}` };
  } catch (err) {
    return { ok: false, message: `could not reach the API: ${err.message}` };
  }
}

function showStatus(name, kind, text) {
  const out = field(name);
  out.dataset.kind = kind;
  out.textContent = text;
}

const now = () => new Date().toLocaleTimeString("en-GB");

function markInvalid(form, message) {
  for (const input of form.querySelectorAll("input")) input.removeAttribute("aria-invalid");
  const path = /^([\w.]+):/.exec(message.replace(/^\d+ \w+: /, ""))?.[1];
  const id = path && (INPUT_OF_PATH[path] ?? path);
  const input = id && form.querySelector(`#${CSS.escape(id)}`);
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
}

/** Fills the inputs nobody is editing from the settings in force. */
function fillSettings(payments, force = false) {
  const form = settingsForm();
  for (const [id, pick] of Object.entries(INPUTS)) {
    const input = form.elements.namedItem(id);
    if (!force && (input.classList.contains("edited") || input === document.activeElement)) continue;
    const v = pick(payments);
    const text = v === undefined ? "" : String(Math.round(v * 10000) / 10000);
    if (input.value !== text) input.value = text;
  }
}

/** The edited fields as a PUT body, or an error naming the first field that is not a number. */
function settingsPatch(form) {
  const edited = (id) => form.elements.namedItem(id).classList.contains("edited");
  const value = (id) => {
    const raw = form.elements.namedItem(id).value.trim();
    if (raw === "" || !Number.isFinite(Number(raw))) throw new Error(`${id}: enter a number`);
    return Number(raw);
  };
  const body = {};
  // Only what was edited: while a profile is in force the other inputs show its
  // values, which must not be written into the settings underneath.
  for (const id of ["failure_rate", "hang_rate", "timeout_ms", "slots"]) if (edited(id)) body[id] = value(id);
  if (edited("latency_min") || edited("latency_max")) {
    body.latency_ms = { min: value("latency_min"), max: value("latency_max") };
  }
  return body;
}

async function applySettings(event) {
  event.preventDefault();
  const form = settingsForm();
  let body;
  try {
    body = settingsPatch(form);
  } catch (err) {
    showStatus("settings.status", "error", err.message);
    markInvalid(form, err.message);
    return;
  }
  if (Object.keys(body).length === 0) return showStatus("settings.status", "ok", "nothing edited");
  showStatus("settings.status", "ok", "applying…");
  const res = await send("PUT", "/admin/payments", body);
  if (!res.ok) {
    showStatus("settings.status", "error", res.message);
    markInvalid(form, res.message);
    return;
  }
  markInvalid(form, "");
  for (const input of form.querySelectorAll("input")) input.classList.remove("edited");
  lastPayments = res.data;
  fillSettings(res.data, true);
  showStatus("settings.status", "ok", `applied at ${now()}`);
}

async function switchProfile(event) {
  event.preventDefault();
  const name = event.submitter?.value || null;
  const form = profilesForm();
  const body = { name };
  if (name) {
    const raw = form.elements.namedItem("duration_s").value.trim();
    body.duration_s = raw === "" ? raw : Number(raw);
  }
  showStatus("profile.status", "ok", name ? `switching to ${name}…` : "ending…");
  const res = await send("PUT", "/admin/payments/profile", body);
  if (!res.ok) {
    showStatus("profile.status", "error", res.message);
    markInvalid(form, res.message);
    return;
  }
  markInvalid(form, "");
  renderProfile(res.data);
  showStatus("profile.status", "ok", name ? `${name} from ${now()}` : `ended at ${now()}`);
}

function renderProfile(payments) {
  const p = payments?.profile ?? null;
  setText("profile.current", p ? `${p.name} · ${Math.max(0, p.remaining_s)} s left` : "none");
  for (const b of profilesForm().querySelectorAll(".profile-buttons button")) {
    b.setAttribute("aria-pressed", String(p?.name === b.value));
  }
  field("profile.end").disabled = !p;
  const note = field("profile.note");
  note.hidden = !p;
  if (p) {
    const text = `The ${p.name} profile is in force: the values below are its own. Edits change the settings underneath, which come back when it ends.`;
    if (note.textContent !== text) note.textContent = text;
  }
}

/** Wires the forms once. */
export function initControls() {
  const form = settingsForm();
  form.addEventListener("submit", applySettings);
  form.addEventListener("input", (e) => {
    e.target.classList.add("edited");
    e.target.removeAttribute("aria-invalid");
  });
  form.addEventListener("reset", (e) => {
    e.preventDefault();
    for (const input of form.querySelectorAll("input")) {
      input.classList.remove("edited");
      input.removeAttribute("aria-invalid");
    }
    if (lastPayments) fillSettings(lastPayments, true);
    showStatus("settings.status", "ok", "");
  });
  profilesForm().addEventListener("submit", switchProfile);
}

/** Called with each live answer's payment settings. */
export function renderControls(payments) {
  if (!payments) return;
  lastPayments = payments;
  fillSettings(payments);
  renderProfile(payments);
}
