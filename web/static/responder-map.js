// A small map per assignment: the incident and the responder's own position (Leaflet from
// /static/vendor/leaflet/; tiles only when the hub has a tile server, else a plain background).
const maps = new Map();  // incident id -> { map, me }

export function drawMap(container, incident, tiles) {
  if (typeof L === "undefined" || !incident.location) {
    container.textContent = incident.location ? "地图库缺失 Map library missing" : "无位置 No location";
    return;
  }
  const at = [incident.location.lat, incident.location.lon];
  const map = L.map(container, { zoomControl: false, attributionControl: Boolean(tiles.url) });
  if (tiles.url) L.tileLayer(tiles.url, { maxZoom: 19, attribution: tiles.attribution }).addTo(map);
  else container.classList.add("no-tiles");
  L.circleMarker(at, { radius: 10, className: `incident-dot level-${incident.colour}` })
    .bindTooltip("事件 Incident").addTo(map);
  map.setView(at, 16);
  maps.set(incident.id, { map, me: null, at });
}

export function showMe(position) {
  for (const entry of maps.values()) {
    const here = [position.lat, position.lon];
    if (!entry.me) {
      entry.me = L.circleMarker(here, { radius: 7, className: "me-dot" }).bindTooltip("我 Me").addTo(entry.map);
    } else {
      entry.me.setLatLng(here);
    }
    entry.map.fitBounds(L.latLngBounds([entry.at, here]).pad(0.3), { maxZoom: 17 });
  }
}

export function dropMap(incidentId) {
  const entry = maps.get(incidentId);
  if (entry) entry.map.remove();
  maps.delete(incidentId);
}
