// Position sharing: the browser's fixes go to PUT /api/me/position at most every 15 s, or at
// once after a move of more than 20 m; the last fix is re-sent every 15 s so the hub's ranking
// never sees it go stale while the responder stands still.
import { call, failure } from "./responder-api.js";

const EVERY_MS = 15000;
const MOVE_M = 20;

function metres(a, b) {
  const rad = Math.PI / 180;
  const x = (b.lon - a.lon) * rad * Math.cos(((a.lat + b.lat) / 2) * rad);
  const y = (b.lat - a.lat) * rad;
  return Math.hypot(x, y) * 6371000;
}

export function sharePosition(status, onFix, onError) {
  let sent = null;  // { at: ms, where }
  let latest = null;
  const say = (text) => { status.textContent = text; };
  if (!("geolocation" in navigator)) {
    say("此浏览器不能定位 This browser cannot share a position.");
    return;
  }

  async function send(fix) {
    sent = { at: Date.now(), where: fix.where };
    const body = { location: fix.where, reported_at: new Date(fix.time).toISOString(), accuracy_m: fix.accuracy };
    try {
      const response = await call("/api/me/position", { method: "PUT", json: body });
      if (!response.ok) return say(`位置未发送 Position not sent: ${await failure(response)}`);
      say(`位置已共享 Position shared ${new Date().toLocaleTimeString()}` +
        (fix.accuracy ? ` (±${Math.round(fix.accuracy)} m)` : ""));
    } catch (error) {
      onError(error);
    }
  }

  navigator.geolocation.watchPosition((position) => {
    const { latitude: lat, longitude: lon, accuracy } = position.coords;
    latest = { where: { lat, lon }, accuracy: Math.min(accuracy || 0, 100000) || null, time: position.timestamp || Date.now() };
    onFix(latest.where);
    if (!sent || Date.now() - sent.at >= EVERY_MS || metres(sent.where, latest.where) > MOVE_M) send(latest);
  }, (error) => {
    say(error.code === error.PERMISSION_DENIED
      ? "定位权限被拒绝：请在浏览器设置中允许 Location permission denied: allow it in the browser settings."
      : `无法定位 No position: ${error.message}`);
  }, { enableHighAccuracy: true, maximumAge: 10000, timeout: 30000 });

  setInterval(() => {
    if (latest && Date.now() - sent.at >= EVERY_MS) send({ ...latest, time: Date.now() });
  }, EVERY_MS);
}

export function availabilitySwitch(fieldset, current, onError) {
  const radios = [...fieldset.querySelectorAll("input[name=availability]")];
  const NOW = { committed: "执行中 committed", delayed: "延迟 delayed" };  // set by the hub, not here
  const now = document.getElementById("availability-now");
  const mark = (value) => {
    radios.forEach((radio) => { radio.checked = radio.value === value; });
    now.textContent = NOW[value] ? `· ${NOW[value]}` : "";
  };
  mark(current);
  fieldset.addEventListener("change", async (event) => {
    try {
      const response = await call("/api/me/availability", { method: "PUT", json: { availability: event.target.value } });
      if (!response.ok) onError(await failure(response));
      else mark((await response.json()).availability);
    } catch (error) {
      onError(error);
    }
  });
  return mark;
}
