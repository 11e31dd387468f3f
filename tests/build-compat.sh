#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build the module against Debian's newest 6.12 headers (bookworm-backports)
# with W=1, and fail on any warning: the compat probes must cover every API
# difference from the 6.1 kernel the VM tests run.
#
# The headers are unpacked under build/kheaders/ (not installed), so the
# default KDIR of `make` stays on the installed 6.1 headers.  Prints one
# TAP line, `ok - build_6.12` or `not ok - build_6.12 # why`.
#
#   tests/build-compat.sh --headers   only fetch and unpack the headers and
#       print "VERSION ROOT" (ROOT/usr/src/linux-headers-VERSION-amd64 is
#       the build tree; the dkms_package case uses it); exit 77 when the
#       archive has no 6.12 headers, 1 on failure
set -u
headers_only=0
[ "${1:-}" = --headers ] && headers_only=1

top=$(cd "$(dirname "$0")/.." && pwd)
cache=$top/build/kheaders
name=build_6.12

skip() {
	[ "$headers_only" = 1 ] && { echo "build-compat.sh: $*" >&2; exit 77; }
	echo "ok - $name # SKIP $*"; exit 0
}
fail() {
	[ "$headers_only" = 1 ] && { echo "build-compat.sh: $*" >&2; exit 1; }
	echo "not ok - $name # $*"; exit 1
}

ensure_backports() {
	local f=/etc/apt/sources.list.d/dm-metro-backports.sources
	grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/ && return 0
	[ "$(id -u)" = 0 ] || return 1
	cat > "$f" <<-EOF
	Types: deb
	URIs: http://deb.debian.org/debian
	Suites: bookworm-backports
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	apt-get update -qq >/dev/null 2>&1
}

# Newest 6.12 amd64 headers package, e.g. linux-headers-6.12.107+deb12-amd64.
pick_version() {
	apt-cache search --names-only '^linux-headers-6\.12\.[0-9]+\+deb12-amd64$' 2>/dev/null |
		awk '{print $1}' | sed 's/^linux-headers-//; s/-amd64$//' | sort -V | tail -n 1
}

ver=$(pick_version)
if [ -z "$ver" ]; then
	ensure_backports || skip "bookworm-backports not configured and not root"
	ver=$(pick_version)
fi
[ -n "$ver" ] || skip "no 6.12 headers in the package archive"

root=$cache/$ver
kdir=$root/usr/src/linux-headers-$ver-amd64
if [ ! -f "$kdir/.dm-metro-ready" ]; then
	rm -rf "$root" && mkdir -p "$root/debs" || fail "cannot create $root"
	(cd "$root/debs" && apt-get download -q "linux-headers-$ver-amd64" \
		"linux-headers-$ver-common" "linux-kbuild-$ver" >/dev/null 2>&1) ||
		fail "cannot download the $ver headers"
	for d in "$root"/debs/*.deb; do
		dpkg-deb -x "$d" "$root" || fail "cannot unpack $d"
	done
	# The arch headers include the common ones by absolute path.
	sed -i "s|/usr/src/|$root/usr/src/|" "$kdir/Makefile" || fail "bad headers layout"
	touch "$kdir/.dm-metro-ready"
fi
if [ "$headers_only" = 1 ]; then
	echo "$ver $root"
	exit 0
fi

# Build a copy of the tracked sources so the checkout's own build stays put.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$top" && git ls-files -z dm-metro Kbuild Makefile 2>/dev/null |
	xargs -0 cp --parents -t "$work") || cp -r "$top/dm-metro" "$top/Kbuild" "$top/Makefile" "$work"
log=$cache/build-$ver.log
if ! make -C "$work" module KDIR="$kdir" W=1 >"$log" 2>&1; then
	tail -n 20 "$log" | sed 's/^/# /'
	fail "build against $ver failed (log: $log)"
fi
n=$(grep -cE 'warning:|error:' "$log")
if [ "$n" != 0 ]; then
	grep -E 'warning:|error:' "$log" | head -n 20 | sed 's/^/# /'
	fail "$n warnings building against $ver"
fi
vm=$(/sbin/modinfo -F vermagic "$work/dm-metro/dm-metro.ko" 2>/dev/null)
case "$vm" in
"$ver-amd64 "*) echo "ok - $name ($ver, W=1, no warnings)" ;;
*) fail "module vermagic '$vm' is not $ver-amd64" ;;
esac
