// The count over time of an incident's alerts (人数变化): one line per alert from its reports
// (GET /api/alerts/{id}/counts), drawn as SVG so that nothing is loaded from elsewhere. Redrawn
// at most every few seconds while the incident changes (each re-report is a new point).
"use strict";

const countChart = (() => {
  const { el, api } = incidentKit;
  const SVG = "http://www.w3.org/2000/svg";
  const WIDTH = 320, HEIGHT = 90, PAD = 6, MOST_ALERTS = 5, REFRESH_MS = 3000;
  const box = document.getElementById("d-counts");
  let shownFor = null, alertIds = [], lastDrawn = 0, pending = null;

  function svg(tag, attributes) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    return node;
  }

  function draw(series) {
    const points = series.flat();
    if (!points.length) {
      box.replaceChildren(el("p", "empty", "暂无计数 No counts yet."));
      return;
    }
    const times = points.map((p) => Date.parse(p.at));
    const first = Math.min(...times), last = Math.max(...times);
    const most = Math.max(1, ...points.map((p) => p.people_count));
    const x = (t) => PAD + (last > first ? (t - first) / (last - first) : 0.5) * (WIDTH - 2 * PAD);
    const y = (n) => HEIGHT - PAD - (n / most) * (HEIGHT - 2 * PAD);
    const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "count-chart",
      role: "img", "aria-label": `人数变化 Count over time, up to ${most} people` });
    for (const reports of series) {
      const line = reports.map((p) => `${x(Date.parse(p.at)).toFixed(1)},${y(p.people_count).toFixed(1)}`);
      chart.append(svg("polyline", { points: line.join(" "), class: "count-line" }));
      for (const p of reports) {
        const dot = svg("circle", { cx: x(Date.parse(p.at)), cy: y(p.people_count), r: 2.5,
          class: `count-dot level-${p.level}` });
        const title = svg("title", {});
        title.textContent = `${new Date(p.at).toLocaleTimeString()} · ${p.people_count} 人 people`;
        dot.append(title);
        chart.append(dot);
      }
    }
    const latest = points.reduce((a, b) => (Date.parse(b.at) > Date.parse(a.at) ? b : a));
    const caption = el("p", "meta",
      `最多 most ${most} · 最新 latest ${latest.people_count} 人 people · ${points.length} 次上报 reports`);
    box.replaceChildren(chart, caption);
  }

  async function load(incidentId) {
    const ids = alertIds.slice(0, MOST_ALERTS);
    const answers = await Promise.all(ids.map((id) => api(`/api/alerts/${encodeURIComponent(id)}/counts`)));
    if (incidentId !== shownFor) return;  // another incident was opened meanwhile
    lastDrawn = Date.now();
    draw(answers.filter((answer) => answer.ok).map((answer) => answer.data));
  }

  // `incident`: as the hub answered (REST carries its alerts; live frames do not, so the last
  // known alert ids are kept for that incident).
  function show(incident) {
    if (incident.id !== shownFor) {
      shownFor = incident.id;
      alertIds = [];
      box.replaceChildren();
    }
    if (incident.alerts) alertIds = Object.keys(incident.alerts);
    if (!alertIds.length) return;
    clearTimeout(pending);
    const wait = Math.max(0, lastDrawn + REFRESH_MS - Date.now());
    pending = setTimeout(() => load(incident.id), wait);
  }

  function clear() {
    shownFor = null;
    alertIds = [];
    clearTimeout(pending);
    box.replaceChildren();
  }

  return { show, clear };
})();
