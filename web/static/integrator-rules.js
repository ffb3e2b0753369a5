// Rule forms for the kinds the hub accepts (hub/contracts/rules.py): crowd gathering,
// loitering, intrusion, line crossing and fall. Editing keeps the fields the form does not show
// (levels, masks, classes ...), so a rule set up through the API survives a round trip here.

export const KINDS = {
  crowd_gathering: "人员聚集 Crowd gathering",
  loitering: "徘徊 Loitering",
  intrusion: "区域入侵 Intrusion",
  line_crossing: "越线 Line crossing",
  fall: "跌倒 Fall",
};
const LEVELS = { red: "红 red", orange: "橙 orange", yellow: "黄 yellow", blue: "蓝 blue" };
const DIRECTIONS = { in: "进 in", out: "出 out", both: "双向 both" };
const DAYS = ["一 Mon", "二 Tue", "三 Wed", "四 Thu", "五 Fri", "六 Sat", "日 Sun"];
const ID_PATTERN = /^[A-Za-z0-9_.:-]+$/;

// Per kind: [field, label, default, {step, min, max} | choices]; defaults as the contracts.
const FIELDS = {
  crowd_gathering: [
    ["min_people", "最少人数 Min people", 10, { step: 1, min: 1, max: 10000 }],
    ["hold_s", "持续秒数 Hold (s)", 30, { step: "any", min: 0, max: 3600 }],
    ["clear_s", "解除秒数 Clear after (s)", 10, { step: "any", min: 0, max: 3600 }],
  ],
  loitering: [
    ["dwell_s", "停留秒数 Dwell (s)", 60, { step: "any", min: 0.1, max: 86400 }],
    ["level", "颜色 Colour", "yellow", LEVELS],
  ],
  intrusion: [
    ["min_inside_s", "进入秒数 Inside for (s)", 5, { step: "any", min: 0, max: 3600 }],
    ["level", "颜色 Colour", "orange", LEVELS],
  ],
  line_crossing: [
    ["direction", "方向 Direction", "in", DIRECTIONS],
    ["debounce_s", "去抖秒数 Debounce (s)", 2, { step: "any", min: 0, max: 600 }],
    ["level", "颜色 Colour", "yellow", LEVELS],
  ],
  fall: [
    ["lying_s", "倒地秒数 Lying for (s)", 2, { step: "any", min: 0, max: 3600 }],
    ["min_frames", "最少帧数 Min frames", 3, { step: 1, min: 1, max: 1000 }],
    ["level", "颜色 Colour", "red", LEVELS],
  ],
};
const COMMON = [["cooldown_s", "冷却秒数 Cooldown (s)", "", { step: "any", min: 0, max: 86400 }]];

function $(id) {
  return document.getElementById(id);
}

function option(value, text) {
  const element = document.createElement("option");
  element.value = value;
  element.textContent = text;
  return element;
}

function summary(rule) {
  const kind = rule.kind || "crowd_gathering";
  const place = rule.line_id || rule.zone_id;
  const shown = (FIELDS[kind] || []).map(([name]) => (rule[name] === undefined ? null : `${name}=${rule[name]}`));
  const armed = rule.schedule ? " · 布防 scheduled" : "";
  return `${KINDS[kind] || kind} · ${place} · ${shown.filter(Boolean).join(", ")}${armed}`;
}

export class RuleEditor {
  constructor({ onChange = () => {} } = {}) {
    this.onChange = onChange;
    this.list = [];
    this.editing = null;  // id of the rule in the form, null: a new one
    this.zoneIds = [];
    this.lineIds = [];
    this.form = $("rule-form");
    Object.entries(KINDS).forEach(([value, text]) => $("rule-kind").append(option(value, text)));
    DAYS.forEach((text, i) => {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = String(i + 1);
      box.checked = true;
      label.append(box, ` ${text}`);
      $("rule-days").append(label);
    });
    $("rule-kind").addEventListener("change", () => this.showKind(null));
    $("rule-new").addEventListener("click", () => this.edit(null));
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.apply(); });
    this.showKind(null);
  }

  load(rules) {
    this.list = rules.map((rule) => ({ kind: "crowd_gathering", ...rule }));
    this.edit(null);
    this.render();
  }

  rules() {
    return this.list.map((rule) => ({ ...rule }));
  }

  setPlaces(zoneIds, lineIds) {
    this.zoneIds = zoneIds;
    this.lineIds = lineIds;
    this.fillTargets(this.editing ? this.list.find((r) => r.id === this.editing) : null);
  }

  kind() {
    return $("rule-kind").value;
  }

  fillTargets(rule) {
    const select = $("rule-target");
    const wanted = rule ? rule.line_id || rule.zone_id : select.value;
    const ids = this.kind() === "line_crossing" ? this.lineIds : this.zoneIds;
    select.replaceChildren(...ids.map((id) => option(id, id)));
    if (ids.includes(wanted)) select.value = wanted;
  }

  showKind(rule) {
    const kind = this.kind();
    const fields = $("rule-fields");
    fields.replaceChildren();
    for (const [name, text, fallback, spec] of [...FIELDS[kind], ...COMMON]) {
      const label = document.createElement("label");
      label.htmlFor = `rule-${name}`;
      label.textContent = text;
      const choices = spec.step === undefined;
      const input = document.createElement(choices ? "select" : "input");
      input.id = `rule-${name}`;
      input.dataset.field = name;
      if (choices) Object.entries(spec).forEach(([value, shown]) => input.append(option(value, shown)));
      else Object.assign(input, { type: "number", step: spec.step, min: spec.min, max: spec.max });
      const value = rule && rule[name] !== undefined ? rule[name] : fallback;
      input.value = String(value);
      if (!choices && fallback === "") input.placeholder = "默认 default";
      fields.append(label, input);
    }
    if (!rule && !this.editing) $("rule-id").value = this.freeId(kind);
    this.fillTargets(rule);
  }

  freeId(kind) {
    const base = { crowd_gathering: "crowd", line_crossing: "crossing" }[kind] || kind;
    let n = 1;
    while (this.list.some((rule) => rule.id === `${base}-${n}`)) n += 1;
    return `${base}-${n}`;
  }

  edit(id) {
    const rule = id ? this.list.find((r) => r.id === id) : null;
    this.editing = null;  // so that showKind proposes an id for a new rule only
    this.showError("");
    if (rule) $("rule-kind").value = rule.kind;
    this.showKind(rule);
    this.editing = rule ? rule.id : null;
    if (rule) $("rule-id").value = rule.id;
    const window0 = rule && rule.schedule ? rule.schedule.windows[0] : null;
    $("rule-scheduled").checked = Boolean(window0);
    const days = window0 ? window0.days || [1, 2, 3, 4, 5, 6, 7] : [1, 2, 3, 4, 5, 6, 7];
    $("rule-days").querySelectorAll("input").forEach((box) => { box.checked = days.includes(Number(box.value)); });
    if (window0) {
      $("rule-start").value = window0.start || "00:00";
      $("rule-end").value = window0.end || "00:00";
      $("rule-tz").value = rule.schedule.timezone || "Asia/Shanghai";
    }
    $("rule-apply").textContent = rule ? "更新规则 Update rule" : "应用规则 Apply rule";
  }

  showError(text) {
    $("rule-error").textContent = text;
    $("rule-error").hidden = !text;
  }

  // The form as a rule: the rule being edited (same kind) with the form's fields over it.
  read() {
    const kind = this.kind();
    const id = $("rule-id").value.trim();
    const target = $("rule-target").value;
    if (!ID_PATTERN.test(id)) return "规则编号只能含字母数字 _ . : - Rule id: letters, digits, _ . : - only";
    if (this.list.some((rule) => rule.id === id && rule.id !== this.editing)) return `规则编号重复 Rule id ${id} is taken`;
    if (!target) return kind === "line_crossing" ? "请先画绊线 Draw a line first" : "请先画区域 Draw a zone first";
    const before = this.list.find((rule) => rule.id === this.editing);
    const rule = before && before.kind === kind ? { ...before } : {};
    Object.assign(rule, { id, kind });
    delete rule.zone_id;
    delete rule.line_id;
    rule[kind === "line_crossing" ? "line_id" : "zone_id"] = target;
    for (const input of $("rule-fields").querySelectorAll("[data-field]")) {
      const name = input.dataset.field;
      if (input.tagName === "SELECT") rule[name] = input.value;
      else if (input.value === "") delete rule[name];
      else if (!input.checkValidity()) return `${input.labels[0].textContent}: ${input.validationMessage}`;
      else rule[name] = Number(input.value);
    }
    delete rule.schedule;
    if ($("rule-scheduled").checked) {
      const days = [...$("rule-days").querySelectorAll("input:checked")].map((box) => Number(box.value));
      if (!days.length) return "请选择布防日 Pick at least one day";
      const rest = before && before.schedule ? before.schedule.windows.slice(1) : [];
      rule.schedule = {
        timezone: $("rule-tz").value.trim() || "Asia/Shanghai",
        windows: [{ days, start: $("rule-start").value || "00:00", end: $("rule-end").value || "00:00" }, ...rest],
      };
    }
    return rule;
  }

  apply() {
    const rule = this.read();
    if (typeof rule === "string") { this.showError(rule); return; }
    const index = this.list.findIndex((r) => r.id === this.editing);
    if (index >= 0) this.list[index] = rule;
    else this.list.push(rule);
    this.edit(null);
    this.render();
    this.onChange();
  }

  remove(id) {
    this.list = this.list.filter((rule) => rule.id !== id);
    if (this.editing === id) this.edit(null);
    this.render();
    this.onChange();
  }

  render() {
    const items = this.list.map((rule) => {
      const item = document.createElement("li");
      item.dataset.ruleId = rule.id;
      const text = document.createElement("span");
      text.textContent = `${rule.id}: ${summary(rule)}`;
      const edit = document.createElement("button");
      edit.type = "button";
      edit.className = "quiet";
      edit.textContent = "编辑 Edit";
      edit.setAttribute("aria-label", `编辑规则 Edit rule ${rule.id}`);
      edit.addEventListener("click", () => this.edit(rule.id));
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "quiet";
      remove.textContent = "删除 Delete";
      remove.setAttribute("aria-label", `删除规则 Delete rule ${rule.id}`);
      remove.addEventListener("click", () => this.remove(rule.id));
      item.append(text, edit, remove);
      return item;
    });
    $("rule-list").replaceChildren(...items);
  }
}
