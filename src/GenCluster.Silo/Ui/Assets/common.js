// Shared by the job list and the job page: API calls, element building, formatting.

/** How often the pages ask the silo again, in milliseconds. */
export const POLL_MS = 2000;

const TOKEN_KEY = "gencluster.token";

/**
 * Takes a token handed over in the address (`#token=...`, as `gencluster local` prints the page) into this tab's
 * session storage and out of the address bar. The fragment never reaches the server or its logs.
 */
export function adoptTokenFromAddress() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token");
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  params.delete("token");
  const rest = params.toString();
  history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
}

/** Keeps `token` for this tab (replacing any other) and reloads the page with it. */
export function useToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token.trim());
  location.reload();
}

/** GETs `url` from the silo with this tab's bearer token, if it has one. Rejects only when the silo does not answer. */
export function apiFetch(url, headers = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return fetch(url, { headers: token ? { ...headers, Authorization: `Bearer ${token}` } : headers, cache: "no-store" });
}

/** Asks for a token (the form in the page shell) after the silo answered 401 or 403 with `error`. */
function askForToken(status, error) {
  const form = document.getElementById("login");
  if (!form || !form.hidden) return;
  const had = sessionStorage.getItem(TOKEN_KEY) !== null;
  document.getElementById("login-why").textContent = status === 403
    ? `This token may not read jobs: ${error}`
    : had ? `The silo does not accept this tab's token: ${error}` : "The silo wants an API token (read scope is enough).";
  form.hidden = false;
}

/**
 * GETs JSON from the API. Resolves to { ok, status, body, error }: error is the server's problem detail (or a
 * description of the failure) when ok is false. Never rejects, so a poll loop keeps going when the silo is away.
 */
export async function getJson(url) {
  let response;
  try {
    response = await apiFetch(url, { Accept: "application/json" });
  } catch (e) {
    return { ok: false, status: 0, body: null, error: `the silo did not answer (${e.message})` };
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // A non-JSON answer: described by its status below.
  }
  if (response.ok) return { ok: true, status: response.status, body, error: null };
  const detail = body && (body.detail || body.title);
  if (response.status === 401 || response.status === 403) askForToken(response.status, detail || String(response.status));
  return { ok: false, status: response.status, body, error: detail || `${url} answered ${response.status}` };
}

/** Creates an element with attributes/properties and children (strings become text nodes). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A right-aligned (numeric) column label for `setColumns`. */
export function right(label) {
  return { label, right: true };
}

/** Gives `table` a header row of `columns` (labels, or `right(label)`) and an empty body. */
export function setColumns(table, columns) {
  const th = (c) => (typeof c === "string" ? el("th", {}, c) : el("th", { class: "num" }, c.label));
  table.replaceChildren(el("thead", {}, el("tr", {}, columns.map(th))), el("tbody"));
  return table;
}

/**
 * Replaces a table's body rows (arrays of cells: text, or a ready <td>), or shows one row with `empty` when there are
 * none.
 */
export function fillTable(table, rows, empty) {
  const columns = table.tHead.rows[0].cells.length;
  const td = (c) => (c instanceof Node && c.tagName === "TD" ? c : el("td", {}, c));
  table.tBodies[0].replaceChildren(
    ...(rows.length === 0
      ? [el("tr", { class: "empty" }, el("td", { colSpan: columns }, empty))]
      : rows.map((cells) => el("tr", {}, cells.map(td)))),
  );
}

/** The element with id `elementId`. */
export const $ = (elementId) => document.getElementById(elementId);

const significant = new Intl.NumberFormat("en", { maximumSignificantDigits: 4 });
const whole = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });

/** A number for people: 4 significant digits, thousands separated; a dash for none. */
export function num(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return Math.abs(value) >= 1000 ? whole.format(value) : significant.format(value);
}

/** A timestamp in the browser's time zone, to the second; a dash for none. */
export function time(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A table cell with a timestamp that does not wrap. */
export function when(iso) {
  return el("td", { class: "nowrap" }, time(iso));
}

/** A span showing a job state, coloured by it. */
export function stateBadge(state) {
  return el("span", { class: `state state-${String(state).toLowerCase()}` }, state);
}

/** A job's model kind ("dcgan", ...) from its spec. */
export function modelKind(spec) {
  return (spec && spec.model && spec.model.kind) || "–";
}

/** True for states a job never leaves. */
export function isTerminal(state) {
  return state === "Succeeded" || state === "Failed" || state === "Cancelled";
}

/** Runs `tick` now and then every POLL_MS after each run finishes, until it returns false. */
export function poll(tick) {
  const run = async () => {
    if ((await tick()) !== false) setTimeout(run, POLL_MS);
  };
  run();
}
