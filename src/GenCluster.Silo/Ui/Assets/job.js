// The job page: status, rounds, recoveries, checkpoints and events from /api/jobs/{id}; metric curves from the step
// journal (/steps?after=N, only the new rows each time); the newest sample grid; all refreshed every POLL_MS.
import { drawLineChart } from "/ui/assets/chart.js";
import { $, apiFetch, el, fillTable, getJson, isTerminal, modelKind, num, poll, right, setColumns, stateBadge, time, when } from "/ui/assets/common.js";

// Journal columns before the recipe's metrics.
const FIXED_COLUMNS = ["round", "step", "epoch", "skipped"];
const COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#9333ea"];
// Points kept per curve; beyond it every other point is dropped (the journal endpoint thins its first answer too).
const MAX_POINTS = 4000;
// Polls after the job ended, so the last journal lines and the final sample grid are picked up.
const POLLS_AFTER_END = 2;

const journal = { columns: null, steps: [], values: [], after: 0 };
const throughput = { origin: null, lastAt: null, xs: [], ys: [] };
let shownSample = null;
let objectUrl = null;
let pollsLeft = POLLS_AFTER_END;
let api = "";

// The tables under the charts: title, columns, what an empty one says, and one row per item of the job's status.
const TABLES = [
  {
    id: "rounds",
    title: "Rounds",
    columns: [right("round"), "members (rank · worker · host)", right("global batch"), right("resumed from"), "formed", "ended", "end reason"],
    empty: "No round yet: the job waits for enough free workers.",
    rows: (job) => [...job.rounds].reverse().map((r) => [
      el("td", { class: "num" }, r.number),
      el("td", {}, el("ul", { class: "members" }, r.members.map((m) => el("li", {}, `${m.rank} · `, el("span", { class: "mono" }, m.workerId), ` · ${m.host}`)))),
      el("td", { class: "num" }, r.perWorkerBatch > 0 ? num(r.members.length * r.perWorkerBatch * r.gradientAccumulation) : "–"),
      el("td", { class: "num" }, r.resumeFrom ? num(r.resumeFrom.step) : "start"),
      when(r.formedAt),
      r.endedAt ? when(r.endedAt) : "current",
      r.endReason || "–",
    ]),
  },
  {
    id: "recoveries",
    title: "Recoveries",
    columns: [right("ended round"), "cause", "detected", right("seconds"), right("lost steps")],
    empty: "None: no round ended early.",
    rows: (job) => [...job.recoveries].reverse().map((r) => [
      el("td", { class: "num" }, r.endedRound),
      r.cause,
      when(r.detectedAt),
      el("td", { class: "num" }, num(r.seconds)),
      el("td", { class: "num" }, num(r.lostSteps)),
    ]),
  },
  {
    id: "checkpoints",
    title: "Checkpoints",
    columns: [right("step"), "path"],
    empty: "No checkpoint yet.",
    rows: (job) => [...job.checkpoints].reverse().map((c) => [
      el("td", { class: "num" }, num(c.step), job.latestCheckpoint && c.step === job.latestCheckpoint.step ? el("span", { class: "tag" }, "latest") : null),
      el("td", { class: "mono" }, c.path),
    ]),
  },
  {
    id: "events",
    title: "Events",
    columns: ["at", "kind", right("round"), "message"],
    empty: "No events.",
    rows: (job) => [...job.history].reverse().map((e) => [
      when(e.at),
      el("td", { class: "nowrap" }, e.kind),
      el("td", { class: "num" }, e.round > 0 ? e.round : "–"),
      e.message,
    ]),
  },
];

function showError(message) {
  $("job-view").hidden = true;
  $("notice").hidden = true;
  const box = $("error");
  box.replaceChildren(el("strong", {}, "This job cannot be shown. "), message, " ", el("a", { href: "/ui" }, "Back to the job list"));
  box.hidden = false;
}

function renderStatus(job) {
  $("name").textContent = job.spec.name;
  $("state").replaceChildren(stateBadge(job.state));
  const step = job.progress ? job.progress.step : 0;
  $("progress-bar").style.width = `${Math.min(100, (100 * step) / Math.max(1, job.spec.steps))}%`;
  const current = job.rounds.length > 0 ? job.rounds[job.rounds.length - 1] : null;
  const facts = [
    ["model", modelKind(job.spec)],
    ["dataset", job.spec.dataset],
    ["step", `${num(step)} / ${num(job.spec.steps)}`],
    ["images/s", job.progress && job.state === "Running" ? num(job.progress.imagesPerSecond) : "–"],
    ["workers", current && !current.endedAt ? `${current.members.length} (min ${job.spec.minWorkers}, max ${job.spec.maxWorkers})` : "–"],
    ["submitted", time(job.submittedAt)],
    ["finished", time(job.finishedAt)],
    ["restarts", `${job.restarts} of ${job.spec.restartBudget}`],
    ["preemptions", String(job.preemptions)],
    ["steps trained again", num(job.lostSteps)],
    ["run directory", el("span", { class: "mono" }, job.runDirectory)],
  ];
  if (job.reason) facts.push(["reason", job.reason]);
  for (const [name, value] of Object.entries(job.evaluation || {})) facts.push([name, num(value)]);
  $("facts").replaceChildren(...facts.map(([name, value]) => el("div", {}, el("dt", {}, name), el("dd", {}, value))));

  for (const t of TABLES) fillTable($(t.id), t.rows(job), t.empty);

  if (job.state === "Running" && job.progress && job.progressAt && job.progressAt !== throughput.lastAt) {
    const at = Date.parse(job.progressAt) / 1000;
    throughput.origin ??= at;
    throughput.lastAt = job.progressAt;
    throughput.xs.push(at - throughput.origin);
    throughput.ys.push(job.progress.imagesPerSecond);
    [throughput.xs, throughput.ys] = thin([throughput.xs, throughput.ys]);
  }
  drawLineChart($("throughput"), throughput.xs, [{ color: COLORS[0], ys: throughput.ys }]);
}

/** Parallel arrays with every other point but the last dropped once they grow past MAX_POINTS. */
function thin(arrays) {
  if (arrays[0].length <= MAX_POINTS) return arrays;
  const keep = (_, i, all) => i % 2 === 0 || i === all.length - 1;
  return arrays.map((a) => a.filter(keep));
}

function curveElements(columns) {
  const metrics = columns.filter((c) => !FIXED_COLUMNS.includes(c));
  $("curves").replaceChildren(...metrics.map((name, i) =>
    el("div", { class: "curve", dataset: { metric: name } },
      el("div", { class: "curve-head" }, el("span", { class: "swatch", style: `background:${COLORS[i % COLORS.length]}` }), name,
        el("span", { class: "value" })),
      el("canvas", { class: "chart small" }))));
}

async function refreshSteps() {
  const answer = await getJson(`${api}/steps?after=${journal.after}`);
  if (!answer.ok || answer.body.columns.length === 0) return;
  const { columns, rows, lastStep } = answer.body;
  if (journal.columns === null || journal.columns.join() !== columns.join()) {
    journal.columns = columns;
    journal.steps = [];
    journal.values = columns.map(() => []);
    curveElements(columns);
  }
  const stepIndex = columns.indexOf("step");
  for (const row of rows) {
    journal.steps.push(row[stepIndex]);
    row.forEach((value, i) => journal.values[i].push(value));
  }
  if (lastStep !== null) journal.after = lastStep;
  [journal.steps, ...journal.values] = thin([journal.steps, ...journal.values]);
  drawCurves();
}

function drawCurves() {
  const { columns, steps, values } = journal;
  if (columns === null) return;
  for (const curve of $("curves").querySelectorAll(".curve")) {
    const ys = values[columns.indexOf(curve.dataset.metric)];
    const metricIndex = [...curve.parentNode.children].indexOf(curve);
    drawLineChart(curve.querySelector("canvas"), steps, [{ color: COLORS[metricIndex % COLORS.length], ys }]);
    const last = ys.findLast((v) => v !== null);
    curve.querySelector(".value").textContent = last === undefined ? "–" : num(last);
  }
  $("last-step").textContent = steps.length > 0 ? `through step ${num(steps[steps.length - 1])}` : "";
  $("last-step").dataset.step = steps.length > 0 ? String(steps[steps.length - 1]) : "";
}

async function refreshSample() {
  const list = await getJson(`${api}/samples`);
  if (!list.ok || list.body.latestStep === null || list.body.latestStep === shownSample) return;
  let response;
  try {
    response = await apiFetch(`${api}/samples/latest`);
  } catch {
    return;
  }
  if (!response.ok) return;
  const step = Number(response.headers.get("X-Sample-Step"));
  const url = URL.createObjectURL(await response.blob());
  // Decoded off-screen first, so a grid that does not decode leaves the previous one in place.
  const probe = new Image();
  probe.src = url;
  try {
    await probe.decode();
  } catch {
    URL.revokeObjectURL(url);
    return;
  }
  const img = $("sample");
  img.src = url;
  img.dataset.step = String(step);
  img.hidden = false;
  if (objectUrl) URL.revokeObjectURL(objectUrl);
  objectUrl = url;
  shownSample = step;
  $("sample-caption").textContent = `step ${num(step)} · ${list.body.steps.length} grid${list.body.steps.length === 1 ? "" : "s"} so far`;
}

/** Shows job `id` and follows it until it has ended. */
export function show(id) {
  api = `/api/jobs/${encodeURIComponent(id)}`;
  document.title = `GenCluster job ${id}`;
  $("crumb-id").textContent = id;
  $("crumb-id").hidden = false;
  $("api-link").href = api;
  $("tables").replaceChildren(...TABLES.map((t) =>
    el("section", { class: "card" }, el("h2", {}, t.title), setColumns(el("table", { id: t.id }), t.columns))));
  poll(async () => {
    const answer = await getJson(api);
    if (!answer.ok) {
      if (answer.status === 404) {
        showError(answer.error);
        return false;
      }
      $("notice").textContent = `Could not refresh: ${answer.error}. Retrying…`;
      $("notice").hidden = false;
      return true;
    }
    $("notice").hidden = true;
    $("job-view").hidden = false;
    renderStatus(answer.body);
    await Promise.all([refreshSteps(), refreshSample()]);
    const ended = isTerminal(answer.body.state);
    const more = !ended || --pollsLeft > 0;
    $("updated").textContent = more ? `updated ${time(new Date().toISOString())}` : `final · ${time(new Date().toISOString())}`;
    return more;
  });
}
