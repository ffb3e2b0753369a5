// The patrol page's requests: the console's session cookie (or the #token= link the hub prints);
// a 401 anywhere sends the operator to the sign-in page and back here afterwards.

export class SignedOut extends Error {}

export function toSignIn() {
  location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
}

export async function request(path, options = {}) {
  const init = { credentials: "same-origin", ...options };
  if (options.body !== undefined) {
    init.headers = { "Content-Type": "application/json", ...(options.headers || {}) };
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    toSignIn();
    throw new SignedOut("not signed in");
  }
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error(errorText(response.status, body));
  return body;
}

function errorText(status, body) {
  const detail = body && body.detail;
  if (typeof detail === "string") return `${status}: ${detail}`;
  if (Array.isArray(detail)) return `${status}: ${detail.map((item) => item.msg).join("; ")}`;
  return `${status}`;
}

// Trade a `#token=` link for the session cookie (as the console does), then say who is signed in.
export async function signIn() {
  const match = location.hash.match(/token=([^&]+)/);
  if (match) {
    history.replaceState(null, "", location.pathname + location.search);
    await fetch("/api/session", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: decodeURIComponent(match[1]) }),
    });
  }
  return request("/api/session");
}

export const api = {
  plans: () => request("/api/patrol/plans"),
  plan: (id) => request(`/api/patrol/plans/${encodeURIComponent(id)}`),
  logView: (view, keepalive = false) => request("/api/patrol/log", { method: "POST", body: view, keepalive }),
  report: (body) => request("/api/patrol/reports", { method: "POST", body }),
  coverage: (id, day, tz) => request(`/api/patrol/plans/${encodeURIComponent(id)}/coverage?` +
    new URLSearchParams({ day, tz })),
  snapshotUrl: (planId, cameraId) =>
    `/api/patrol/plans/${encodeURIComponent(planId)}/cameras/${encodeURIComponent(cameraId)}/snapshot.jpg`,
};
