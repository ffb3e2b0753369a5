// The integrator page: camera health list and registration wizard (#), one camera's zones and
// rules (#camera=<id>). Signed in with the console's session cookie; on 401 it goes to the
// sign-in page when the hub has one, else asks for the hub's token here.

import { loginPage, signInWithToken, tokenFromLink, whenUnauthorised } from "./integrator-api.js";
import { CameraPage } from "./integrator-camera.js";
import { HealthBoard } from "./integrator-health.js";
import { Wizard } from "./integrator-wizard.js";

const notice = document.getElementById("notice");
const tokenForm = document.getElementById("token-form");
let cameraPage = null;
let redirecting = false;

function showNotice(text) {
  notice.textContent = text;
  notice.hidden = !text;
}

function openCamera(id) {
  location.hash = `camera=${encodeURIComponent(id)}`;
}

const board = new HealthBoard({ onOpen: openCamera, periodMs: 5000 });
new Wizard({ onRegistered: (camera) => openCamera(camera.id) });

async function unauthorised() {
  if (redirecting) return;
  redirecting = true;
  board.stop();
  const login = await loginPage();
  if (login) {
    location.assign(login);
    return;
  }
  showNotice("需要登录 Not signed in: enter the hub's token, or open the link the hub printed.");
  tokenForm.hidden = false;
  document.getElementById("token-input").focus();
}

tokenForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("token-input");
  const ok = await signInWithToken(input.value.trim());
  input.value = "";
  if (!ok) {
    showNotice("令牌无效 The token was refused.");
    return;
  }
  redirecting = false;
  tokenForm.hidden = true;
  showNotice("");
  route();
});

function route() {
  const match = location.hash.match(/camera=([^&]+)/);
  const onCamera = Boolean(match);
  document.getElementById("list-view").hidden = onCamera;
  document.getElementById("camera-view").hidden = !onCamera;
  if (onCamera) {
    board.stop();
    cameraPage = cameraPage || new CameraPage();
    cameraPage.open(decodeURIComponent(match[1]));
  } else {
    board.start();
  }
}

window.addEventListener("hashchange", (event) => {
  const leaving = cameraPage && cameraPage.dirty && !location.hash.includes("camera=");
  if (leaving && !window.confirm("放弃未保存的修改？ Discard unsaved changes?")) {
    history.replaceState(null, "", new URL(event.oldURL).hash);  // stay, with the address too
    return;
  }
  route();
});

whenUnauthorised(unauthorised);
(async () => {
  if (!(await tokenFromLink())) showNotice("令牌无效 The token in the link was refused.");
  route();
})();
