#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The module's hygiene rules as tests: no warning from `make W=1`, none from
# sparse (`make C=2` checks every file), and checkpatch.pl --no-tree clean.
# checkpatch.pl comes from Debian's linux-source-6.1 tarball, unpacked once
# into build/checkpatch/.  Prints TAP lines.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
out=$top/build/style
mkdir -p "$out"
rc=0

tap() {	# tap NAME LOG: ok when LOG has no warning or error
	local n
	n=$(grep -cE 'warning:|error:|ERROR:|WARNING:|CHECK:' "$2")
	if [ "$n" = 0 ]; then
		echo "ok - $1"
	else
		grep -E 'warning:|error:|ERROR:|WARNING:|CHECK:' "$2" | head -n 20 | sed 's/^/# /'
		echo "not ok - $1 # $n findings, see $2"
		rc=1
	fi
}

# Rebuild every object so W=1 sees all files.
touch dm-metro/*.c
make -s module W=1 > "$out/w1.log" 2>&1 || echo "error: make module W=1 failed" >> "$out/w1.log"
tap module_w1 "$out/w1.log"
make -s module C=2 > "$out/sparse.log" 2>&1 || echo "error: make module C=2 failed" >> "$out/sparse.log"
tap module_sparse "$out/sparse.log"

cp_dir=$top/build/checkpatch
cp_pl=$cp_dir/linux-source-6.1/scripts/checkpatch.pl
if [ ! -f "$cp_pl" ]; then
	tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n 1)
	if [ -z "$tarball" ]; then
		echo "ok - module_checkpatch # SKIP linux-source-6.1 not installed (make deps)"
		exit $rc
	fi
	mkdir -p "$cp_dir"
	tar -C "$cp_dir" -xf "$tarball" linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch 2>/dev/null
fi
perl "$cp_pl" --no-tree --terse -f $(git ls-files 'dm-metro/*.[ch]' 2>/dev/null || ls dm-metro/metro*.[ch]) > "$out/checkpatch.log" 2>&1
tap module_checkpatch "$out/checkpatch.log"
exit $rc
