#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build dm-metro against the debug kernel in DIR (tests/debug-kernel/build.sh
# prints it), from a copy of the sources in DIR/metro, so that the checkout's
# own dm-metro.ko (for Debian's kernel) is left alone.
#
#   tests/debug-kernel/build-module.sh DIR
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
DIR=$(realpath "$1")
[ -f "$DIR/obj/Module.symvers" ] || { echo "build-module.sh: no built kernel in $DIR" >&2; exit 2; }
rm -rf "$DIR/metro"
mkdir -p "$DIR/metro/dm-metro"
cp "$TOP/Kbuild" "$DIR/metro/"
cp "$TOP"/dm-metro/Kbuild "$TOP"/dm-metro/*.c "$TOP"/dm-metro/*.h "$TOP"/dm-metro/probe-compat.sh "$DIR/metro/dm-metro/"
rm -f "$DIR/metro/dm-metro/compat.h" "$DIR/metro/dm-metro/"*.mod.c
"$DIR/metro/dm-metro/probe-compat.sh" "$DIR/obj" "$DIR/metro/dm-metro/compat.h"
make -s -C "$DIR/obj" M="$DIR/metro" modules
cp "$DIR/metro/dm-metro/dm-metro.ko" "$DIR/metro/dm-metro.ko"
