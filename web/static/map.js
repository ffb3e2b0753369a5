// The console map: grid polygons, cameras with their heading, open incidents, responders and the
// places' 1/3/5-minute rings, all from GET /api/map. Leaflet (web/static/vendor/, built by
// scripts/build_web.sh) draws them; tiles only when the hub has XUELIANG_MAP_TILE_URL.
// No socket of its own: it reloads when incidents.js hears of incident changes, and on a poll
// (responders move without incident changes).
"use strict";

const consoleMap = (() => {
  const { el, api } = incidentKit;
  const POLL_MS = 30000;
  const CHANGE_DELAY_MS = 300;  // one reload for a burst of pushed changes
  const WEDGE_M = 60;  // how far a camera's view wedge reaches on the map
  const LEVEL_NAME = { city: "市 city", district: "区县 district", street: "街道 street",
    community: "社区 community", grid_cell: "网格 grid cell" };
  const AVAILABILITY = { available: "可派 available", committed: "执行中 committed",
    delayed: "延迟 delayed", unavailable: "不可用 unavailable", off_shift: "下班 off shift" };
  const container = document.getElementById("map");
  const status = document.getElementById("map-status");
  let map = null;
  let layers = null;
  let tilesFor;  // the tile URL the base layer was made for (null: none; unset: not yet drawn)
  let fitted = false;
  let timer = null;
  let loading = false;

  function say(text) {
    status.textContent = text;
    status.hidden = !text;
  }

  function start() {
    if (typeof L === "undefined") {  // the vendor files were not built: say so, keep the console
      say("地图库缺失 Map library missing: run scripts/build_web.sh on the hub.");
      console.warn("console map: /static/vendor/leaflet/leaflet.js did not load");
      return false;
    }
    map = L.map(container, { zoomControl: true, attributionControl: true });
    map.setView([30.657, 104.066], 13);  // replaced by the data's bounds on the first load
    const names = ["grid", "rings", "cameras", "responders", "incidents"];  // bottom to top
    layers = Object.fromEntries(names.map((name) => [name, L.layerGroup().addTo(map)]));
    L.control.layers(null, {
      "网格 Grid": layers.grid, "响应圈 Rings": layers.rings, "摄像头 Cameras": layers.cameras,
      "处置人员 Responders": layers.responders, "事件 Incidents": layers.incidents,
    }, { collapsed: false }).addTo(map);
    return true;
  }

  function setTiles(meta) {
    if (tilesFor === meta.tile_url) return;
    map.eachLayer((layer) => { if (layer instanceof L.TileLayer) map.removeLayer(layer); });
    tilesFor = meta.tile_url;
    if (meta.tile_url) {
      L.tileLayer(meta.tile_url, { maxZoom: 19, attribution: meta.tile_attribution }).addTo(map);
    }
    container.classList.toggle("no-tiles", !meta.tile_url);
  }

  // A marker drawn with our own DOM (no HTML strings: the page's CSP allows no inline styles).
  function icon(node, size) {
    return L.divIcon({ html: node, className: "map-icon", iconSize: [size, size] });
  }

  function marked(node, data) {
    for (const [key, value] of Object.entries(data)) node.dataset[key] = value;
    return node;
  }

  function tooltip(lines) {
    return lines.filter(Boolean).join("<br>");
  }

  function text(value) {
    return el("span", "", String(value ?? "")).innerHTML;  // escaped for Leaflet's tooltips
  }

  function latLng(feature) {
    const [lon, lat] = feature.geometry.coordinates;
    return [lat, lon];
  }

  function gridLayer(collection) {
    L.geoJSON(collection, {
      style: (feature) => ({ className: `map-grid level-${feature.properties.level}`,
        weight: feature.properties.level === "grid_cell" ? 2 : 1, fillOpacity: 0.06 }),
      onEachFeature: (feature, layer) => {
        const p = feature.properties;
        layer.bindTooltip(tooltip([text(p.name), `${LEVEL_NAME[p.level] || text(p.level)} · ${text(p.id)}`]),
          { sticky: true });
      },
    }).addTo(layers.grid);
  }

  // Points `distance_m` from `centre` toward `bearing` (0 = north), flat-earth: wedges are short.
  function offset([lat, lon], bearing, distance_m) {
    const rad = (bearing * Math.PI) / 180;
    const dLat = (distance_m * Math.cos(rad)) / 111320;
    const dLon = (distance_m * Math.sin(rad)) / (111320 * Math.cos((lat * Math.PI) / 180));
    return [lat + dLat, lon + dLon];
  }

  function cameraLayer(collection) {
    for (const feature of collection.features) {
      const p = feature.properties;
      const at = latLng(feature);
      if (p.heading_deg !== null) {
        const fov = p.fov_deg ?? 60;  // unknown field of view: a nominal wedge, drawn dashed
        const edge = [];
        for (let step = 0; step <= 8; step++) edge.push(offset(at, p.heading_deg - fov / 2 + (fov * step) / 8, WEDGE_M));
        L.polygon([at, ...edge], { className: `map-camera-view${p.fov_deg ? "" : " nominal"}`,
          weight: 1, interactive: false }).addTo(layers.cameras);
      }
      const node = marked(el("div", `map-camera${p.enabled ? "" : " disabled"}`), { cameraId: p.id });
      if (p.heading_deg !== null) {
        const arrow = el("div", "arrow");
        arrow.style.transform = `rotate(${p.heading_deg}deg)`;  // CSSOM: allowed by the CSP
        node.append(arrow);
      }
      const heading = p.heading_deg === null ? "朝向未知 heading unknown" : `朝向 heading ${Math.round(p.heading_deg)}°`;
      L.marker(at, { icon: icon(node, 18), keyboard: false })
        .bindTooltip(tooltip([`摄像头 Camera ${text(p.name)}`, heading,
          p.fov_deg ? `视场 FOV ${Math.round(p.fov_deg)}°` : ""]))
        .addTo(layers.cameras);
    }
  }

  function ringLayer(collection, meta) {
    for (const feature of collection.features) {
      const p = feature.properties;
      L.circle(latLng(feature), { radius: p.radius_m, className: `map-ring ring-${p.ring_min}`,
        weight: 2, fillOpacity: 0.05, interactive: true })
        .bindTooltip(tooltip([`${p.ring_min} 分钟响应圈 ${p.ring_min}-min ring · ${text(p.name)}`,
          `${Math.round(p.radius_m)} m (${text(meta.ring_mode)} ${meta.ring_speed_m_s} m/s)`]))
        .addTo(layers.rings);
    }
  }

  function ageText(seconds) {
    if (seconds < 90) return `${Math.round(seconds)} 秒前 s ago`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} 分钟前 min ago`;
    return `${Math.round(seconds / 3600)} 小时前 h ago`;
  }

  function responderLayer(collection) {
    for (const feature of collection.features) {
      const p = feature.properties;
      const node = marked(el("div", `map-responder ${p.availability}${p.stale ? " stale" : ""}`),
        { responderId: p.id, availability: p.availability });
      L.marker(latLng(feature), { icon: icon(node, 16), keyboard: false })
        .bindTooltip(tooltip([`处置人员 Responder ${text(p.name)}`, AVAILABILITY[p.availability] || text(p.availability),
          `位置 position ${ageText(p.age_s)}${p.stale ? " · 过期 stale" : ""}`]))
        .addTo(layers.responders);
    }
  }

  // Opens the incident as a click on its row does, so the list highlights it and live changes
  // keep flowing into the detail.
  function openIncident(id) {
    const row = document.querySelector(`#incidents li[data-incident-id="${CSS.escape(id)}"] .incident-open`);
    if (row) row.click(); else incidentDetail.open(id);
    document.getElementById("incident-detail").scrollIntoView({ block: "nearest" });
  }

  function incidentLayer(collection) {
    for (const feature of collection.features) {
      const p = feature.properties;
      const node = marked(el("button", `map-incident level-${p.colour}`), { incidentId: p.id, colour: p.colour });
      node.type = "button";
      node.title = `${incidentKit.levelLabel(p.colour)} ${incidentKit.kindLabel(p.kind)}`;
      const where = p.place_name ? `${text(p.place_name)} · ` : "";
      L.marker(latLng(feature), { icon: icon(node, 22), zIndexOffset: 1000, keyboard: false })
        .bindTooltip(tooltip([`${incidentKit.levelLabel(p.colour)} · ${text(incidentKit.kindLabel(p.kind))}`,
          `${where}网格 cell ${text(p.grid_cell || "—")}`, incidentKit.label(incidentKit.STATE_LABEL, p.state)]))
        .on("click", () => openIncident(p.id))
        .addTo(layers.incidents);
    }
  }

  // Frame the detail (cells, rings, markers), not the whole city polygon around it.
  function fit() {
    const all = Object.values(layers).flatMap((group) => group.getLayers());
    const detail = all.filter((layer) => !(layer instanceof L.GeoJSON))
      .concat(layers.grid.getLayers().flatMap((group) => group.getLayers()
        .filter((cell) => cell.feature.properties.level === "grid_cell")));
    const chosen = detail.length ? detail : all;
    const bounds = chosen.length ? L.featureGroup(chosen).getBounds() : null;
    if (!bounds || !bounds.isValid()) return false;  // only empty groups so far: fit later
    map.fitBounds(bounds, { padding: [16, 16], maxZoom: 18 });
    return true;
  }

  function draw(view) {
    setTiles(view.meta);
    Object.values(layers).forEach((group) => group.clearLayers());
    gridLayer(view.grid);
    ringLayer(view.rings, view.meta);
    cameraLayer(view.cameras);
    responderLayer(view.responders);
    incidentLayer(view.incidents);
    if (!fitted) fitted = fit();  // once: later reloads keep where the operator panned
    container.dataset.loadedAt = view.meta.generated_at;
  }

  async function refresh() {
    if (!map || loading) return;
    loading = true;
    try {
      const answer = await api("/api/map");
      if (!answer.ok) return say(`地图加载失败 Map not loaded (${answer.error})`);
      say("");
      draw(answer.data);
    } finally {
      loading = false;
    }
  }

  function changed() {
    clearTimeout(timer);
    timer = setTimeout(refresh, CHANGE_DELAY_MS);
  }

  // Follow the incident panel, which hears every pushed frame (apply) and every resync
  // (refresh, also the first load): one socket for the page, app.js's.
  const { apply, refresh: reload } = incidentList;
  incidentList.apply = (incidents) => {
    apply(incidents);
    if (incidents && incidents.length) changed();
  };
  incidentList.refresh = () => {
    changed();
    return reload();
  };
  if (start()) setInterval(refresh, POLL_MS);

  return { refresh };
})();
