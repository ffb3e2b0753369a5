// The evidence clip of an incident's alert (证据视频): the sampled frames before the alert as an
// MP4 (GET /api/alerts/{id}/clip.mp4), in a muted <video>. The worker writes the clip after the
// alert's first report, so a later report brings `clip_ref`: until one has it, each change of the
// incident asks again (at most every few seconds).
"use strict";

const evidenceClip = (() => {
  const { el, api } = incidentKit;
  const MOST_ALERTS = 5, REFRESH_MS = 3000;
  const counts = document.getElementById("d-counts");
  const heading = el("h4", "", "证据视频 Evidence clip");
  const box = el("div", "clip");
  box.id = "d-clip";
  heading.hidden = box.hidden = true;
  counts.previousElementSibling.before(heading, box);  // above the count chart's heading
  let shownFor = null, alertIds = [], shown = false, lastAsked = 0, pending = null;

  function player(alert) {
    const video = document.createElement("video");
    video.controls = video.muted = video.playsInline = true;
    video.preload = "auto";
    video.style.width = "100%";
    video.style.maxWidth = "420px";
    video.setAttribute("aria-label", `证据视频 Evidence clip ${alert.camera_name || alert.camera_id}`);
    video.addEventListener("error", () => { heading.hidden = box.hidden = true; }, { once: true });
    video.src = `/api/alerts/${encodeURIComponent(alert.id)}/clip.mp4`;
    return video;
  }

  async function load(incidentId) {
    lastAsked = Date.now();
    const ids = alertIds.slice(0, MOST_ALERTS);
    const answers = await Promise.all(ids.map((id) => api(`/api/alerts/${encodeURIComponent(id)}`)));
    if (incidentId !== shownFor || shown) return;  // another incident, or an earlier answer won
    const withClip = answers.find((answer) => answer.ok && answer.data.clip_ref);
    if (!withClip) return;
    shown = true;
    box.replaceChildren(player(withClip.data));
    heading.hidden = box.hidden = false;
  }

  // `incident`: as the hub answered (REST carries its alerts; live frames do not).
  function show(incident) {
    if (incident.id !== shownFor) {
      clear();
      shownFor = incident.id;
    }
    if (incident.alerts) alertIds = Object.keys(incident.alerts);
    if (shown || !alertIds.length) return;
    clearTimeout(pending);
    const wait = Math.max(0, lastAsked + REFRESH_MS - Date.now());
    pending = setTimeout(() => load(incident.id), wait);
  }

  function clear() {
    shownFor = null;
    alertIds = [];
    shown = false;
    lastAsked = 0;
    clearTimeout(pending);
    box.replaceChildren();  // and the <video> with it stops loading
    heading.hidden = box.hidden = true;
  }

  return { show, clear };
})();
