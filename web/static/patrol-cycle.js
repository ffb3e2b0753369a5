// The patrol cycle, as hub/patrol_plan.py computes it: whole milliseconds from an anchor (when the
// run, or the last manual next/previous, began), so the page shows the stop the hub would name.

// The stop on screen at `nowMs` for a run anchored at `anchorMs` (null: an empty route).
export function position(route, anchorMs, nowMs) {
  if (!route.length) return null;
  const lapMs = route.reduce((sum, stop) => sum + stop.dwell_s * 1000, 0);
  const elapsedMs = Math.max(0, Math.floor(nowMs - anchorMs));
  const lap = Math.floor(elapsedMs / lapMs);
  const intoMs = elapsedMs - lap * lapMs;
  let startMs = 0;
  for (let index = 0; index < route.length; index += 1) {
    const endMs = startMs + route[index].dwell_s * 1000;
    if (intoMs < endMs) {
      const startedMs = anchorMs + lap * lapMs + startMs;
      return { index, lap, camera_id: route[index].camera_id, startedMs,
        nextSwitchMs: startedMs + route[index].dwell_s * 1000 };
    }
    startMs = endMs;
  }
  throw new Error("unreachable: intoMs < lapMs");
}

// The anchor that puts stop `index` (any integer: it wraps) on screen from `nowMs` on.
export function anchorFor(route, index, nowMs) {
  const wrapped = ((index % route.length) + route.length) % route.length;
  return nowMs - route.slice(0, wrapped).reduce((sum, stop) => sum + stop.dwell_s * 1000, 0);
}
