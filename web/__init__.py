"""The operator page: static files (no build step, no CDN) served by the hub."""

from pathlib import Path

STATIC_DIR = Path(__file__).with_name("static")
