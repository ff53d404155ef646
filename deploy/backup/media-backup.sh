#!/bin/sh
# Back up caltrace's media (the signed certificate PDFs and DCCs) to a tar archive with a
# SHA-256 manifest, so a restore can prove every file came back byte for byte.
#
#   media-backup.sh MEDIA_ROOT DEST_DIR
#
# Writes DEST_DIR/media-<UTC time>.tar, its manifest media-<UTC time>.sha256 (one line per
# file, `sha256sum` format, paths relative to MEDIA_ROOT) and media-<UTC time>.tar.sha256
# (the archive's own digest). Prints the archive's path. Files are only ever added under
# MEDIA_ROOT (an issued file is never rewritten), so a copy taken while the LIMS runs is
# consistent file by file.
# Runbook: docs/operators/backup-and-recovery.md.
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 MEDIA_ROOT DEST_DIR" >&2
    exit 2
fi
media=$1
dest=$2
[ -d "$media" ] || { echo "media-backup: MEDIA_ROOT $media is not a directory" >&2; exit 2; }
mkdir -p "$dest"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
name="$dest/media-$stamp"
# The manifest first, from the same list of files the archive is made of.
list=$(mktemp)
trap 'rm -f "$list"' EXIT
(cd "$media" && find . -type f -print | LC_ALL=C sort) >"$list"
(cd "$media" && tr '\n' '\0' <"$list" | xargs -0 -r sha256sum --) >"$name.sha256.part"
(cd "$media" && tar --create --file - --no-recursion --files-from "$list") >"$name.tar.part"
mv "$name.tar.part" "$name.tar"
mv "$name.sha256.part" "$name.sha256"
(cd "$dest" && sha256sum -- "media-$stamp.tar") >"$name.tar.sha256"
echo "$name.tar"
