#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# make demo: boot the test VM and show a dm-metro volume surviving the loss
# of a leg (tests/vm/demo-case.sh).  The full console log is kept under
# build/vm/logs/.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
echo "Booting the test VM (qemu TCG, takes a few seconds)..."
"$TOP/tests/vm/run.sh" --case-dir "$TOP/tests/vm" --timeout 600 demo-case > >(
	while IFS= read -r l; do
		case "$l" in
		"| # demo-case: "*) echo "${l#| # demo-case: }" ;;
		"| # run.sh: booting"*|"| # metro-vm: modprobe"*) echo "${l#| }" ;;
		"ok - "*|"not ok - "*) echo "$l" ;;
		"| not ok - "*) ;;
		"| # demo-case: dmesg: "*) echo "${l#| # }" ;;
		esac
	done)
rc=$?
sleep 0.5
if [ $rc = 0 ]; then echo "make demo: PASS"; else echo "make demo: FAIL (exit $rc)"; fi
exit $rc
