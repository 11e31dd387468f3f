#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Install everything building and testing dm-metro needs on Debian 12, then
# fetch the Debian kernel image matching the installed headers into the
# checkout's build dir (the test VM boots it).  Run as root; idempotent.
#
#   tests/deps.sh               packages + kernel image
#   tests/deps.sh --kernel-only only the kernel image (no apt-get install)
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${METRO_BUILD:-$TOP/build}

# The one package list.
PACKAGES=(
	# building
	build-essential pkg-config linux-headers-amd64 kmod sparse clang
	# pahole: BTF for modules built against the 6.12 headers (build-compat.sh)
	dwarves
	libdevmapper-dev libjson-c-dev libblkid-dev libudev-dev
	# unit tests
	libcmocka-dev
	# checkpatch.pl; the debug kernel of make check-debug
	linux-source-6.1 perl bc bison flex libelf-dev libssl-dev xz-utils
	# VM tests, demo, benchmarks
	qemu-system-x86 busybox-static cpio fio dmsetup e2fsprogs xfsprogs
	nbd-server nbd-client python3 jq util-linux coreutils
	# benchmarks (make bench): md raid1, DRBD 8.4 between two sites, the chart
	mdadm drbd-utils gnuplot-nox
	# metroctl_udev case (udevd in the guest)
	udev
)

log() { echo "deps: $*"; }

kernel_only=0
[ "${1:-}" = --kernel-only ] && kernel_only=1

if [ "$kernel_only" = 0 ]; then
	[ "$(id -u)" = 0 ] || { echo "deps: run as root" >&2; exit 1; }
	export DEBIAN_FRONTEND=noninteractive
	log "apt-get update"
	apt-get update
	log "apt-get install ${PACKAGES[*]}"
	apt-get install -y --no-install-recommends "${PACKAGES[@]}"
fi

# The kernel image matching the newest installed Debian headers (the same
# choice as the top-level Makefile's KDIR).
hdr=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1)
[ -n "$hdr" ] || { echo "deps: no /usr/src/linux-headers-*-amd64 installed" >&2; exit 1; }
kver=${hdr#/usr/src/linux-headers-}
kdir=$BUILD/kernel/$kver
if [ -f "$kdir/boot/vmlinuz-$kver" ] && [ -f "$kdir/lib/modules/$kver/modules.dep" ]; then
	log "kernel image $kver already in $kdir"
	exit 0
fi
log "fetching linux-image-$kver into $kdir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"	# apt's _apt sandbox user must be able to write there
( cd "$tmp" && apt-get download "linux-image-$kver" ) || {
	log "apt-get download failed; trying after apt-get update"
	apt-get update >/dev/null
	( cd "$tmp" && apt-get download "linux-image-$kver" )
}
rm -rf "$kdir.new"
mkdir -p "$kdir.new"
dpkg-deb -x "$tmp"/linux-image-"$kver"_*.deb "$kdir.new"
depmod -b "$kdir.new" "$kver"
rm -rf "$kdir"
mv "$kdir.new" "$kdir"
log "kernel $kver ready: $kdir/boot/vmlinuz-$kver"
