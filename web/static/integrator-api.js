// The hub's camera API for the integrator page: same-origin fetches with the session cookie,
// errors turned into readable bilingual messages, and signing in the way the console does.

const STATUS_TEXT = {
  400: "请求无效 Bad request",
  401: "未登录 Not signed in",
  403: "无权限 Not allowed",
  404: "未找到 Not found",
  409: "已被他人修改，请重新加载 Changed by someone else, reload",
  422: "输入有误 Check the fields",
  502: "设备无响应 The device did not answer",
  503: "中心暂不可用 The hub cannot do this now",
  504: "设备超时 The device timed out",
};
const REASON_TEXT = {
  bad_credentials: "用户名或密码错误 Wrong camera username or password",
  timeout: "连接超时 Timed out",
  unreachable: "无法连接设备 The device cannot be reached",
  no_frame: "没有画面 No frame from the camera",
  invalid_response: "设备应答无效 The device answered something invalid",
};

export class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.body = body;
  }
}

// "where: why" for each item of a 422 list, the text of a string detail, the reason's label.
export function describe(status, body) {
  const head = (body && REASON_TEXT[body.reason]) || STATUS_TEXT[status] || `错误 Error ${status}`;
  const detail = body && body.detail;
  if (Array.isArray(detail)) {
    const items = detail.map((item) => {
      const where = (item.loc || []).filter((part) => part !== "body").join(".");
      return where ? `${where}: ${item.msg}` : item.msg;
    });
    return `${head}: ${items.join("; ")}`;
  }
  return typeof detail === "string" && detail ? `${head}: ${detail}` : head;
}

let onUnauthorised = () => {};

export function whenUnauthorised(handler) {
  onUnauthorised = handler;
}

// JSON in, JSON out; throws ApiError (with the hub's message) on any non-2xx answer.
export async function api(path, { method = "GET", body, headers = {} } = {}) {
  const init = { method, credentials: "same-origin", headers: { ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, { detail: "无法连接中心 The hub cannot be reached" });
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch (error) {
    parsed = { detail: text.slice(0, 200) };
  }
  if (!response.ok) {
    if (response.status === 401) onUnauthorised();
    throw new ApiError(response.status, parsed);
  }
  return parsed;
}

// A link with `#token=...` (what the hub prints) trades the token for the session cookie.
export async function tokenFromLink() {
  const match = location.hash.match(/token=([^&]+)/);
  if (!match) return true;
  const token = decodeURIComponent(match[1]);
  const rest = location.hash.slice(1).split("&").filter((part) => !part.startsWith("token=")).join("&");
  history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  return signInWithToken(token);
}

export async function signInWithToken(token) {
  try {
    await api("/api/session", { method: "POST", body: { token } });
    return true;
  } catch (error) {
    return false;
  }
}

// Where a 401 goes: the sign-in page when this hub has one, else null (ask for a token here).
export async function loginPage() {
  try {
    const found = await fetch("/login", { credentials: "same-origin" });  // GET: routes answer HEAD 405
    if (!found.ok) return null;
  } catch (error) {
    return null;
  }
  const back = location.pathname + location.hash;
  return `/login?next=${encodeURIComponent(back)}`;
}
