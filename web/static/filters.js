// One filter bar over both lists (alerts and open incidents): grid cell, kind, level, and the
// state of each (an alert's status, an incident's state). Rows stay in the lists and are only
// hidden, so clearing a filter shows what arrived meanwhile; the choice lives in the URL query
// (a link or a reload keeps it) and goes to the server on every REST load where the API has it.
"use strict";

const consoleFilters = (() => {
  const FIELDS = ["grid", "kind", "level", "status", "state"];
  const form = document.getElementById("filters");
  const chosen = {};
  const query = new URLSearchParams(location.search);
  for (const field of FIELDS) chosen[field] = query.get(field) || "";
  const cells = new Map();  // grid cell id -> { name, polygons } (polygons only from /api/map)
  let reload = () => null;

  // The hub decides an alert's cell (hub/access.py place_cell): the reported one when the grid
  // knows it, else the cell at its position, else the reported one. Incidents carry the hub's.
  function alertCell(item) {
    const reported = item.dataset.cell || "";
    const known = cells.get(reported);
    if (known && known.polygons) return reported;
    const lat = Number(item.dataset.lat);
    const lon = Number(item.dataset.lon);
    const hits = [...cells].filter(([, cell]) => (cell.polygons || []).some((p) => inPolygon(p, lon, lat)));
    hits.sort(([a], [b]) => (a < b ? -1 : 1));  // ties: the lowest id, as the hub's grid does
    return hits.length ? hits[0][0] : reported;
  }

  // GeoJSON polygon (outer ring, then holes) by ray casting: inside the outer, outside the holes.
  function inPolygon(rings, x, y) {
    const inRing = (ring) => {
      let inside = false;
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [xi, yi] = ring[i];
        const [xj, yj] = ring[j];
        if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
      }
      return inside;
    };
    return inRing(rings[0]) && !rings.slice(1).some(inRing);
  }

  // What a row is matched on, kept on the row itself so that a filter change re-reads it.
  function mark(item, type, data) {
    item.dataset.filterType = type;
    item.dataset.kind = data.kind;
    if (type === "alert") {
      Object.assign(item.dataset, { level: data.level, status: data.status,
        cell: data.grid_cell || "", lat: data.location.lat, lon: data.location.lon });
    } else {
      Object.assign(item.dataset, { level: data.colour, state: data.state, cell: data.grid_cell || "" });
      noteCell(data.grid_cell);
    }
    item.classList.toggle("filtered-out", !matches(item));
  }

  function matches(item) {
    const alert = item.dataset.filterType === "alert";
    const cell = alert ? alertCell(item) : item.dataset.cell;
    return (!chosen.grid || cell === chosen.grid) &&
      (!chosen.kind || item.dataset.kind === chosen.kind) &&
      (!chosen.level || item.dataset.level === chosen.level) &&
      (!alert || !chosen.status || item.dataset.status === chosen.status) &&
      (alert || !chosen.state || item.dataset.state === chosen.state);
  }

  // "showing N of M" under each heading: N shown by the filter of the M rows the list holds.
  function count() {
    for (const [listId, countId] of [["alerts", "alerts-count"], ["incidents", "incidents-count"]]) {
      const rows = [...document.getElementById(listId).children];
      const shown = rows.filter((row) => !row.classList.contains("filtered-out")).length;
      document.getElementById(countId).textContent = `显示 ${shown} / 共 ${rows.length} · showing ${shown} of ${rows.length}`;
    }
  }

  function apply() {
    for (const item of document.querySelectorAll("[data-filter-type]")) {
      item.classList.toggle("filtered-out", !matches(item));
    }
    count();
  }

  // The server-side filters of each list's REST load (the same choice, in the API's names).
  function params(type) {
    const names = type === "alert"
      ? { grid: "grid_cell", kind: "kind", level: "level", status: "status" }
      : { grid: "grid_cell", kind: "kind", level: "colour", state: "state" };
    return Object.entries(names).filter(([field]) => chosen[field])
      .map(([field, name]) => `&${name}=${encodeURIComponent(chosen[field])}`).join("");
  }

  function option(select, value, text, relabel = false) {
    const existing = [...select.options].find((o) => o.value === value);
    if (existing) {
      if (relabel) existing.textContent = text;
      return;
    }
    const node = document.createElement("option");
    node.value = value;
    node.textContent = text;
    select.append(node);
  }

  function fill(name, table) {
    const select = form.elements[name];
    for (const [value, text] of Object.entries(table)) option(select, value, text);
    if (chosen[name]) option(select, chosen[name], chosen[name]);  // from a link: keep it shown
    select.value = chosen[name];
  }

  function noteCell(id, name, polygons) {
    if (!id) return;
    const known = cells.get(id);
    cells.set(id, { name: name || known?.name, polygons: polygons || known?.polygons });
    option(form.elements.grid, id, name ? `${name} ${id}` : id, Boolean(name));
  }

  function changed() {
    for (const field of FIELDS) chosen[field] = form.elements[field].value;
    const url = new URLSearchParams(location.search);
    for (const field of FIELDS) chosen[field] ? url.set(field, chosen[field]) : url.delete(field);
    const search = url.toString();
    history.replaceState(null, "", location.pathname + (search ? `?${search}` : "") + location.hash);
    apply();
    reload();  // rows beyond what the lists hold may match now
  }

  // The grid cells for the options (and to place alerts), from the map's grid layer.
  async function loadCells() {
    const answer = await incidentKit.api("/api/map");
    if (!answer.ok) return;
    for (const feature of answer.data.grid?.features || []) {
      const { id, name, level } = feature.properties;
      const g = feature.geometry;
      if (level !== "grid_cell" || !g) continue;
      noteCell(id, name, g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : []);
    }
    apply();
  }

  // Called by app.js once the page has its session; `onChange` reloads both lists.
  function init(onChange) {
    reload = onChange;
    fill("grid", {});
    fill("kind", KIND_LABEL);
    fill("level", LEVEL_LABEL);
    fill("status", STATUS_LABEL);
    const open = Object.entries(incidentKit.STATE_LABEL).filter(([state]) => !incidentKit.CLOSED.has(state));
    fill("state", Object.fromEntries(open));
    form.addEventListener("change", changed);
    form.addEventListener("submit", (event) => event.preventDefault());
    document.getElementById("filters-clear").addEventListener("click", () => {
      for (const field of FIELDS) form.elements[field].value = "";
      changed();
    });
    count();
    loadCells();
  }

  return { init, mark, matches, count, params };
})();
