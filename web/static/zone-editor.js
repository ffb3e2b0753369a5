// A canvas over a camera snapshot where zones (polygons) and lines (tripwires) are drawn.
// Points are kept in relative image coordinates (0-1, origin top-left), as the hub stores them.
// Zone: click to add points, double-click (or click the first point, or Enter) to close.
// Line: click its two ends; "in" is a crossing from the left of a->b to its right (the arrow).
// Drag any point to move it; click a shape to select it; Delete removes the selected shape.

const HIT_PX = 8;  // how near a point a press must be to grab it
const SAME_PX = 5;  // a click this near the last point adds nothing (the 2nd click of a dblclick)
const DRAG_PX = 2;  // moves smaller than this are a click, not a drag

function round(value) {
  return Math.round(Math.min(1, Math.max(0, value)) * 10000) / 10000;
}

function freeId(prefix, taken) {
  let n = 1;
  while (taken.has(`${prefix}-${n}`)) n += 1;
  return `${prefix}-${n}`;
}

function inside(point, polygon) {
  let hit = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i, i += 1) {
    const [xi, yi] = polygon[i];
    const [xj, yj] = polygon[j];
    if ((yi > point[1]) !== (yj > point[1])
        && point[0] < ((xj - xi) * (point[1] - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

function segmentDistance(p, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const length = dx * dx + dy * dy;
  const t = length ? Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length)) : 0;
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
}

export class ZoneEditor {
  constructor(canvas, { onChange = () => {}, onMode = () => {} } = {}) {
    this.canvas = canvas;
    this.onChange = onChange;
    this.onMode = onMode;
    this.shapes = [];  // {type: "zone" | "line", id, name, points: [[x, y], ...]}
    this.drawing = null;  // the shape being drawn, not yet in `shapes`
    this.selected = null;  // id
    this.drag = null;
    this.suppressClick = false;
    canvas.addEventListener("pointerdown", (event) => this.press(event));
    canvas.addEventListener("pointermove", (event) => this.move(event));
    canvas.addEventListener("pointerup", (event) => this.release(event));
    canvas.addEventListener("click", (event) => this.click(event));
    canvas.addEventListener("dblclick", (event) => { event.preventDefault(); this.closeZone(); });
    canvas.addEventListener("keydown", (event) => this.key(event));
    new ResizeObserver(() => this.redraw()).observe(canvas);
  }

  load(zones, lines) {
    this.shapes = [
      ...zones.map((zone) => ({ type: "zone", id: zone.id, name: zone.name || "", points: zone.polygon.map((p) => [...p]) })),
      ...lines.map((line) => ({ type: "line", id: line.id, name: line.name || "", points: [[...line.a], [...line.b]] })),
    ];
    this.drawing = null;
    this.selected = null;
    this.setMode();
    this.redraw();
  }

  zones() {
    return this.shapes.filter((s) => s.type === "zone")
      .map((s) => ({ id: s.id, name: s.name, polygon: s.points.map(([x, y]) => [x, y]) }));
  }

  lines() {
    return this.shapes.filter((s) => s.type === "line")
      .map((s) => ({ id: s.id, name: s.name, a: [...s.points[0]], b: [...s.points[1]] }));
  }

  get mode() {
    return this.drawing ? this.drawing.type : "idle";
  }

  start(type) {
    const taken = new Set(this.shapes.map((s) => s.id));
    this.drawing = { type, id: freeId(type, taken), name: "", points: [] };
    this.selected = null;
    this.setMode();
    this.canvas.focus();
    this.redraw();
  }

  cancel() {
    this.drawing = null;
    this.setMode();
    this.redraw();
  }

  closeZone() {
    if (!this.drawing || this.drawing.type !== "zone" || this.drawing.points.length < 3) return false;
    this.finish();
    return true;
  }

  finish() {
    this.shapes.push(this.drawing);
    this.selected = this.drawing.id;
    this.drawing = null;
    this.setMode();
    this.changed();
  }

  remove(id) {
    const before = this.shapes.length;
    this.shapes = this.shapes.filter((s) => s.id !== id);
    if (this.selected === id) this.selected = null;
    if (this.shapes.length !== before) this.changed();
  }

  rename(id, name) {
    const shape = this.shapes.find((s) => s.id === id);
    if (shape) { shape.name = name; this.changed(); }
  }

  reverse(id) {
    const shape = this.shapes.find((s) => s.id === id && s.type === "line");
    if (shape) { shape.points.reverse(); this.changed(); }
  }

  select(id) {
    this.selected = id;
    this.redraw();
    this.onChange(this, { selectionOnly: true });
  }

  setMode() {
    this.canvas.dataset.mode = this.mode;
    this.onMode(this.mode, this.drawing ? this.drawing.points.length : 0);
  }

  changed() {
    this.redraw();
    this.onChange(this, { selectionOnly: false });
  }

  relative(event) {
    const box = this.canvas.getBoundingClientRect();
    return [round((event.clientX - box.left) / box.width), round((event.clientY - box.top) / box.height)];
  }

  pixels(point) {
    return [point[0] * this.canvas.clientWidth, point[1] * this.canvas.clientHeight];
  }

  distancePx(a, b) {
    const [ax, ay] = this.pixels(a);
    const [bx, by] = this.pixels(b);
    return Math.hypot(ax - bx, ay - by);
  }

  vertexAt(point) {
    const candidates = this.drawing ? [this.drawing, ...this.shapes] : this.shapes;
    for (const shape of candidates) {
      const index = shape.points.findIndex((p) => this.distancePx(p, point) <= HIT_PX);
      if (index >= 0) return { shape, index };
    }
    return null;
  }

  press(event) {
    const point = this.relative(event);
    const hit = this.vertexAt(point);
    if (!hit) return;
    this.drag = { ...hit, from: point, moved: false };
    this.canvas.setPointerCapture(event.pointerId);
  }

  move(event) {
    const point = this.relative(event);
    if (!this.drag) {
      this.canvas.style.cursor = this.vertexAt(point) ? "move" : this.drawing ? "crosshair" : "default";
      return;
    }
    if (!this.drag.moved && this.distancePx(point, this.drag.from) < DRAG_PX) return;
    this.drag.moved = true;
    this.drag.shape.points[this.drag.index] = point;
    this.redraw();
  }

  release(event) {
    if (!this.drag) return;
    const { moved, shape } = this.drag;
    this.drag = null;
    if (this.canvas.hasPointerCapture(event.pointerId)) this.canvas.releasePointerCapture(event.pointerId);
    if (!moved) return;
    this.suppressClick = true;  // the click that ends a drag adds no point
    if (shape !== this.drawing) this.changed();
  }

  click(event) {
    if (this.suppressClick) { this.suppressClick = false; return; }
    const point = this.relative(event);
    const drawing = this.drawing;
    if (!drawing) { this.pick(point); return; }
    const points = drawing.points;
    if (points.length && this.distancePx(points[points.length - 1], point) <= SAME_PX) return;
    if (drawing.type === "zone" && points.length >= 3 && this.distancePx(points[0], point) <= HIT_PX) {
      this.finish();
      return;
    }
    points.push(point);
    if (drawing.type === "line" && points.length === 2) { this.finish(); return; }
    this.setMode();
    this.redraw();
  }

  pick(point) {
    const found = [...this.shapes].reverse().find((s) => (s.type === "zone"
      ? inside(point, s.points)
      : segmentDistance(this.pixels(point), this.pixels(s.points[0]), this.pixels(s.points[1])) <= HIT_PX));
    this.select(found ? found.id : null);
  }

  key(event) {
    if (event.key === "Escape") this.cancel();
    else if (event.key === "Enter") this.closeZone();
    else if ((event.key === "Delete" || event.key === "Backspace") && this.selected) this.remove(this.selected);
    else return;
    event.preventDefault();
  }

  redraw() {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
    if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    for (const shape of this.shapes) this.paint(ctx, shape, shape.id === this.selected);
    if (this.drawing) this.paint(ctx, this.drawing, true, true);
  }

  paint(ctx, shape, highlighted, open = false) {
    const pts = shape.points.map((p) => this.pixels(p));
    if (!pts.length) return;
    const colour = shape.type === "zone" ? "#ffb300" : "#00b0ff";
    ctx.lineWidth = highlighted ? 3 : 2;
    ctx.strokeStyle = highlighted ? "#ff1744" : colour;
    ctx.fillStyle = "rgba(255, 179, 0, 0.25)";
    ctx.beginPath();
    pts.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    if (shape.type === "zone" && !open) { ctx.closePath(); ctx.fill(); }
    ctx.stroke();
    ctx.fillStyle = "#fff";
    for (const [x, y] of pts) { ctx.fillRect(x - 4, y - 4, 8, 8); ctx.strokeRect(x - 4, y - 4, 8, 8); }
    if (shape.type === "line" && pts.length === 2) this.arrow(ctx, pts[0], pts[1]);
    ctx.fillStyle = "#fff";
    ctx.font = "13px system-ui, sans-serif";
    ctx.fillText(shape.name || shape.id, pts[0][0] + 8, pts[0][1] - 8);
  }

  // An arrow from the middle of a->b towards its right: the "in" direction.
  arrow(ctx, a, b) {
    const length = Math.hypot(b[0] - a[0], b[1] - a[1]) || 1;
    const nx = -(b[1] - a[1]) / length;
    const ny = (b[0] - a[0]) / length;
    const mx = (a[0] + b[0]) / 2;
    const my = (a[1] + b[1]) / 2;
    const tip = [mx + nx * 24, my + ny * 24];
    ctx.beginPath();
    ctx.moveTo(mx, my);
    ctx.lineTo(...tip);
    ctx.lineTo(tip[0] - nx * 7 + ny * 5, tip[1] - ny * 7 - nx * 5);
    ctx.moveTo(...tip);
    ctx.lineTo(tip[0] - nx * 7 - ny * 5, tip[1] - ny * 7 + nx * 5);
    ctx.stroke();
    ctx.fillStyle = "#fff";
    ctx.fillText("进 in", tip[0] + 4, tip[1] + 4);
  }
}
