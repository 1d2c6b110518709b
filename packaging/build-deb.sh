#!/usr/bin/env bash
# Builds the simplex-relay .deb: copies the source tree (tracked and untracked files, without build
# directories) into a scratch directory, puts packaging/debian there as ./debian and runs
#   dpkg-buildpackage -us -uc -b
# The .deb files are moved to OUTDIR (default: the current directory).
#
#   packaging/build-deb.sh [OUTDIR]
#   DEB_BUILD_OPTIONS=parallel=2 packaging/build-deb.sh /tmp/debs
#
# Needs the packages in packaging/build-deps.txt (debhelper, dpkg-dev, fakeroot and the build libraries).
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-.}" && cd "${1:-.}" && pwd)
scratch=$(mktemp -d /tmp/sr-deb-XXXXXX)
trap 'rm -rf "$scratch"' EXIT

tree="$scratch/simplex-relay"
mkdir "$tree"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  # tracked and new files, minus files deleted in the work tree
  (cd "$src" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi; done) |
    tar -C "$src" --null -T - -cf - | tar -C "$tree" -xf -
  SR_VERSION_COMMIT=$(git -C "$src" rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
else
  tar -C "$src" --exclude='./build*' --exclude=./debian -cf - . | tar -C "$tree" -xf -
  SR_VERSION_COMMIT=unknown
fi
export SR_VERSION_COMMIT
rm -rf "$tree/debian"
cp -a "$tree/packaging/debian" "$tree/debian"

# Keep the package version equal to the project version without editing the changelog for every bump.
project_version=$(sed -nE "s/^  version: '([^']+)'.*/\1/p" "$src/meson.build" | head -1)
changelog_version=$(dpkg-parsechangelog -l "$tree/debian/changelog" -S Version)
if [ -n "$project_version" ] && [ "$project_version" != "$changelog_version" ]; then
  { printf 'simplex-relay (%s) unstable; urgency=medium\n\n  * Snapshot of %s.\n\n -- %s  %s\n\n' \
      "$project_version" "$SR_VERSION_COMMIT" \
      "$(dpkg-parsechangelog -l "$tree/debian/changelog" -S Maintainer)" "$(date -R)"
    cat "$tree/debian/changelog"; } >"$tree/debian/changelog.new"
  mv "$tree/debian/changelog.new" "$tree/debian/changelog"
fi

export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=$(nproc)}
(cd "$tree" && dpkg-buildpackage -us -uc -b)
mv "$scratch"/*.deb "$out"/
ls -1 "$out"/simplex-relay*_"$(dpkg-parsechangelog -l "$tree/debian/changelog" -S Version)"_*.deb
