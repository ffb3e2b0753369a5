// The operator's live alert list: REST for the current state, a WebSocket for what happens next.
// The same frames carry the incidents they changed: incidents.js keeps that panel.
"use strict";

const LEVEL_LABEL = { red: "红 red", orange: "橙 orange", yellow: "黄 yellow", blue: "蓝 blue" };
const KIND_LABEL = {
  crowd_gathering: "人员聚集 Crowd gathering",
  loitering: "徘徊 Loitering",
  intrusion: "区域入侵 Intrusion",
  line_crossing: "越线 Line crossing",
  fall: "跌倒 Fall",
  device_fault: "设备故障 Device fault",
};
const STATUS_LABEL = { active: "进行中 active", ended: "已结束 ended" };
const list = document.getElementById("alerts");
const empty = document.getElementById("empty");
const connection = document.getElementById("connection");
const notice = document.getElementById("notice");
const MAX_ROWS = 200;  // older rows fall off the end; the API still has them
let retryMs = 500;

async function openSession() {
  const match = location.hash.match(/token=([^&]+)/);
  if (!match) return;
  const token = decodeURIComponent(match[1]);
  history.replaceState(null, "", location.pathname + location.search);  // the token leaves the address bar
  const response = await fetch("/api/session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token }),
  });
  if (!response.ok) showNotice("令牌无效 The token in the link was refused.");
}

const ROLE_LABEL = { admin: "管理员 admin", operator: "值班员 operator", viewer: "查看 viewer",
  integrator: "集成 integrator", responder: "处置 responder", worker: "worker" };
const READ_ONLY = new Set(["viewer"]);  // may read, not act: the action controls are hidden

function toSignIn() {
  location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
}

// Who is signed in (the chip and the sign-out button); false when nobody: go and sign in.
async function whoAmI() {
  const response = await fetch("/api/session", { credentials: "same-origin" });
  if (response.status === 401) return false;
  if (!response.ok) return true;
  const me = await response.json();
  const who = document.getElementById("who");
  who.textContent = `${me.name} · ${ROLE_LABEL[me.role] || me.role}` +
    (me.grid_scope ? ` · 网格 grid ${me.grid_scope}` : "");
  who.hidden = false;
  document.getElementById("sign-out").hidden = !me.user_id;  // a token's cookie: the link signs in
  document.body.classList.toggle("read-only", READ_ONLY.has(me.role));  // style.css hides the controls
  return true;
}

document.getElementById("sign-out").addEventListener("click", async () => {
  await fetch("/api/session", { method: "DELETE", credentials: "same-origin" }).catch(() => null);
  location.assign("/login");
});

function showNotice(text) {
  notice.textContent = text;
  notice.hidden = !text;
}

function time(iso) {
  return new Date(iso).toLocaleTimeString();
}

// The evidence snapshot, or a plain "no snapshot" box where there is none or it fails to load
// (never the browser's broken-image icon).
function snapshotOf(alert) {
  const none = document.createElement("div");
  none.className = "no-snapshot";
  none.textContent = "无快照 No snapshot";
  if (!alert.snapshot_ref) return none;
  const img = document.createElement("img");
  img.alt = `快照 Snapshot ${alert.camera_name || alert.camera_id}`;
  img.loading = "lazy";
  img.addEventListener("error", () => img.replaceWith(none), { once: true });
  img.src = `/api/alerts/${alert.id}/snapshot.jpg?r=${alert.revision}`;
  return img;
}

function render(alert) {
  const item = document.createElement("li");
  item.className = `alert level-${alert.level} status-${alert.status}`;
  item.dataset.alertId = alert.id;
  item.dataset.revision = alert.revision;
  const img = snapshotOf(alert);
  const body = document.createElement("div");
  const title = document.createElement("div");
  title.className = "title";
  const badge = document.createElement("span");
  badge.className = `badge ${alert.level}`;
  badge.textContent = LEVEL_LABEL[alert.level] || alert.level;
  title.append(badge, `${KIND_LABEL[alert.kind] || alert.kind} · ${alert.camera_name || alert.camera_id}`);
  const counts = document.createElement("div");
  counts.className = "meta";
  counts.textContent = `区域 zone ${alert.zone_id} · 人数 people ${alert.people_count} (峰值 peak ${alert.peak_people}) · ${STATUS_LABEL[alert.status] || alert.status}`;
  const times = document.createElement("div");
  times.className = "meta";
  times.textContent = `开始 started ${time(alert.started_at)} · 更新 updated ${time(alert.updated_at)} · ${alert.location.lat.toFixed(5)}, ${alert.location.lon.toFixed(5)}`;
  body.append(title, counts, times);
  item.append(img, body);
  return item;
}

function upsert(alert, fresh) {
  const existing = list.querySelector(`[data-alert-id="${CSS.escape(alert.id)}"]`);
  if (existing && Number(existing.dataset.revision) >= alert.revision) return;
  const item = render(alert);
  consoleFilters.mark(item, "alert", alert);
  if (fresh) item.classList.add("fresh");
  // The alarm for a red one that arrives live (new, or raised to red) and that the filter shows.
  const wasRed = existing && existing.classList.contains("level-red");
  if (fresh && alert.level === "red" && !wasRed && consoleFilters.matches(item)) alertSound.alarm();
  if (existing) existing.remove();
  // Newest update first.
  const after = [...list.children].find((other) => other.dataset.updated < alert.updated_at);
  item.dataset.updated = alert.updated_at;
  list.insertBefore(item, after || null);
  while (list.children.length > MAX_ROWS) list.lastElementChild.remove();
  empty.hidden = list.children.length > 0;
  consoleFilters.count();
}

async function refresh() {
  let response;
  try {
    response = await fetch(`/api/alerts?limit=50${consoleFilters.params("alert")}`);
  } catch (error) {
    return false;  // the hub is unreachable: the socket's backoff tries again
  }
  if (response.status === 401) {
    toSignIn();  // signed out, or the session ended (expired, disabled, password changed)
    return false;
  }
  if (!response.ok) return false;
  // Merge, never replace: an update pushed while this request ran must not be lost.
  (await response.json()).forEach((alert) => upsert(alert, false));
  showNotice("");
  empty.hidden = list.children.length > 0;
  return true;
}

function setOnline(online) {
  connection.className = `connection ${online ? "online" : "offline"}`;
  connection.textContent = online ? "已连接 live" : "重连中 reconnecting";
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/alerts`);
  socket.onopen = async () => {
    retryMs = 500;
    setOnline(true);
    await Promise.all([refresh(), incidentList.refresh()]);  // resync what happened while away
  };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    // One frame per hub batch: alerts in the order stored, then the incidents they changed.
    if (message.type !== "batch") return;
    message.alerts.forEach((alert) => upsert(alert, true));
    incidentList.apply(message.incidents);
  };
  socket.onclose = (event) => {
    setOnline(false);
    let delay = retryMs;
    if (event.code === 1008) {  // refused (token or origin): retrying fast will not help
      showNotice("需要登录令牌 Not signed in: open the link the hub printed.");
      delay = 30000;
    }
    setTimeout(connect, delay);
    retryMs = Math.min(retryMs * 2, 10000);
  };
}

(async () => {
  try {
    await openSession();
    if (!(await whoAmI())) return toSignIn();
  } catch (error) {
    showNotice("无法连接 The hub cannot be reached.");
  }
  consoleFilters.init(() => Promise.all([refresh(), incidentList.refresh()]));
  await Promise.all([refresh(), incidentList.refresh()]);
  const linked = new URLSearchParams(location.search).get("incident");  // a link to one incident
  if (linked) incidentDetail.open(linked);
  connect();
})();
