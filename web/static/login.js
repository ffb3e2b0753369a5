// Sign-in page: username and password for a server-side session (an HttpOnly cookie the page
// never sees), and the first admin's one-time set-up. Same-origin fetches: the browser sends
// Origin, which the hub checks (a sign-in from another site is refused).
"use strict";

const MESSAGES = {
  401: "用户名或密码错误 Wrong username or password.",
  403: "请求被拒绝 The request was refused (another site?).",
  404: "设置已完成或令牌错误 Set-up is closed, or the token is wrong.",
  409: "该用户名已存在 This username exists.",
  422: "输入无效 Check the fields (password: 10+ characters).",
  429: "失败次数过多，请稍后再试 Too many failed attempts: wait a few minutes.",
};

function show(id, text) {
  const box = document.getElementById(id);
  box.textContent = text;
  box.hidden = !text;
}

// Back to where the console sent us from; only a path on this hub (never another site).
function next() {
  const wanted = new URLSearchParams(location.search).get("next") || "/";
  return wanted.startsWith("/") && !wanted.startsWith("//") ? wanted : "/";
}

async function post(path, body) {
  try {
    const response = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    return response.status;
  } catch (error) {
    return 0;
  }
}

function failure(status) {
  return MESSAGES[status] || (status ? `错误 Error ${status}` : "无法连接 The hub cannot be reached.");
}

async function signIn(username, password) {
  const status = await post("/api/session", { username, password });
  if (status === 204) {
    location.assign(next());
    return null;
  }
  return failure(status);
}

document.getElementById("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  show("sign-in-error", "");
  const form = event.target;
  const error = await signIn(form.username.value, form.password.value);
  if (error) {
    form.password.value = "";
    show("sign-in-error", error);
  }
});

document.getElementById("set-up").addEventListener("submit", async (event) => {
  event.preventDefault();
  show("set-up-error", "");
  const form = event.target;
  const body = { token: form.token.value.trim(), username: form.username.value, password: form.password.value };
  const status = await post("/api/setup", body);
  if (status !== 201) return show("set-up-error", failure(status));
  const error = await signIn(body.username, body.password);
  if (error) show("set-up-error", error);
});
