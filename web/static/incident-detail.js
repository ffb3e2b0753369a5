// One incident, worked by the operator: its facts, the actions its state allows, notes, the
// ranked responders to dispatch (with the hub's reasons) and the audit trail. Every change goes
// to the hub (POST /api/incidents/{id}/events); the page shows what the hub answers, never a
// guess.
"use strict";

const incidentDetail = (() => {
  const { el, label, api, STATE_LABEL, ASSIGNMENT_LABEL, EVENT_LABEL, CLOSED } = incidentKit;
  const SEVERITY = { blue: 1, yellow: 2, orange: 3, red: 4 };
  const $ = (id) => document.getElementById(id);
  const panel = $("incident-detail");
  const note = $("d-note");
  const error = $("d-error");
  const dispatchBox = $("d-dispatch");
  const actions = [...panel.querySelectorAll("[data-action]")];
  const REVIEW = new Set(["pending_review", "reopened"]);
  const DISPATCHABLE = new Set(["pending_review", "warning_issued", "dispatching", "assigned", "on_scene"]);
  let wantedId = null;  // the incident the operator opened
  let current = null;  // the latest version of it the page has
  let auditSeq = 0;  // the newest audit record shown
  let auditRequest = 0;  // only the latest audit request may render
  let busy = false;

  const path = (id, tail = "") => `/api/incidents/${encodeURIComponent(id)}${tail}`;

  function showError(text) {
    error.textContent = text;
    error.hidden = !text;
  }

  // `pending_review` spans claiming and verifying: say which step the incident is at.
  function stateText(incident) {
    const state = label(STATE_LABEL, incident.state);
    if (!REVIEW.has(incident.state)) return state;
    if (incident.confirmed) return `${state} · 已核实 verified`;
    if (incident.claimed_by) return `${state} · 已认领 claimed by ${incident.claimed_by}`;
    return `${state} · 待认领 awaiting claim`;
  }

  function allowed(incident) {
    const state = incident.state;
    return {
      claim: REVIEW.has(state) && !incident.claimed_by,
      verify: state === "pending_review" && Boolean(incident.claimed_by) && !incident.confirmed,
      mark_false: REVIEW.has(state),
      "show-dispatch": DISPATCHABLE.has(state) && (state !== "pending_review" || incident.confirmed),
      note: Boolean(note.value.trim()),  // any state, closed too: notes never move the incident
      // 核查: the responder's feedback is checked before the incident closes as resolved; a
      // rejection sends it back for rework and needs a reason (the note field's text).
      start_check: state === "feedback_submitted",
      approve: state === "verifying",
      reject_feedback: state === "verifying" && Boolean(note.value.trim()),
      // Colours go up only here (a person lowers one with a reason elsewhere); close for a
      // reason other than resolved, which only a passed check gives.
      raise_colour: !CLOSED.has(state) && SEVERITY[$("d-raise-to").value] > SEVERITY[incident.colour],
      close: !CLOSED.has(state),
    };
  }

  function renderButtons() {
    const can = current ? allowed(current) : {};
    for (const button of actions) button.disabled = busy || !can[button.dataset.action];
    if (!can["show-dispatch"]) dispatchBox.hidden = true;
  }

  function renderAssignments(incident) {
    const items = incident.assignments.map((assignment) =>
      el("li", `assignment ${assignment.state}`,
        `${assignment.responder_id} · ${label(ASSIGNMENT_LABEL, assignment.state)}`));
    const list = el("ul", "assignments");
    list.append(...items);
    $("d-assignments").replaceChildren(items.length ? list : "—");
  }

  function renderFacts(incident) {
    panel.className = `detail colour-${incident.colour}`;
    $("d-colour").className = `badge ${incident.colour}`;
    $("d-colour").textContent = incidentKit.levelLabel(incident.colour);
    $("d-title").textContent = `${incidentKit.kindLabel(incident.kind)} · ${incident.id.slice(0, 8)}`;
    $("d-title").title = incident.id;
    $("d-state").textContent = stateText(incident);
    $("d-state").dataset.state = incident.state;
    const supervision = incident.supervision && incident.supervision.active
      ? ` · 督办 supervision ${incidentKit.levelLabel(incident.supervision.colour)}` : "";
    $("d-colour-text").textContent = incidentKit.levelLabel(incident.colour) + supervision;
    $("d-alerts").textContent = String(incidentKit.alertCount(incident));
    const ring = incident.ring_min ? ` · ${incident.ring_min} 分钟圈 ${incident.ring_min}-min ring` : "";
    $("d-grid").textContent = (incident.grid_cell || "—") + ring;
    renderAssignments(incident);
    $("d-created").textContent = incidentKit.time(incident.created_at);
  }

  function auditRow(record) {
    const item = el("li", "audit-record");
    item.dataset.event = record.event;
    const head = el("div", "title");
    head.append(el("span", "when", incidentKit.time(record.at)),
      el("span", "what", label(EVENT_LABEL, record.event)),
      el("span", "who", record.actor.id));
    const moved = record.from_state === record.to_state ? label(STATE_LABEL, record.to_state)
      : `${label(STATE_LABEL, record.from_state)} → ${label(STATE_LABEL, record.to_state)}`;
    const responder = record.responder_id
      ? ` · ${record.responder_id} ${label(ASSIGNMENT_LABEL, record.assignment_to || "")}` : "";
    // A note's whole text (its `why` holds only the start).
    const why = record.note === null || record.note === undefined ? record.why : record.note;
    item.append(head, el("div", "meta", moved + responder), el("div", "meta why", why));
    return item;
  }

  async function loadAudit(id) {
    const request = ++auditRequest;
    const answer = await api(path(id, "/audit"));
    if (request !== auditRequest || id !== wantedId) return;  // a later one is on its way
    if (!answer.ok) return showError(answer.error);
    auditSeq = answer.data.reduce((most, record) => Math.max(most, record.seq), 0);
    $("d-audit").replaceChildren(...answer.data.map(auditRow));
  }

  // A newer version of the open incident (the hub's answer, or a live frame).
  function update(incident) {
    if (incident.id !== wantedId || (current && current.version > incident.version)) return;
    current = incident;
    renderFacts(incident);
    renderButtons();
    countChart.show(incident);
    evidenceClip.show(incident);
    if (auditSeq < incident.version) loadAudit(incident.id);
  }

  async function open(id) {
    wantedId = id;
    current = null;
    auditSeq = 0;
    note.value = "";
    showError("");
    dispatchBox.hidden = true;
    $("d-audit").replaceChildren();
    panel.hidden = false;
    renderButtons();
    const answer = await api(path(id));
    if (id !== wantedId) return;
    if (!answer.ok) return showError(answer.error);
    update(answer.data);
  }

  function hide() {
    wantedId = null;
    current = null;
    countChart.clear();
    evidenceClip.clear();
    panel.hidden = true;
    incidentList.deselect();
  }

  async function act(type, extra = {}) {
    if (!current || busy) return;
    const body = { type, ...extra };
    busy = true;
    renderButtons();
    showError("");
    const answer = await api(path(current.id, "/events"), body);
    busy = false;
    if (answer.ok) {
      // Sent; a draft stays through other actions, except those that took it as their reason.
      if (["note", "approve", "reject_feedback", "close"].includes(type)) note.value = "";
      if (type === "dispatch") dispatchBox.hidden = true;
      incidentList.upsert(answer.data, false);  // and, through it, update() here
    } else {
      showError(answer.error);
    }
    renderButtons();
  }

  function recommendationRow(recommendation) {
    const item = el("li", "recommendation");
    item.dataset.responderId = recommendation.responder_id;
    const distance = recommendation.distance_m === null ? "距离未知 distance unknown"
      : `${Math.round(recommendation.distance_m)} m`;
    item.append(
      el("div", "title", `${recommendation.rank}. ${recommendation.responder_id}`),
      el("div", "meta", `预计 ETA ${Math.round(recommendation.eta_s)} s · ${distance}`));
    const reasons = el("ul", "reasons");
    reasons.append(...recommendation.reasons.map((reason) => el("li", "", reason)));
    const send = el("button", "dispatch-to", `派单给 Dispatch to ${recommendation.responder_id}`);
    send.type = "button";
    send.addEventListener("click", () =>
      act("dispatch", { responder_id: recommendation.responder_id }));  // the hub adds its reasons
    item.append(reasons, send);
    return item;
  }

  // Declined, timed out, committed or delayed: an operator who phoned them may send them anyway,
  // saying why (stored first among the assignment's reasons). Never off shift or unavailable.
  function rejectedRow(rejected) {
    const item = el("li", "rejection",
      `不可派 not eligible: ${rejected.responder_id} · ${rejected.reasons.join("; ")}`);
    item.dataset.responderId = rejected.responder_id;
    if (!rejected.overridable) return item;
    const reason = el("input", "override-reason");
    reason.type = "text";
    reason.maxLength = 500;
    reason.placeholder = "原因 Reason (required)";
    reason.setAttribute("aria-label", `强制派单原因 Override reason for ${rejected.responder_id}`);
    const send = el("button", "override", `强制派单 Override: dispatch ${rejected.responder_id}`);
    send.type = "button";
    send.addEventListener("click", () => {
      const why = reason.value.trim();
      if (!why) return showError("强制派单需要原因 An override needs a reason.");
      act("dispatch", { responder_id: rejected.responder_id, override: true, reason: why });
    });
    item.append(reason, send);
    return item;
  }

  function renderRanking(ranking) {
    $("d-recommendations").replaceChildren(...ranking.recommendations.map(recommendationRow));
    $("d-no-recommendations").hidden = ranking.recommendations.length > 0;
    $("d-rejected").replaceChildren(...ranking.rejected.map(rejectedRow));
    dispatchBox.hidden = false;
  }

  async function showDispatch() {
    if (!current) return;
    if (!dispatchBox.hidden) {
      dispatchBox.hidden = true;
      return;
    }
    const id = current.id;
    const answer = await api(path(id, "/recommendations"));
    if (id !== wantedId) return;
    if (!answer.ok) return showError(answer.error);
    renderRanking(answer.data);
  }

  for (const button of actions) {
    const action = button.dataset.action;
    button.addEventListener("click", () => {
      if (action === "show-dispatch") return showDispatch();
      if (action === "note") return act("note", { text: note.value.trim() });
      if (action === "raise_colour") return act(action, { colour: $("d-raise-to").value });
      if (action === "close") {
        return act(action, { close_reason: $("d-close-as").value, reason: note.value.trim() });
      }
      if (action === "approve" || action === "reject_feedback") {
        return act(action, { reason: note.value.trim() });  // words for the audit trail
      }
      return act(action);
    });
  }
  note.addEventListener("input", renderButtons);
  $("d-raise-to").addEventListener("change", renderButtons);
  $("d-hide").addEventListener("click", hide);

  return { open, update };
})();
