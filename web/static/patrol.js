// Video patrol (轮巡): cycles through a plan's cameras with their snapshots and a countdown, logs
// every camera shown (one append-only entry per view) and reports what the operator sees.
import { api, signIn, SignedOut } from "./patrol-api.js";
import { anchorFor, position } from "./patrol-cycle.js";

const TICK_MS = 250;
const SNAPSHOT_REFRESH_MS = 3000;  // a still every few seconds: a patrol glance, not live video
const CAN_ACT = new Set(["admin", "operator"]);  // others may watch; their views are not logged
const $ = (id) => document.getElementById(id);
const run = { plan: null, anchorMs: 0, pausedAtMs: null, view: null, canAct: false };
const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

function notice(text) {
  $("notice").textContent = text;
  $("notice").hidden = !text;
}

function localDay(ms) {
  const at = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
}

// Log the view on screen until `nowMs` (the hub sets who and how long); the entry, or null.
async function endView(nowMs, keepalive = false) {
  const view = run.view;
  run.view = null;
  if (!view || !run.canAct) return null;
  const body = { plan_id: view.planId, camera_id: view.cameraId,
    started_at: new Date(view.startedMs).toISOString(), ended_at: new Date(nowMs).toISOString() };
  try {
    const entry = await api.logView(body, keepalive);
    addLogRow(entry);
    refreshCoverage();
    return entry;
  } catch (error) {
    if (!(error instanceof SignedOut)) notice(`记录失败 Could not log the view: ${error.message}`);
    return null;
  }
}

function addLogRow(entry) {
  const row = document.createElement("li");
  row.dataset.cameraId = entry.camera_id;
  row.textContent = `${new Date(entry.started_at).toLocaleTimeString()} · ${entry.camera_id} · ` +
    `${entry.seconds_viewed.toFixed(1)} 秒 s`;
  $("views").prepend(row);
}

async function refreshCoverage() {
  if (!run.plan) return;
  try {
    const figure = await api.coverage(run.plan.id, localDay(Date.now()), tz);
    $("coverage").textContent = `${figure.viewed}/${figure.planned} (${Math.round(figure.ratio * 100)}%)`;
  } catch (error) { /* a figure only: the next view refreshes it */ }
}

function show(stop, index) {
  $("camera-name").textContent = stop.name;
  $("camera-name").dataset.cameraId = stop.camera_id;
  $("stop").textContent = `第 ${index + 1}/${run.plan.route.length} 个 stop ${index + 1} of ${run.plan.route.length}`;
  refreshSnapshot();
}

function refreshSnapshot() {
  if (!run.view) return;
  $("snapshot").src = `${api.snapshotUrl(run.plan.id, run.view.cameraId)}?t=${Date.now()}`;
}

function pictureShown(ok) {
  $("snapshot").hidden = !ok;
  $("screen-empty").textContent = "暂无画面 No picture from this camera now.";
  $("screen-empty").hidden = ok;
}

function tick() {
  if (!run.plan) return;
  const clockMs = Date.now();
  const cycleMs = run.pausedAtMs ?? clockMs;  // paused: the cycle stands still, the clock runs
  const at = position(run.plan.route, run.anchorMs, cycleMs);
  const view = run.view;
  if (!view || view.index !== at.index || view.lap !== at.lap) {
    endView(clockMs);
    run.view = { planId: run.plan.id, cameraId: at.camera_id, index: at.index, lap: at.lap,
      startedMs: clockMs };
    show(run.plan.route[at.index], at.index);
  }
  const leftS = Math.max(0, Math.ceil((at.nextSwitchMs - cycleMs) / 1000));
  $("countdown").textContent = run.pausedAtMs === null ? `${leftS} 秒 s` : `暂停 paused · ${leftS} 秒 s`;
}

function move(step) {
  if (!run.plan || !run.view) return;
  const nowMs = Date.now();
  run.anchorMs = anchorFor(run.plan.route, run.view.index + step, run.pausedAtMs ?? nowMs);
  tick();
}

function togglePause() {
  const nowMs = Date.now();
  if (run.pausedAtMs === null) {
    run.pausedAtMs = nowMs;  // the camera stays on screen (and in its view) while paused
  } else {
    run.anchorMs += nowMs - run.pausedAtMs;
    run.pausedAtMs = null;
  }
  $("pause").textContent = run.pausedAtMs === null ? "暂停 Pause" : "继续 Resume";
  tick();
}

async function start(planId) {
  const ending = endView(Date.now());
  run.plan = null;  // at once: a tick meanwhile must not open a view of the old plan
  await ending;
  if (!planId) return;
  const plan = await api.plan(planId);
  if (!plan.route.length) return notice("该方案没有可用摄像头 No camera of this plan is available.");
  run.plan = plan;
  run.anchorMs = Date.now();
  run.pausedAtMs = null;
  $("pause").textContent = "暂停 Pause";
  $("shift").textContent = plan.on_shift ? "" : "不在班次时间 outside the plan's shift";
  ["previous", "pause", "next"].forEach((id) => { $(id).disabled = false; });
  $("report-send").disabled = !run.canAct;
  tick();
  refreshCoverage();
}

async function report(event) {
  event.preventDefault();
  if (!run.view) return;
  $("report-error").hidden = true;
  const nowMs = Date.now();
  const view = run.view;
  const logged = endView(nowMs);  // the evidence: this view, up to the click
  run.view = { ...view, startedMs: nowMs };  // the same camera stays on screen: a new view
  const entry = await logged;
  if (!entry) return;
  try {
    const done = await api.report({ log_entry_id: entry.id, kind: $("report-kind").value,
      note: $("report-note").value.trim() });
    const link = document.createElement("a");
    link.href = `/?incident=${encodeURIComponent(done.incident_id)}`;
    link.textContent = done.incident_id.slice(0, 8);
    $("report-result").replaceChildren("已上报 Reported: incident ", link);
    $("report-result").dataset.incidentId = done.incident_id;
    $("report-result").hidden = false;
    $("report-note").value = "";
  } catch (error) {
    $("report-error").textContent = `上报失败 Report failed: ${error.message}`;
    $("report-error").hidden = false;
  }
}

async function main() {
  const me = await signIn();
  run.canAct = CAN_ACT.has(me.role);
  $("who").textContent = me.name;
  $("who").hidden = false;
  if (!run.canAct) notice("只读 Read-only: this role's views are not logged and it cannot report.");
  const plans = await api.plans();
  for (const plan of plans) $("plan").append(new Option(plan.name, plan.id));
  $("plan").addEventListener("change", () => start($("plan").value).catch((e) => notice(e.message)));
  $("previous").addEventListener("click", () => move(-1));
  $("next").addEventListener("click", () => move(1));
  $("pause").addEventListener("click", togglePause);
  $("report").addEventListener("submit", report);
  $("snapshot").addEventListener("load", () => pictureShown(true));
  $("snapshot").addEventListener("error", () => pictureShown(false));
  addEventListener("pagehide", () => { endView(Date.now(), true); });
  setInterval(tick, TICK_MS);
  setInterval(refreshSnapshot, SNAPSHOT_REFRESH_MS);
  const wanted = new URLSearchParams(location.search).get("plan");
  if (wanted && plans.some((plan) => plan.id === wanted)) {
    $("plan").value = wanted;
    await start(wanted);
  }
}

main().catch((error) => {
  if (!(error instanceof SignedOut)) notice(`无法连接 The hub cannot be reached: ${error.message}`);
});
