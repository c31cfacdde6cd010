// The job list: every job the silo knows, newest first, refreshed every POLL_MS.
import { $, el, fillTable, getJson, modelKind, num, poll, right, setColumns, stateBadge, time, when } from "/ui/assets/common.js";

function row(job) {
  const started = job.rounds.length > 0 ? job.rounds[0].formedAt : null;
  return [
    el("td", {}, el("a", { href: `/ui/jobs/${encodeURIComponent(job.id)}`, class: "mono" }, job.id)),
    job.spec.name,
    modelKind(job.spec),
    el("td", {}, stateBadge(job.state)),
    el("td", { class: "num" }, `${num(job.progress ? job.progress.step : 0)} / ${num(job.spec.steps)}`),
    el("td", { class: "num" }, job.progress && job.state === "Running" ? num(job.progress.imagesPerSecond) : "–"),
    started ? when(started) : el("td", { class: "nowrap" }, `queued since ${time(job.submittedAt)}`),
  ];
}

/** Shows the job list and keeps it current. */
export function show() {
  document.title = "GenCluster jobs";
  const table = setColumns($("jobs"), ["id", "name", "model", "state", right("step / target"), right("images/s"), "started"]);
  $("jobs-view").hidden = false;
  poll(async () => {
    const answer = await getJson("/api/jobs");
    $("notice").hidden = answer.ok;
    if (!answer.ok) {
      $("notice").textContent = `Could not list jobs: ${answer.error}. Retrying…`;
      return true;
    }
    const jobs = [...answer.body].sort((a, b) => (a.submittedAt < b.submittedAt ? 1 : -1));
    fillTable(table, jobs.map(row), "No jobs yet: submit one with gencluster submit or POST /api/jobs.");
    $("updated").textContent = `updated ${time(new Date().toISOString())}`;
    return true;
  });
}
