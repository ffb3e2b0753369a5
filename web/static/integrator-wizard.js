// The registration wizard: find a device (WS-Discovery through the hub, or its address), probe
// it with its credentials, pick a stream profile, name and place it, register. The password
// lives only in its input until it is sent to the hub; it is never stored, logged or shown.

import { api } from "./integrator-api.js";

function $(id) {
  return document.getElementById(id);
}

// A stream URL fit to show: no user information, no query (either may carry a secret).
export function redactUrl(url) {
  if (!url) return "—";
  const match = url.match(/^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*@)?([^/?#@]*)([^?#]*)([?#].*)?$/i);
  if (!match) return "…";
  const [, scheme, userinfo, host, path, rest] = match;
  return `${scheme}${userinfo ? "***@" : ""}${host}${path}${rest ? "?***" : ""}`;
}

function number(id) {
  const value = $(id).value.trim();
  return value === "" ? null : Number(value);
}

export class Wizard {
  constructor({ onRegistered }) {
    this.onRegistered = onRegistered;
    this.probed = null;  // {endpoint, report}: what the last successful probe was about
    $("discover").addEventListener("click", () => this.discover());
    $("probe").addEventListener("click", () => this.probe());
    $("wizard").addEventListener("submit", (event) => { event.preventDefault(); this.register(); });
    for (const id of ["w-host", "w-port", "w-scheme", "w-username", "w-password"]) {
      $(id).addEventListener("input", () => this.forgetProbe());
    }
  }

  status(text) {
    $("wizard-status").textContent = text;
  }

  error(text) {
    $("wizard-error").textContent = text;
    $("wizard-error").hidden = !text;
  }

  async busy(button, work) {
    button.disabled = true;
    this.error("");
    try {
      await work();
    } catch (error) {
      this.status("");
      this.error(error.message);
    } finally {
      button.disabled = false;
    }
  }

  endpoint() {
    return { host: $("w-host").value.trim(), port: number("w-port") || 80, scheme: $("w-scheme").value };
  }

  credentials() {
    const username = $("w-username").value.trim();
    const password = $("w-password").value;
    const body = {};
    if (username) body.username = username;
    if (password) body.password = password;
    return body;
  }

  forgetProbe() {
    this.probed = null;
    $("step-profile").hidden = true;
    $("step-place").hidden = true;
  }

  discover() {
    return this.busy($("discover"), async () => {
      this.status("正在发现… Listening for devices…");
      const found = await api("/api/cameras/discover", { method: "POST", body: { timeout_s: 2 } });
      const items = found.map((device) => this.discoveredItem(device));
      $("discovered").replaceChildren(...items);
      this.status(found.length ? `发现 ${found.length} 台设备 Found ${found.length} device(s)` : "未发现设备 No device answered");
    });
  }

  discoveredItem(device) {
    const item = document.createElement("li");
    const name = (device.scopes.find((s) => s.includes("/name/")) || "").split("/name/")[1];
    const where = device.host ? `${device.host}:${device.port || 80}` : device.xaddrs[0] || "?";
    item.textContent = `${decodeURIComponent(name || "ONVIF")} · ${where} `;
    const use = document.createElement("button");
    use.type = "button";
    use.textContent = "使用 Use";
    use.setAttribute("aria-label", `使用设备 Use device ${where}`);
    use.disabled = !device.allowed || !device.host;
    use.addEventListener("click", () => {
      $("w-host").value = device.host;
      $("w-port").value = String(device.port || 80);
      this.forgetProbe();
      $("w-username").focus();
    });
    item.append(use);
    if (!device.allowed) {
      const why = document.createElement("span");
      why.className = "hint";
      why.textContent = "不在允许的摄像头网段 outside the allowed camera networks";
      item.append(why);
    }
    return item;
  }

  probe() {
    return this.busy($("probe"), async () => {
      const endpoint = this.endpoint();
      if (!endpoint.host) throw new Error("请填写设备地址 Enter the device's host");
      this.status("正在探测… Probing…");
      const report = await api("/api/cameras/probe", { method: "POST", body: { onvif: endpoint, ...this.credentials() } });
      this.probed = { endpoint, report };
      this.showReport(report);
      this.status("探测成功 Probe succeeded: pick a profile");
    });
  }

  showReport(report) {
    const device = report.device;
    $("device-info").textContent = `${device.manufacturer} ${device.model} · 固件 firmware ${device.firmware || "—"}`
      + ` · 预置位 PTZ presets ${report.ptz_presets.length}`;
    const usable = report.profiles.filter((profile) => profile.stream_url);
    const best = usable.reduce((a, b) => ((b.width || 0) * (b.height || 0) > (a.width || 0) * (a.height || 0) ? b : a), usable[0]);
    const choices = report.profiles.map((profile) => {
      const label = document.createElement("label");
      label.className = "profile";
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "profile";
      radio.value = profile.token;
      radio.disabled = !profile.stream_url;
      radio.checked = profile === best;
      const size = profile.width ? `${profile.width}×${profile.height}` : "";
      const text = document.createElement("span");
      text.textContent = `${profile.name || profile.token} (${profile.token}) ${profile.encoding || ""} ${size}`;
      const url = document.createElement("code");
      url.textContent = redactUrl(profile.stream_url);
      label.append(radio, text, url);
      return label;
    });
    $("profiles").replaceChildren(...choices);
    $("step-profile").hidden = false;
    $("step-place").hidden = !usable.length;
    if (!usable.length) this.error("设备没有可用码流 The device offers no usable stream");
    else $("w-name").focus();
  }

  body() {
    const chosen = document.querySelector('input[name="profile"]:checked');
    const body = {
      onvif: { ...this.probed.endpoint, profile: chosen ? chosen.value : null },
      ...this.credentials(),
      name: $("w-name").value.trim(),
      location: { lat: number("w-lat"), lon: number("w-lon") },
    };
    const id = $("w-id").value.trim();
    if (id) body.id = id;
    if (number("w-heading") !== null) body.heading_deg = number("w-heading");
    if ($("w-grid").value.trim()) body.grid_cell = $("w-grid").value.trim();
    return body;
  }

  register() {
    return this.busy($("register"), async () => {
      if (!this.probed) throw new Error("请先探测设备 Probe the device first");
      if (number("w-lat") === null || number("w-lon") === null) throw new Error("请填写经纬度 Enter latitude and longitude");
      this.status("正在注册… Registering…");
      const camera = await api("/api/cameras", { method: "POST", body: this.body() });
      this.reset();
      this.status(`已注册 Registered ${camera.name || camera.id}`);
      this.onRegistered(camera);
    });
  }

  reset() {
    $("wizard").reset();  // the password input is emptied with the rest
    $("w-password").value = "";
    $("discovered").replaceChildren();
    this.forgetProbe();
  }
}
