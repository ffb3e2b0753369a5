// The camera list with each camera's latest health report (what workers publish): state, input
// fps, reconnects, dropped frames, last error and when a frame was last seen. Polls the hub.

import { api } from "./integrator-api.js";

const STATE_LABEL = {
  online: "在线 online",
  degraded: "降级 degraded",
  offline: "离线 offline",
  unknown: "无报告 no report",
  stale: "报告过期 stale report",
};
const STALE_AFTER_S = 120;  // a report this old says nothing about now: a worker re-sends often

function ago(iso, now) {
  if (!iso) return "—";
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 90) return `${seconds} 秒前 s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} 分钟前 min ago`;
  return new Date(iso).toLocaleString();
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

export function stateOf(health, now) {
  if (!health) return "unknown";
  if ((now - Date.parse(health.reported_at)) / 1000 > STALE_AFTER_S) return "stale";
  return health.state;
}

export class HealthBoard {
  constructor({ onOpen, periodMs = 5000 }) {
    this.onOpen = onOpen;
    this.periodMs = periodMs;
    this.timer = null;
    this.rows = document.getElementById("camera-rows");
  }

  start() {
    this.stop();
    this.refresh();
    this.timer = setInterval(() => this.refresh(), this.periodMs);
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async refresh() {
    const note = document.getElementById("health-note");
    let cameras;
    try {
      cameras = await api("/api/cameras");
    } catch (error) {
      note.textContent = error.message;
      note.hidden = false;
      return;
    }
    let reports = [];
    try {
      reports = await api("/api/cameras/health");
      note.hidden = true;
    } catch (error) {
      note.textContent = `健康状态不可用 Health unavailable: ${error.message}`;
      note.hidden = false;
    }
    this.render(cameras, new Map(reports.map((report) => [report.camera_id, report])));
    document.getElementById("health-updated").textContent = `更新于 updated ${new Date().toLocaleTimeString()}`;
  }

  render(cameras, health) {
    const now = Date.now();
    const rows = cameras.map((camera) => {
      const report = health.get(camera.id);
      const state = stateOf(report, now);
      const row = document.createElement("tr");
      row.dataset.cameraId = camera.id;
      row.className = `state-${state}${camera.enabled ? "" : " disabled"}`;
      const name = document.createElement("td");
      const open = document.createElement("button");
      open.type = "button";
      open.className = "link";
      open.textContent = camera.name || camera.id;
      open.setAttribute("aria-label", `打开摄像头 Open camera ${camera.name || camera.id}`);
      open.addEventListener("click", () => this.onOpen(camera.id));
      const id = document.createElement("span");
      id.className = "hint";
      id.textContent = camera.enabled ? camera.id : `${camera.id} · 已停用 disabled`;
      name.append(open, id);
      const badge = document.createElement("span");
      badge.className = `state-badge ${state}`;
      badge.textContent = STATE_LABEL[state] || state;
      const stateCell = document.createElement("td");
      stateCell.append(badge);
      row.append(
        name,
        stateCell,
        cell(report ? report.input_fps.toFixed(1) : "—", "fps"),
        cell(report ? String(report.reconnects) : "—", "reconnects"),
        cell(report ? String(report.dropped_frames) : "—", "dropped"),
        cell(report && report.last_error ? report.last_error : "—", "last-error"),
        cell(report ? ago(report.last_frame_at, now) : "—", "last-seen"),
      );
      return row;
    });
    this.rows.replaceChildren(...rows);
    document.getElementById("cameras-empty").hidden = cameras.length > 0;
  }
}
