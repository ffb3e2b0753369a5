// One assignment card: what, where, since when, until when, the snapshot, the map, and the
// buttons the assignment's state allows (accept/decline → en route → on scene → clear → feedback).
import { drawMap } from "./responder-map.js";
import { imageData } from "./responder-api.js";

const KIND = { crowd_gathering: "人员聚集 Crowd gathering", loitering: "徘徊 Loitering",
  intrusion: "区域入侵 Intrusion", line_crossing: "越线 Line crossing", fall: "跌倒 Fall",
  device_fault: "设备故障 Device fault" };
const COLOUR = { red: "红 red", orange: "橙 orange", yellow: "黄 yellow", blue: "蓝 blue" };
const STATE = { notified: "新派单 New dispatch", acknowledged: "已接受 Accepted",
  en_route: "在途 En route", on_scene: "到场 On scene", cleared: "待反馈 Feedback due" };
const DEADLINE = { acknowledge: "接受期限 Accept by", arrive: "到场期限 Arrive by",
  handle: "处置期限 Handle by", feedback: "反馈期限 Feedback by" };
export const ACTIONS = {
  notified: [["acknowledge", "接受 Accept"], ["decline", "拒绝 Decline"]],
  acknowledged: [["depart", "出发 En route"]],
  en_route: [["arrive", "到达 On scene"]],
  on_scene: [["clear", "处置完毕 Clear"]],
  cleared: [["feedback", "反馈 Feedback"]],
};

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function ago(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} 秒 s` : s < 3600 ? `${Math.floor(s / 60)} 分 min ${s % 60} 秒 s` : `${Math.floor(s / 3600)} 小时 h`;
}

export function newCard(task, tiles) {
  const { incident } = task;
  const card = el("li", `task colour-${incident.colour}`);
  card.dataset.incidentId = incident.id;
  const head = el("div", "task-head");
  head.append(el("span", `badge level-${incident.colour}`, COLOUR[incident.colour] || incident.colour),
    el("h3", "kind", KIND[incident.kind] || incident.kind), el("span", "state"));
  const facts = el("dl", "facts");
  const place = incident.location ? `${incident.location.lat.toFixed(5)}, ${incident.location.lon.toFixed(5)}` : "—";
  facts.append(el("dt", "", "地点 Place"), el("dd", "place", `${incident.grid_cell ? `网格 ${incident.grid_cell} · ` : ""}${place}`),
    el("dt", "", "派单 Dispatched"), el("dd", "since"), el("dt", "deadline-name"), el("dd", "deadline"));
  const media = el("div", "media");
  const snapshot = el("div", "snapshot no-snapshot", "无快照 No snapshot");
  const map = el("div", "task-map");
  map.setAttribute("role", "region");
  map.setAttribute("aria-label", "事件位置地图 Incident location map");
  media.append(snapshot, map);
  card.append(head, facts, media, el("div", "actions"), el("p", "error"));
  card.querySelector(".error").setAttribute("role", "alert");
  card.querySelector(".error").hidden = true;
  if (task.has_snapshot) loadSnapshot(snapshot, incident.id);
  requestAnimationFrame(() => drawMap(map, incident, tiles));
  return card;
}

async function loadSnapshot(box, incidentId) {
  const data = await imageData(`/api/me/incidents/${encodeURIComponent(incidentId)}/snapshot.jpg`).catch(() => null);
  if (!data) return;
  const img = el("img");
  img.alt = "事件快照 Incident snapshot";
  img.src = data;
  box.replaceChildren(img);
  box.classList.remove("no-snapshot");
}

// The parts that change with time or state; the buttons only when the state changed.
export function refresh(card, task, makeActions) {
  const state = task.assignment.state;
  card.querySelector(".state").textContent = STATE[state] || state;
  card.querySelector(".since").textContent = `${ago(Date.now() - Date.parse(task.dispatched_at))} 前 ago`;
  const deadline = task.deadline;
  card.querySelector(".deadline-name").textContent = deadline ? DEADLINE[deadline.kind] || deadline.kind : "期限 Deadline";
  const left = deadline ? Date.parse(deadline.due_at) - Date.now() : null;
  const due = card.querySelector(".deadline");
  due.textContent = deadline ? `${new Date(deadline.due_at).toLocaleTimeString()} (${left >= 0 ? `剩 ${ago(left)} left` : `超时 late ${ago(-left)}`})` : "—";
  due.classList.toggle("late", left !== null && left < 0);
  card.classList.toggle("new", state === "notified");
  if (card.dataset.state !== state) {
    card.dataset.state = state;
    card.querySelector(".actions").replaceChildren(...makeActions(task));
  }
}
