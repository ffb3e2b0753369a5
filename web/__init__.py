"""The operator page: static files served by the hub, no CDN. Their one build step copies the
map library (Leaflet, from npm) into static/vendor/ (scripts/build_web.sh)."""

from pathlib import Path

STATIC_DIR = Path(__file__).with_name("static")
