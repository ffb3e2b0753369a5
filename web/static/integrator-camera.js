// One camera: its snapshot with the zone editor over it, the list of zones and lines, the rule
// forms, PTZ presets, and saving it all with the revision it was read at (If-Match): a change
// made meanwhile by someone else answers 409, and nothing is overwritten.

import { api } from "./integrator-api.js";
import { RuleEditor } from "./integrator-rules.js";
import { redactUrl } from "./integrator-wizard.js";
import { ZoneEditor } from "./zone-editor.js";

const MODE_HINT = {
  idle: "点击选择，拖动顶点移动 Click to select, drag a point to move it",
  zone: "点击添加顶点，双击或回车闭合 Click to add points; double-click or Enter closes the zone",
  line: "点击绊线的两个端点 Click the line's two ends",
};

function $(id) {
  return document.getElementById(id);
}

function button(text, label, onClick) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = "quiet";
  element.textContent = text;
  element.setAttribute("aria-label", label);
  element.addEventListener("click", onClick);
  return element;
}

export class CameraPage {
  constructor() {
    this.camera = null;
    this.dirty = false;
    this.editor = new ZoneEditor($("overlay"), {
      onChange: (_editor, { selectionOnly }) => this.shapesChanged(selectionOnly),
      onMode: (mode, points) => this.modeChanged(mode, points),
    });
    this.rules = new RuleEditor({ onChange: () => this.markDirty() });
    $("draw-zone").addEventListener("click", () => this.editor.start("zone"));
    $("draw-line").addEventListener("click", () => this.editor.start("line"));
    $("close-zone").addEventListener("click", () => this.editor.closeZone());
    $("cancel-draw").addEventListener("click", () => this.editor.cancel());
    $("reload-snapshot").addEventListener("click", () => this.loadSnapshot());
    $("save-camera").addEventListener("click", () => this.save());
    $("reload-camera").addEventListener("click", () => this.open(this.camera.id));
    $("snapshot").addEventListener("load", () => this.snapshotShown());
    $("snapshot").addEventListener("error", () => this.snapshotFailed());
  }

  async open(id) {
    this.showSave("", "");
    let camera;
    try {
      camera = await api(`/api/cameras/${encodeURIComponent(id)}`);
    } catch (error) {
      this.showSave("", error.message);
      return;
    }
    this.camera = camera;
    $("camera-title").textContent = camera.name || camera.id;
    $("camera-revision").textContent = `版本 revision ${camera.revision}`;
    const device = camera.device ? `${camera.device.manufacturer} ${camera.device.model} · ` : "";
    $("camera-facts").textContent = `${camera.id} · ${device}${redactUrl(camera.stream_url)} · `
      + `${camera.location.lat}, ${camera.location.lon}${camera.grid_cell ? ` · 网格 grid ${camera.grid_cell}` : ""}`;
    this.editor.load(camera.zones, camera.lines);
    this.rules.load(camera.rules);
    this.renderShapes();
    this.renderPresets();
    this.dirty = false;
    this.loadSnapshot();
  }

  loadSnapshot() {
    $("snapshot-error").hidden = true;
    $("snapshot").classList.remove("missing");
    $("snapshot").src = `/api/cameras/${encodeURIComponent(this.camera.id)}/snapshot.jpg?t=${Date.now()}`;
  }

  snapshotShown() {
    $("overlay").dataset.snapshot = "loaded";
    this.editor.redraw();
  }

  // The image failed: ask again for the hub's reason, and leave a blank 16:9 stage to draw on.
  async snapshotFailed() {
    $("snapshot").classList.add("missing");
    $("overlay").dataset.snapshot = "failed";
    let reason = "快照不可用 Snapshot unavailable";
    try {
      await api(`/api/cameras/${encodeURIComponent(this.camera.id)}/snapshot.jpg`);
    } catch (error) {
      reason = `快照不可用 Snapshot unavailable: ${error.message}`;
    }
    $("snapshot-error").textContent = reason;
    $("snapshot-error").hidden = false;
    this.editor.redraw();
  }

  modeChanged(mode, points) {
    $("draw-hint").textContent = MODE_HINT[mode];
    $("close-zone").disabled = !(mode === "zone" && points >= 3);
    $("cancel-draw").disabled = mode === "idle";
  }

  shapesChanged(selectionOnly) {
    this.renderShapes();
    if (!selectionOnly) this.markDirty();
  }

  markDirty() {
    this.dirty = true;
    this.showSave("有未保存的修改 Unsaved changes", "");
  }

  renderShapes() {
    const editor = this.editor;
    const items = editor.shapes.map((shape) => {
      const item = document.createElement("li");
      item.dataset.shapeId = shape.id;
      item.className = shape.id === editor.selected ? "selected" : "";
      const kind = shape.type === "zone" ? `区域 zone · ${shape.points.length} 点 points` : "绊线 line";
      const label = document.createElement("label");
      label.htmlFor = `name-${shape.id}`;
      label.textContent = `${shape.id} (${kind})`;
      const name = document.createElement("input");
      name.id = `name-${shape.id}`;
      name.maxLength = 120;
      name.placeholder = "名称 name";
      name.value = shape.name;
      name.addEventListener("change", () => editor.rename(shape.id, name.value.trim()));
      item.append(label, name,
        button("选择 Select", `选择 Select ${shape.id}`, () => editor.select(shape.id)));
      if (shape.type === "line") {
        item.append(button("反向 Reverse", `反向 Reverse line ${shape.id}`, () => editor.reverse(shape.id)));
      }
      item.append(button("删除 Delete", `删除 Delete ${shape.id}`, () => editor.remove(shape.id)));
      return item;
    });
    $("shape-list").replaceChildren(...items);
    $("shapes-empty").hidden = items.length > 0;
    this.rules.setPlaces(editor.zones().map((z) => z.id), editor.lines().map((l) => l.id));
  }

  renderPresets() {
    const presets = this.camera.ptz_presets || [];
    const box = $("ptz");
    box.replaceChildren(...presets.map((preset) => {
      const name = preset.name || preset.token;
      const go = button(`预置位 Preset ${name}`, `转到预置位 Go to preset ${name}`, () => this.goto(preset.token, go));
      return go;
    }));
    box.hidden = presets.length === 0;
  }

  async goto(token, control) {
    control.disabled = true;
    try {
      await api(`/api/cameras/${encodeURIComponent(this.camera.id)}/ptz/goto`, { method: "POST", body: { preset: token } });
      this.showSave(`已转到预置位 Moved to preset ${token}`, "");
      setTimeout(() => this.loadSnapshot(), 1000);
    } catch (error) {
      this.showSave("", error.message);
    } finally {
      control.disabled = false;
    }
  }

  showSave(status, error) {
    $("save-status").textContent = status;
    $("save-error").textContent = error;
    $("save-error").hidden = !error;
  }

  async save() {
    if (this.editor.mode !== "idle") {
      this.showSave("", "请先完成或取消绘制 Finish or cancel the shape being drawn first");
      return;
    }
    $("save-camera").disabled = true;
    const body = { zones: this.editor.zones(), lines: this.editor.lines(), rules: this.rules.rules() };
    try {
      const saved = await api(`/api/cameras/${encodeURIComponent(this.camera.id)}`, {
        method: "PATCH", body, headers: { "If-Match": `"${this.camera.revision}"` },
      });
      this.camera = saved;
      this.dirty = false;
      $("camera-revision").textContent = `版本 revision ${saved.revision}`;
      this.showSave(`已保存 Saved (revision ${saved.revision})`, "");
    } catch (error) {
      const text = error.status === 409
        ? "摄像头已被他人修改，请重新加载 Changed by someone else, reload (your edits are not saved)."
        : error.message;
      this.showSave("", text);
    } finally {
      $("save-camera").disabled = false;
    }
  }
}
