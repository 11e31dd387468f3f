#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Run a command (fuzz_cli) where metroctl can reach no device: a private
# mount namespace in which /dev and /sys are empty read-only nodev tmpfs
# and /run an empty nodev tmpfs.  With no /dev/mapper/control (and no way
# to mknod one) every libdevmapper call fails; with no node of a block
# device, no leg can be opened.  Needs root (unshare --mount).
#   tests/fuzz/sandbox.sh ./fuzz_cli [libFuzzer options] CORPUS...
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
exec unshare --mount --propagation private sh -c '
	mount -t tmpfs -o ro,nodev,nosuid,noexec,mode=755 metro-fuzz /dev &&
	mount -t tmpfs -o ro,nodev,nosuid,noexec,mode=755 metro-fuzz /sys &&
	mount -t tmpfs -o nodev,nosuid,noexec,mode=755 metro-fuzz /run ||
		{ echo "sandbox.sh: cannot mount the empty /dev, /sys and /run" >&2; exit 1; }
	exec "$@"' sandbox "$@"
