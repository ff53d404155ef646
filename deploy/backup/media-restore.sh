#!/bin/sh
# Restore caltrace's media from an archive of media-backup.sh and prove it byte for byte.
#
#   media-restore.sh ARCHIVE MEDIA_ROOT
#
# Checks the archive's own digest, extracts it into MEDIA_ROOT (which must be missing or
# empty: a restore never overwrites a file), then checks every file against the
# manifest. Exit 0 only when every file listed came back identical.
# Runbook: docs/operators/backup-and-recovery.md.
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 ARCHIVE MEDIA_ROOT" >&2
    exit 2
fi
archive=$1
media=$2
base=${archive%.tar}
for file in "$archive" "$archive.sha256" "$base.sha256"; do
    [ -f "$file" ] || { echo "media-restore: $file is missing" >&2; exit 2; }
done
if [ -d "$media" ] && [ -n "$(ls -A "$media")" ]; then
    echo "media-restore: MEDIA_ROOT $media is not empty; restore into an empty directory" >&2
    exit 2
fi

(cd "$(dirname "$archive")" && sha256sum --check --quiet -- "$(basename "$archive").sha256") || {
    echo "media-restore: $archive does not match its recorded SHA-256" >&2
    exit 1
}
mkdir -p "$media"
tar --extract --file "$archive" --directory "$media"
manifest=$(cd "$(dirname "$base")" && pwd)/$(basename "$base").sha256
(cd "$media" && sha256sum --check --quiet --strict -- "$manifest") || {
    echo "media-restore: files in $media differ from the manifest $manifest" >&2
    exit 1
}
echo "media-restore: $(wc -l <"$manifest") file(s) restored into $media, each matching its SHA-256"
