#!/usr/bin/env bash
# Regenerate the committed test clips in tests/data/ from vtest.avi (see tests/data/README.md).
# Not part of setup: the clips are committed. Needs ffmpeg with libx264 and python3.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/fetch_footage.sh
mkdir -p tests/data

# The first 20 s, H.264 with a 1 s GOP (keyframe every 10 frames, no scene-cut keyframes).
ffmpeg -hide_banner -loglevel error -y -i .cache/footage/vtest.avi -t 20 -map 0:v:0 -an \
    -c:v libx264 -preset medium -crf 30 -g 10 -sc_threshold 0 -pix_fmt yuv420p \
    -map_metadata -1 -fflags +bitexact -flags:v +bitexact tests/data/vtest-20s.mp4

# Starts like an MP4 (ftyp, mdat), then garbage; no moov box, so opening it fails.
python3 - <<'EOF'
import random
from pathlib import Path

head = Path("tests/data/vtest-20s.mp4").read_bytes()[:4096]
Path("tests/data/corrupt.mp4").write_bytes(head + random.Random(20240601).randbytes(60 * 1024))
EOF

# 3 s of 640x360, then 3 s of 320x180: a camera whose resolution changes mid-stream.
tmp="$(mktemp -d)"
for part in "640x360 0 a" "320x180 3.2 b"; do
    read -r size offset name <<<"$part"
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=${size}:rate=10" -t 3 \
        -c:v libx264 -preset veryfast -crf 35 -g 10 -sc_threshold 0 -pix_fmt yuv420p \
        -map_metadata -1 -fflags +bitexact -flags:v +bitexact -output_ts_offset "$offset" \
        -f mpegts "$tmp/$name.ts"
done
cat "$tmp/a.ts" "$tmp/b.ts" > tests/data/resolution-change.ts
rm -r "$tmp"

sha256sum tests/data/vtest-20s.mp4 tests/data/corrupt.mp4 tests/data/resolution-change.ts
