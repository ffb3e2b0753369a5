// The operator's open incidents: REST for the current state, the WebSocket's frames for changes.
// Shared helpers (labels, requests, DOM) first, then the list; incident-detail.js is the detail.
"use strict";

const incidentKit = (() => {
  const STATE_LABEL = {
    detected: "已发现 detected",
    pending_review: "待审核 pending review",
    false_alarm: "误报 false alarm",
    warning_issued: "已预警 warning issued",
    dispatching: "派单中 dispatching",
    assigned: "已接单 assigned",
    on_scene: "已到场 on scene",
    feedback_submitted: "已反馈 feedback submitted",
    verifying: "核查中 checking",
    closed: "已结案 closed",
    reopened: "已重开 reopened",
  };
  const ASSIGNMENT_LABEL = {
    recommended: "已推荐 recommended",
    notified: "已通知 notified",
    acknowledged: "已接单 acknowledged",
    declined: "已拒绝 declined",
    timed_out: "超时 timed out",
    en_route: "在途 en route",
    on_scene: "已到场 on scene",
    cleared: "已处置 cleared",
    cancelled: "已取消 cancelled",
  };
  const EVENT_LABEL = {
    queue: "入队 queued",
    claim: "认领 claim",
    verify: "核实 verify",
    mark_false: "误报 false alarm",
    raise_colour: "升级 colour raised",
    lower_colour: "降级 colour lowered",
    merge_alert: "合并告警 alert merged",
    issue_warning: "预警 warning issued",
    recommend: "推荐 recommend",
    dispatch: "派单 dispatch",
    acknowledge: "接单 acknowledge",
    decline: "拒绝 decline",
    depart: "出发 depart",
    arrive: "到达 arrive",
    clear: "处置 clear",
    submit_feedback: "反馈 feedback",
    start_check: "核查 check",
    approve: "通过 approve",
    reject_feedback: "退回 rework",
    close: "结案 close",
    reopen: "重开 reopen",
    note: "备注 note",
    deadline_missed: "超时 deadline missed",
  };
  const CLOSED = new Set(["closed", "false_alarm"]);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function label(table, value) {
    return table[value] || value;
  }

  function alertCount(incident) {
    // Pushed incidents carry `alert_count`; REST ones their map of merged alerts.
    if (typeof incident.alert_count === "number") return incident.alert_count;
    return Object.keys(incident.alerts || {}).length;
  }

  function errorText(status, body) {
    const detail = body && body.detail;
    if (typeof detail === "string") return `${status}: ${detail}`;
    if (Array.isArray(detail)) return `${status}: ${detail.map((item) => item.msg).join("; ")}`;
    return `${status}`;
  }

  // Every request rides the session cookie (HttpOnly, SameSite=Strict, set by /api/session):
  // same-origin only, and a JSON body, which no other site can send without a CORS preflight.
  async function api(path, body) {
    const options = { credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.method = "POST";
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, options);
    } catch (error) {
      return { ok: false, status: 0, error: "无法连接 The hub cannot be reached." };
    }
    const data = await response.json().catch(() => null);
    if (response.ok) return { ok: true, status: response.status, data };
    return { ok: false, status: response.status, error: errorText(response.status, data) };
  }

  return {
    STATE_LABEL, ASSIGNMENT_LABEL, EVENT_LABEL, CLOSED, el, label, alertCount, api,
    time: (iso) => new Date(iso).toLocaleTimeString(),
    // The alert list's labels (app.js, loaded last: these run only once the page has started).
    kindLabel: (kind) => KIND_LABEL[kind] || kind,
    levelLabel: (level) => LEVEL_LABEL[level] || level,
  };
})();

const incidentList = (() => {
  const { el, label, STATE_LABEL, CLOSED } = incidentKit;
  const list = document.getElementById("incidents");
  const empty = document.getElementById("incidents-empty");
  const shown = new Map();  // open incident id -> the version in the list
  const MAX_ROWS = 200;
  let selectedId = null;

  function row(incident, fresh) {
    const item = el("li", `incident colour-${incident.colour}`);
    item.dataset.incidentId = incident.id;
    item.dataset.updated = incident.updated_at;
    if (fresh) item.classList.add("fresh");
    if (incident.id === selectedId) item.classList.add("selected");
    consoleFilters.mark(item, "incident", incident);
    const open = el("button", "incident-open");
    open.type = "button";
    const title = el("div", "title");
    title.append(el("span", `badge ${incident.colour}`, incidentKit.levelLabel(incident.colour)),
      incidentKit.kindLabel(incident.kind));
    const state = el("div", "meta state", label(STATE_LABEL, incident.state));
    const where = incident.grid_cell ? `网格 cell ${incident.grid_cell}` : "网格 cell —";
    const meta = el("div", "meta",
      `${where} · 告警 alerts ${incidentKit.alertCount(incident)} · ` +
      `更新 updated ${incidentKit.time(incident.updated_at)}`);
    open.append(title, state, meta);
    open.addEventListener("click", () => select(incident.id));
    item.append(open);
    return item;
  }

  function find(id) {
    return list.querySelector(`[data-incident-id="${CSS.escape(id)}"]`);
  }

  // Newest change first; a closed incident leaves the list (the detail may still show it).
  function upsert(incident, fresh) {
    if (incident.id === selectedId) incidentDetail.update(incident);
    if ((shown.get(incident.id) ?? -1) >= incident.version && !CLOSED.has(incident.state)) return;
    const existing = find(incident.id);
    const wasRed = existing && existing.classList.contains("colour-red");
    if (existing) existing.remove();
    if (CLOSED.has(incident.state)) {
      shown.delete(incident.id);
    } else {
      shown.set(incident.id, incident.version);
      const after = [...list.children].find((other) => other.dataset.updated < incident.updated_at);
      const item = row(incident, fresh);
      list.insertBefore(item, after || null);
      // A red incident arriving live (new or raised) that the filter shows: the alarm.
      if (fresh && incident.colour === "red" && !wasRed && consoleFilters.matches(item)) alertSound.alarm();
    }
    while (list.children.length > MAX_ROWS) {
      shown.delete(list.lastElementChild.dataset.incidentId);
      list.lastElementChild.remove();
    }
    empty.hidden = list.children.length > 0;
    consoleFilters.count();
  }

  function select(id) {
    selectedId = id;
    for (const item of list.children) item.classList.toggle("selected", item.dataset.incidentId === id);
    incidentDetail.open(id);
  }

  function deselect() {
    selectedId = null;
    for (const item of list.children) item.classList.remove("selected");
  }

  // Merge, never replace: a change pushed while this request ran must not be lost. Rows the
  // answer lacks and that did not change meanwhile have closed (or fallen off): they go.
  async function refresh() {
    const before = new Map(shown);
    const answer = await incidentKit.api(`/api/incidents?open=true&limit=100${consoleFilters.params("incident")}`);
    if (!answer.ok) return false;
    const open = new Set(answer.data.incidents.map((incident) => incident.id));
    for (const [id, version] of before) {
      // A filtered answer says nothing of the rows the filter hides: those stay.
      const item = find(id);
      if (!open.has(id) && shown.get(id) === version && (!item || consoleFilters.matches(item))) {
        shown.delete(id);
        item?.remove();
      }
    }
    answer.data.incidents.forEach((incident) => upsert(incident, false));
    empty.hidden = list.children.length > 0;
    consoleFilters.count();
    return true;
  }

  function apply(incidents) {
    (incidents || []).forEach((incident) => upsert(incident, true));
  }

  return { upsert, refresh, apply, deselect };
})();
