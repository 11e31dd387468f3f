#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# debian/build-deb.sh [OUTDIR]   (make deb)
#
# Build the Debian packages dm-metro-dkms and dm-metro-tools with
# dpkg-buildpackage -us -uc from a copy of the work tree (its tracked and
# untracked files, not the ignored ones, so that no build product of the
# checkout reaches the source package) in OUTDIR/src (default build/deb),
# then check them with lintian.  The .debs end up in OUTDIR, lintian's
# report in OUTDIR/lintian.log.  Fails when the build fails or lintian
# reports an error; prints lintian's warnings.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build/deb}
for t in dpkg-buildpackage dpkg-parsechangelog dh dh_dkms lintian git; do
	command -v "$t" >/dev/null ||
		{ echo "build-deb.sh: $t missing: make deps (debhelper, dh-dkms, lintian)" >&2; exit 1; }
done
ver=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)

rm -rf "$out"
mkdir -p "$out/src/dm-metro-$ver"
src=$out/src/dm-metro-$ver
(
	cd "$top"
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		xargs -0 cp -P --parents -t "$src"
)

# no -dbgsym package: "apt install ./dm-metro*.deb" installs the two
echo "build-deb.sh: dpkg-buildpackage -us -uc in $src (log $out/build.log)"
if ! (cd "$src" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }noautodbgsym" \
	dpkg-buildpackage -us -uc) > "$out/build.log" 2>&1; then
	tail -n 30 "$out/build.log" >&2
	echo "build-deb.sh: dpkg-buildpackage failed, see $out/build.log" >&2
	exit 1
fi

# lintian exits 1 when it reports an error, 2 when it could not check
changes=$(ls "$out"/src/dm-metro_"$ver"_*.changes)
lrc=0
lintian --fail-on error --info --display-info --pedantic "$changes" > "$out/lintian.log" 2>&1 || lrc=$?
if [ "$lrc" -ge 2 ] || grep -q '^No packages selected' "$out/lintian.log"; then
	cat "$out/lintian.log" >&2
	echo "build-deb.sh: lintian did not check the packages (exit $lrc)" >&2
	exit 1
fi
mv "$out"/src/*.deb "$out/"
n_err=$(grep -c '^E: ' "$out/lintian.log" || true)
n_warn=$(grep -c '^W: ' "$out/lintian.log" || true)
grep -E '^[EW]: ' "$out/lintian.log" | sort -u || true
ls -1 "$out"/*.deb
echo "build-deb.sh: lintian: $n_err errors, $n_warn warnings (all tags: $out/lintian.log)"
[ "$n_err" = 0 ] && [ "$lrc" = 0 ]
