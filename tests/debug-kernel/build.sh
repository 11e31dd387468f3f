#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build the dm-metro debug kernel (KASAN, lockdep, kmemleak, fault
# injection) from Debian's linux-source-6.1 with tests/debug-kernel/debug.config
# merged over tinyconfig, and build dm-metro against it.
#
#   tests/debug-kernel/build.sh      prints the kernel's directory when done
#
# The result is cached in build/debug-kernel/<key>/, the key being a hash of
# the source tarball's version and the config fragment: repeated runs do not
# rebuild it.  Needs linux-source-6.1, bc, bison, flex, libelf-dev,
# libssl-dev (tests/deps.sh installs them).
set -eu

TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${METRO_BUILD:-$TOP/build}
FRAG=$TOP/tests/debug-kernel/debug.config
TARBALL=$(ls /usr/src/linux-source-6.1.tar.xz 2>/dev/null || true)
[ -n "$TARBALL" ] || { echo "build.sh: /usr/src/linux-source-6.1.tar.xz missing: apt-get install linux-source-6.1" >&2; exit 2; }
SRCVER=$(dpkg-query -W -f '${Version}' linux-source-6.1)
KEY=$( { echo "$SRCVER"; cat "$FRAG"; } | sha256sum | cut -c1-16)
OUT=$BUILD/debug-kernel/$KEY
SRC=$BUILD/debug-kernel/src-$SRCVER
JOBS=$(nproc)

if [ -f "$OUT/done" ]; then
	echo "$OUT"
	exit 0
fi
mkdir -p "$BUILD/debug-kernel"
if [ ! -f "$SRC/Makefile" ]; then
	echo "build.sh: unpacking $TARBALL" >&2
	rm -rf "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	tar -xJf "$TARBALL" -C "$SRC.tmp" --strip-components=1
	mv "$SRC.tmp" "$SRC"
fi
mkdir -p "$OUT/obj"
echo "build.sh: configuring ($OUT)" >&2
{
	make -s -C "$SRC" O="$OUT/obj" tinyconfig
	"$SRC/scripts/kconfig/merge_config.sh" -m -O "$OUT/obj" "$OUT/obj/.config" "$FRAG"
	make -s -C "$SRC" O="$OUT/obj" olddefconfig
} > "$OUT/config.log" 2>&1 || { cat "$OUT/config.log" >&2; exit 1; }
# Every option of the fragment must have survived: a silently dropped one
# (a missing dependency) would make the lane test less than it says.
missing=0
while IFS= read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	opt=${line%%=*} val=${line#*=}
	if [ "$val" = n ]; then
		grep -q "^$opt=" "$OUT/obj/.config" && { echo "build.sh: $opt is set, wanted off" >&2; missing=1; }
	else
		grep -qx "$line" "$OUT/obj/.config" || { echo "build.sh: $line did not survive olddefconfig" >&2; missing=1; }
	fi
done < "$FRAG"
[ $missing = 0 ] || exit 1
echo "build.sh: building the kernel with $JOBS jobs" >&2
make -s -C "$SRC" O="$OUT/obj" -j"$JOBS" bzImage modules_prepare >&2
# The few modules (brd), and Module.symvers for building dm-metro.
make -s -C "$SRC" O="$OUT/obj" -j"$JOBS" modules >&2
rm -rf "$OUT/modroot"
make -s -C "$SRC" O="$OUT/obj" INSTALL_MOD_PATH="$OUT/modroot" modules_install >&2
make -s -C "$SRC" O="$OUT/obj" kernelrelease > "$OUT/kernelrelease"
cp "$OUT/obj/arch/x86/boot/bzImage" "$OUT/bzImage"
touch "$OUT/done"
echo "$OUT"
