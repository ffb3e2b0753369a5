#!/usr/bin/env bash
# Set up a development environment in .venv/ at the repository root (Debian/Ubuntu).
#
#   1. Debian packages the tests need, installed only when missing.
#   2. .venv/ with Python 3.11+, torch (pinned first, so ultralytics does not pull another build),
#      then the project in editable mode with every extra.
#   3. The offline default model weights and the test footage.
#   4. The console's Leaflet files (scripts/build_web.sh: npm ci, then a copy into web/static/).
#
# Idempotent: step 2 is skipped while .venv/.setup-stamp matches the hash of pyproject.toml and of
# this script; steps 1 and 3 only check what is already there. Force a reinstall with
# `rm .venv/.setup-stamp`. pip runs with -qq: errors show, warnings and progress do not.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

TORCH_PINS=(torch==2.14.1 torchvision==0.29.1)
APT_PACKAGES=(
    redis-server          # tests start their own redis-server
    mosquitto             # tests start their own MQTT broker (outbound incident changes)
    ffmpeg                # tests make their own clips
    docker-compose        # tests validate docker-compose.yml
    chromium              # browser tests drive it through playwright (tests/web/)
    fonts-wqy-microhei    # Chinese glyphs in the console's screenshots
    nodejs                # npm fetches Leaflet for the console map (scripts/build_web.sh)
    # GStreamer RTSP server for the RTSP integration tests
    gir1.2-gst-rtsp-server-1.0
    python3-gi
    gstreamer1.0-plugins-good
    gstreamer1.0-plugins-bad
    gstreamer1.0-libav
)
VENV=.venv
STAMP="$VENV/.setup-stamp"
started=$SECONDS

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# --- privileges and apt ---------------------------------------------------------------------
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); fi
fi
apt_updated=0

# Run a noisy command with its output kept in a log, shown only when it fails.
run_logged() {
    local log
    log=$(mktemp)
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        die "failed: $*"
    fi
    rm -f "$log"
}

apt_install() {
    command -v apt-get >/dev/null 2>&1 \
        || die "apt-get not found; install these packages by hand: $*"
    if [[ $(id -u) -ne 0 && ${#SUDO[@]} -eq 0 ]]; then
        die "need root or sudo to install: $*"
    fi
    if [[ $apt_updated -eq 0 ]]; then
        say "apt-get update"
        run_logged "${SUDO[@]}" apt-get update -q
        apt_updated=1
    fi
    say "apt-get install $*"
    run_logged "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "$@"
}

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for pkg in "${APT_PACKAGES[@]}"; do
        is_installed "$pkg" || missing+=("$pkg")
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        apt_install "${missing[@]}"
    else
        say "system packages present"
    fi
else
    say "warning: not a Debian system; make sure these are installed: ${APT_PACKAGES[*]}"
fi

# --- Python ---------------------------------------------------------------------------------
is_py311() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

PYTHON=""
for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && is_py311 "$candidate"; then
        PYTHON=$candidate
        break
    fi
done
[[ -n $PYTHON ]] || die "Python 3.11 or newer not found (tried python3.11, python3); install it \
(Debian: apt-get install python3.11 python3.11-venv) and run again"

if [[ -x $VENV/bin/python ]] && is_py311 "$VENV/bin/python"; then
    say "using $VENV/ ($("$VENV/bin/python" --version))"
else
    say "creating $VENV/ with $PYTHON ($("$PYTHON" --version))"
    if ! "$PYTHON" -m venv --clear "$VENV" >/dev/null 2>&1; then
        apt_install python3-venv
        "$PYTHON" -m venv --clear "$VENV" || die "could not create $VENV/ with $PYTHON"
    fi
fi

stamp_key=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [[ -f $STAMP && $(cat "$STAMP") == "$stamp_key" && -x $VENV/bin/xueliang \
      && -x $VENV/bin/pytest ]]; then
    say "Python packages up to date ($STAMP)"
else
    rm -f "$STAMP"
    say "upgrading pip"
    "$VENV/bin/python" -m pip install -qq --upgrade pip
    say "installing ${TORCH_PINS[*]}"
    "$VENV/bin/python" -m pip install -qq "${TORCH_PINS[@]}"
    say "installing the project: pip install -e '.[all,dev]'"
    "$VENV/bin/python" -m pip install -qq -e '.[all,dev]'
    printf '%s\n' "$stamp_key" >"$STAMP"
fi

# --- weights and footage --------------------------------------------------------------------
"$VENV/bin/python" scripts/fetch_weights.py
bash scripts/fetch_footage.sh

# --- console map (Leaflet from npm) ----------------------------------------------------------
# Debian's npm is its own package; NodeSource's nodejs bundles npm and conflicts with it.
command -v npm >/dev/null 2>&1 || apt_install npm
bash scripts/build_web.sh

say "done in $((SECONDS - started)) s"
