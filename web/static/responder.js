// The responder's phone page: assignments polled from GET /api/me/tasks (the live socket is for
// readers only), each card's buttons posting the responder's events, the feedback photo, the
// availability switch and position sharing.
import { call, failure, SignedOut, takeToken } from "./responder-api.js";
import { ACTIONS, el, newCard, refresh } from "./responder-card.js";
import { availabilitySwitch, sharePosition } from "./responder-geo.js";
import { dropMap, showMe } from "./responder-map.js";
import { downscaled } from "./responder-photo.js";

const POLL_MS = 3000;
const list = document.getElementById("tasks");
const notice = document.getElementById("notice");
const cards = new Map();  // incident id -> { card, task }
let tiles = { url: null, attribution: "" };
let lastFix = null;
let markAvailability = () => {};

function say(text) {
  notice.textContent = text;
  notice.hidden = !text;
}

function fail(error) {
  if (error instanceof SignedOut) {
    say("未登录或令牌无效 Not signed in, or the token was refused.");
    location.assign(`/login?next=${encodeURIComponent("/responder")}`);
  } else {
    say(typeof error === "string" ? error : `无法连接 The hub cannot be reached (${error.message || error}).`);
  }
}

function alarm() {  // where the browser allows: a vibration and a short beep
  try { if (navigator.vibrate) navigator.vibrate([300, 150, 300]); } catch (error) { /* not allowed */ }
  try {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    tone.connect(audio.destination);
    tone.frequency.value = 880;
    tone.start();
    tone.stop(audio.currentTime + 0.4);
  } catch (error) { /* no sound before a tap, on some browsers */ }
}

async function post(incidentId, body, card) {
  const error = card.querySelector(".error");
  error.hidden = true;
  const response = await call(`/api/incidents/${encodeURIComponent(incidentId)}/events`, { method: "POST", json: body });
  if (!response.ok) {
    error.textContent = await failure(response);
    error.hidden = false;
    return false;
  }
  await poll();
  return true;
}

function button(label, action, kind = "") {
  const node = el("button", `big ${kind}`, label);
  node.type = "button";
  node.addEventListener("click", async () => {
    node.disabled = true;
    try { await action(); } catch (error) { fail(error); } finally { node.disabled = false; }
  });
  return node;
}

function declineForm(task, card) {
  const form = el("form", "reason-form");
  const id = `decline-${task.incident.id}`;
  const label = el("label", "", "拒绝原因 Reason for declining");
  label.htmlFor = id;
  const reason = el("textarea");
  Object.assign(reason, { id, required: true, maxLength: 500, rows: 2 });
  const send = el("button", "big danger", "确认拒绝 Confirm decline");
  send.type = "submit";
  form.append(label, reason, send);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (reason.value.trim()) post(task.incident.id, { type: "decline", reason: reason.value.trim() }, card).catch(fail);
  });
  return form;
}

function feedbackForm(task, card) {
  const form = el("form", "feedback-form");
  const noteId = `note-${task.incident.id}`;
  const photoId = `photo-${task.incident.id}`;
  const noteLabel = el("label", "", "处置说明 Note");
  noteLabel.htmlFor = noteId;
  const note = el("textarea");
  Object.assign(note, { id: noteId, required: true, maxLength: 500, rows: 3 });
  const photoLabel = el("label", "", "现场照片 Photo");
  photoLabel.htmlFor = photoId;
  const photo = el("input");
  Object.assign(photo, { id: photoId, type: "file", accept: "image/*" });
  photo.setAttribute("capture", "environment");
  const preview = el("div", "preview-box");
  let shot = null;
  photo.addEventListener("change", async () => {
    shot = null;
    preview.replaceChildren();
    if (!photo.files.length) return;
    try {
      shot = await downscaled(photo.files[0]);
      preview.replaceChildren(shot.preview);
    } catch (error) {
      preview.textContent = "照片无法读取 The photo could not be read.";
    }
  });
  const send = el("button", "big primary", "提交反馈 Send feedback");
  send.type = "submit";
  form.append(noteLabel, note, photoLabel, photo, preview, send);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    send.disabled = true;
    try {
      const evidence = [];
      if (shot) {
        const path = `/api/me/incidents/${encodeURIComponent(task.incident.id)}/photos`;
        const stored = await call(path, { method: "POST", body: shot.blob, type: "image/jpeg" });
        if (!stored.ok) throw await failure(stored);
        evidence.push((await stored.json()).ref);
      }
      await post(task.incident.id, { type: "submit_feedback", reason: note.value.trim(), evidence }, card);
    } catch (error) {
      fail(error);
    } finally {
      send.disabled = false;
    }
  });
  return form;
}

function actions(task) {
  const card = cards.get(task.incident.id).card;
  const id = task.incident.id;
  return (ACTIONS[task.assignment.state] || []).map(([type, label]) => {
    if (type === "decline") {
      return button(label, () => { card.querySelector(".actions").append(declineForm(task, card)); }, "danger");
    }
    if (type === "feedback") return feedbackForm(task, card);
    const evidence = type === "arrive" && lastFix ? [`gps:${lastFix.lat.toFixed(6)},${lastFix.lon.toFixed(6)}`] : [];
    return button(label, () => post(id, { type, evidence }, card), type === "acknowledge" ? "primary" : "");
  });
}

async function poll() {
  const response = await call("/api/me/tasks");
  if (!response.ok) throw await failure(response);
  const page = await response.json();
  tiles = { url: page.tile_url, attribution: page.tile_attribution };
  const seen = new Set();
  let fresh = false;
  for (const task of page.tasks) {
    seen.add(task.incident.id);
    if (!cards.has(task.incident.id)) {
      const card = newCard(task, tiles);
      cards.set(task.incident.id, { card, task });
      list.prepend(card);
      fresh ||= task.assignment.state === "notified";
    }
    const entry = cards.get(task.incident.id);
    entry.task = task;
    refresh(entry.card, task, actions);
  }
  for (const [id, entry] of cards) {
    if (!seen.has(id)) { dropMap(id); entry.card.remove(); cards.delete(id); }
  }
  document.getElementById("empty").hidden = cards.size > 0;
  if (fresh) alarm();
  const me = await call("/api/me");  // the hub moves availability with the assignments
  if (me.ok) markAvailability((await me.json()).availability);
  if (lastFix) showMe(lastFix);
  say("");
}

async function start() {
  takeToken();
  try {
    const response = await call("/api/me");
    if (!response.ok) return say(await failure(response));
    const me = await response.json();
    document.getElementById("me").textContent = me.name || me.id;
    markAvailability = availabilitySwitch(document.querySelector(".availability"), me.availability, fail);
    sharePosition(document.getElementById("position"), (where) => { lastFix = where; showMe(where); }, fail);
    await poll();
  } catch (error) {
    return fail(error);
  }
  setInterval(() => poll().catch(fail), POLL_MS);
  setInterval(() => { for (const { card, task } of cards.values()) refresh(card, task, actions); }, 1000);
}

start();
