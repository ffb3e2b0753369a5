// The responder page's calls to the hub. A responder token (from a `#token=` link) is kept in
// sessionStorage and sent as a bearer header: the hub turns only its own tokens into cookies.
// A responder user signed in at /login is carried by the session cookie instead.
const KEY = "xl-responder-token";

export function takeToken() {
  const match = location.hash.match(/token=([^&]+)/);
  if (match) {
    sessionStorage.setItem(KEY, decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);  // out of the address bar
  }
}

export class SignedOut extends Error {}

export async function call(path, { method = "GET", json, body, type } = {}) {
  const headers = {};
  const token = sessionStorage.getItem(KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) headers["Content-Type"] = "application/json";
  if (type) headers["Content-Type"] = type;
  const response = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: json !== undefined ? JSON.stringify(json) : body,
  });
  if (response.status === 401) {
    sessionStorage.removeItem(KEY);
    throw new SignedOut();
  }
  return response;
}

export async function failure(response) {
  try {
    const body = await response.json();
    const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    return `错误 Error ${response.status}: ${detail}`;
  } catch (error) {
    return `错误 Error ${response.status}`;
  }
}

// A protected image as a data: URL (the page's CSP allows 'self' and data: images; an <img>
// cannot send the bearer header).
export async function imageData(path) {
  const response = await call(path);
  if (!response.ok) return null;
  const blob = await response.blob();
  return new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => resolve(null);
    reader.readAsDataURL(blob);
  });
}
