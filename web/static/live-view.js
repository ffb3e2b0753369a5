// The live camera view: WebRTC video relayed by the hub (one camera connection for every
// viewer). Signalling is one request, POST /api/cameras/{id}/live/offer, with every ICE candidate
// in the offer and the answer (no trickle). Receive-only. Closing the player closes the peer
// connection and tells the hub (DELETE), which lets the camera go after its linger.
// Other panels open it with `liveView.open(cameraId, name)`.
"use strict";

const liveView = (() => {
  const $ = (id) => document.getElementById(id);
  const list = $("live-cameras");
  const empty = $("live-empty");
  const player = $("live-player");
  const title = $("live-title");
  const video = $("live-video");
  const status = $("live-status");
  const GATHER_MS = 3000;  // host candidates come in milliseconds; never wait longer than this
  const REFUSED = {
    401: "需要登录 Not signed in",
    403: "无权观看 Not allowed to watch",
    404: "摄像头不存在 No such camera",
    409: "摄像头已停用 The camera is disabled",
    429: "该摄像头观看人数已满 Too many viewers of this camera",
    502: "摄像头无法连接 The camera cannot be reached",
    503: "实时画面暂不可用 Live view unavailable",
    504: "摄像头无响应 The camera did not answer",
  };
  let current = null;  // { pc, cameraId, sessionId }: the open session, if any
  video.style.width = "100%";  // CSSOM, which the page's CSP allows
  list.style.listStyle = "none";
  list.style.paddingLeft = "0";
  video.style.background = "#000";

  const path = (cameraId, tail) => `/api/cameras/${encodeURIComponent(cameraId)}/live${tail}`;
  const say = (text) => { status.textContent = text; };

  function gathered(pc) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, GATHER_MS);
      pc.addEventListener("icegatheringstatechange", () => {
        if (pc.iceGatheringState === "complete") { clearTimeout(timer); resolve(); }
      });
    });
  }

  function hangUp(session) {
    session.pc.close();
    if (!session.sessionId) return;
    fetch(path(session.cameraId, `/${encodeURIComponent(session.sessionId)}`),
      { method: "DELETE", keepalive: true }).catch(() => {});  // the hub also notices the close
  }

  async function refusal(response) {
    let detail = "";
    try { detail = (await response.json()).detail; } catch (error) { /* not JSON */ }
    const text = REFUSED[response.status] || `无法打开 Cannot open (${response.status})`;
    return typeof detail === "string" && detail ? `${text}: ${detail}` : text;
  }

  async function open(cameraId, name) {
    close();
    const pc = new RTCPeerConnection({ iceServers: [] });
    const session = { pc, cameraId, sessionId: null };
    current = session;
    title.textContent = `${name || cameraId} · 实时画面 Live`;
    player.dataset.cameraId = cameraId;
    player.hidden = false;
    say("连接中 Connecting…");
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.ontrack = (event) => {
      video.srcObject = event.streams[0] || new MediaStream([event.track]);
      event.track.onended = () => { if (current === session) say("画面已结束 The stream ended"); };
    };
    pc.onconnectionstatechange = () => {
      if (current !== session) return;
      const state = pc.connectionState;
      if (state === "connected") say("直播中 Live");
      else if (["failed", "closed", "disconnected"].includes(state)) say("连接中断 Connection lost");
    };
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      const response = await fetch(path(cameraId, "/offer"), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp }),
      });
      if (!response.ok) {
        if (current === session) say(await refusal(response));
        pc.close();
        return;
      }
      const answer = await response.json();
      session.sessionId = answer.session_id;
      if (current !== session) { hangUp(session); return; }  // closed while the hub answered
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    } catch (error) {
      if (current === session) say("无法连接 Cannot connect");
      hangUp(session);
    }
  }

  function close() {
    const session = current;
    current = null;
    video.srcObject = null;
    player.hidden = true;
    if (session) { hangUp(session); refresh(); }
  }

  function render(camera) {
    const item = document.createElement("li");
    item.dataset.cameraId = camera.id;
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "▶ 实时画面 Live";
    button.addEventListener("click", () => open(camera.id, camera.name));
    const viewers = camera.viewers ? ` · 观看 watching ${camera.viewers}` : "";
    item.append(button, ` ${camera.name}${viewers}`);
    return item;
  }

  async function refresh() {
    let response;
    try { response = await fetch("/api/live/cameras"); } catch (error) { return; }
    if (!response.ok) return;  // not signed in yet: the next "online" refreshes
    const cameras = await response.json();
    list.replaceChildren(...cameras.map(render));
    empty.hidden = cameras.length > 0;
  }

  $("live-close").addEventListener("click", close);
  window.addEventListener("pagehide", close);
  // Signed in and live (app.js marks the connection online): the camera list can load.
  const connection = $("connection");
  new MutationObserver(() => { if (connection.classList.contains("online")) refresh(); })
    .observe(connection, { attributes: true, attributeFilter: ["class"] });
  refresh();
  return { open, close, refresh };
})();
