#!/usr/bin/env bash
# Fetch the full test footage, vtest.avi (768x576, 10 fps, 795 frames: a shopping-mall scene
# shipped with OpenCV's samples), into .cache/footage/ (git-ignored). It comes from Debian's
# opencv-doc package, so only the Debian mirror is needed. Idempotent: a verified copy is kept.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

DEST=.cache/footage/vtest.avi
SHA256=45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf
MEMBER=./usr/share/doc/opencv-doc/examples/data/vtest.avi

say() { printf 'footage: %s\n' "$*"; }
die() { printf 'footage: error: %s\n' "$*" >&2; exit 1; }
sha_ok() { [[ -f $1 ]] && [[ $(sha256sum "$1" | cut -d' ' -f1) == "$SHA256" ]]; }

if sha_ok "$DEST"; then
    say "vtest.avi ok ($DEST)"
    exit 0
fi

for tool in apt-get dpkg-deb tar sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found; this script needs Debian/Ubuntu \
(or put vtest.avi with sha256 $SHA256 at $DEST by hand)"
done

SUDO=()
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null 2>&1; then SUDO=(sudo); fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# As root, apt drops to the _apt user to download; let it write here (else apt warns that the
# download runs unsandboxed, which is harmless).
if [[ $(id -u) -eq 0 ]] && id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi

download() { (cd "$tmp" && apt-get download -q opencv-doc) >"$tmp/apt.log" 2>&1; }

say "downloading Debian's opencv-doc package (apt-get download opencv-doc)"
if ! download; then
    # A fresh system may have no package lists yet.
    say "apt-get update"
    "${SUDO[@]}" apt-get update -q >"$tmp/update.log" 2>&1 || { cat "$tmp/update.log" >&2; \
        die "apt-get update failed"; }
    download || { cat "$tmp/apt.log" >&2; die "apt-get download opencv-doc failed"; }
fi

debs=("$tmp"/opencv-doc_*.deb)
[[ -f ${debs[0]} ]] || die "apt-get download left no opencv-doc_*.deb"
dpkg-deb --fsys-tarfile "${debs[0]}" | tar -x -C "$tmp" "$MEMBER" \
    || die "${debs[0]##*/} has no $MEMBER"
sha_ok "$tmp/$MEMBER" || die "vtest.avi from ${debs[0]##*/} has sha256 \
$(sha256sum "$tmp/$MEMBER" | cut -d' ' -f1), expected $SHA256"

mkdir -p "$(dirname "$DEST")"
mv -f "$tmp/$MEMBER" "$DEST.part"
chmod 644 "$DEST.part"
mv -f "$DEST.part" "$DEST"
say "vtest.avi installed and verified ($DEST, from ${debs[0]##*/})"
