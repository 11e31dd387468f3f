#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Two-site tests: each case of tests/two-site/cases/ runs in two qemu
# guests at once, site A and site B (TCG, 1 vCPU each), booted by
# tests/vm/run.sh and joined by one private link: a virtio-net NIC (eth0)
# in each guest over a pair of unix datagram sockets, addresses set only in
# the guests (10.99.0.1 and 10.99.0.2); nothing reaches the host's network.
# A case whose script has the line "# two-site-witness: yes" also gets a
# third guest, W (the witness: corosync-qnetd), with a link of its own to
# each site (A eth1 10.99.1.1 - W eth0 10.99.1.3, B eth1 10.99.2.2 - W
# eth1 10.99.2.3): cutting the A-B link leaves both witness links up.
# Each site has its own virtio disk (its leg, /dev/vda) in an image file
# that outlives the guest, and both see a directory shared with this script
# ($METRO_SHARE in the guests) through which the cases wait for each other
# and ask the host to act (tests/two-site/lib.sh):
#   link off | link on   cut or restore the A-B link (qemu set_link, both
#                        NICs; the witness links stay up)
#   kill A | kill B      kill -9 that site's guest (a site lost); then
#                        signals killed-A or killed-B
#   boot A | boot B      boot that site again, same disk (METRO_BOOT counts)
#   crash both           kill -9 both sites' guests at once (every node and
#                        array lost), then boot both again
#   blank B              give site B a new, empty disk (before "boot B")
#
#   tests/two-site/run.sh [--timeout S] [--kernel-dir DIR] [--case-dir DIR]
#                         [--disks N] [--disk-mib M] [--env K=V]... CASE...
#     --case-dir DIR   cases from DIR (default tests/two-site/cases)
#     --disks N        virtio disks per site (default 1: /dev/vda; then vdb...)
#     --disk-mib M     size of each disk image (default 64)
#     --env K=V        exported to the cases in both guests; repeatable
#
# Prints "ok - CASE" or "not ok - CASE" per case: a case passes when every
# guest it booted and did not kill printed ok.  Exit status 0 when all
# passed, 2 when the kernel image or the initramfs cannot be made (run.sh
# --prepare says why).  Logs: build/test-logs/latest/two-site-CASE-SITE.N.console.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
CASEDIR=$TOP/tests/two-site/cases
timeout=900 kdir=() cases=() ndisks=1 disk_mib=64 envs=()
while [ $# -gt 0 ]; do
	case "$1" in
	--timeout) timeout=$2; shift 2 ;;
	--kernel-dir) kdir=(--kernel-dir "$2"); shift 2 ;;
	--case-dir) CASEDIR=$(realpath "$2"); shift 2 ;;
	--disks) ndisks=$2; shift 2 ;;
	--disk-mib) disk_mib=$2; shift 2 ;;
	--env) envs+=(--env "$2"); shift 2 ;;
	-h|--help) awk 'NR >= 4 && /^#/ { sub(/^# ?/, ""); print } /^set -u/ { exit }' "$0"; exit 0 ;;
	-*) echo "two-site: unknown option $1" >&2; exit 2 ;;
	*) cases+=("$(basename "${1%.sh}")"); shift ;;
	esac
done
# A case that hangs is killed in its guest a minute before the guest is,
# so that the guest still prints its kernel log (the waits in the module
# say there what they wait for).
ctimeout=$((timeout > 120 ? timeout - 60 : timeout))
[ ${#cases[@]} -gt 0 ] || mapfile -t cases < <(cd "$CASEDIR" && ls *.sh | sed 's/\.sh$//')
LOGS=${METRO_TWO_SITE_LOGS:-$TOP/build/test-logs/latest}
mkdir -p "$LOGS"
# the real directory: another run may point "latest" elsewhere meanwhile
LOGS=$(cd "$LOGS" && pwd -P)

# hmp SOCKET COMMAND: one command to a qemu monitor
hmp() {
	python3 - "$1" "$2" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(2)
time.sleep(0.2)
s.sendall(sys.argv[2].encode() + b"\n")
time.sleep(0.3)
s.close()
EOF
}

declare -A pid boot killed
# start SITE: boot the site's guest (again) in the background
start() {
	local s=$1 nets=() disks=() k mem=1024
	boot[$s]=$((${boot[$s]:-0} + 1))
	rm -f "$run/$s.sock" "$run/$s".?.sock "$run/mon$s.sock"
	case $s in
	A) nets=(--net-dgram "$run/A.sock,$run/B.sock,52:54:00:99:00:0a")
	   [ "$witness" = 1 ] && nets+=(--net-dgram "$run/A.w.sock,$run/W.a.sock,52:54:00:99:01:0a") ;;
	B) nets=(--net-dgram "$run/B.sock,$run/A.sock,52:54:00:99:00:0b")
	   [ "$witness" = 1 ] && nets+=(--net-dgram "$run/B.w.sock,$run/W.b.sock,52:54:00:99:02:0b") ;;
	W) nets=(--net-dgram "$run/W.a.sock,$run/A.w.sock,52:54:00:99:01:0c"
		 --net-dgram "$run/W.b.sock,$run/B.w.sock,52:54:00:99:02:0c")
	   mem=512 ;;
	esac
	if [ "$s" != W ]; then
		[ -f "$run/disk$s.img" ] || truncate -s "${disk_mib}M" "$run/disk$s.img"
		disks=(--disk "$run/disk$s.img")
		for ((k = 2; k <= ndisks; k++)); do
			[ -f "$run/disk$s$k.img" ] || truncate -s "${disk_mib}M" "$run/disk$s$k.img"
			disks+=(--disk "$run/disk$s$k.img")
		done
	fi
	"$TOP/tests/vm/run.sh" -q --case-dir "$CASEDIR" --smp 1 --mem "$mem" \
		--timeout "$timeout" --case-timeout "$ctimeout" "${kdir[@]}" "${envs[@]}" \
		--log "$LOGS/two-site-$case-$s.${boot[$s]}.console" \
		"${disks[@]}" "${nets[@]}" \
		--monitor "$run/mon$s.sock" --share "$run/share" --env METRO_WITNESS="$witness" \
		--env METRO_SITE="$s" --env METRO_BOOT="${boot[$s]}" "$case" \
		> "$run/result-$s.${boot[$s]}" 2>&1 &
	pid[$s]=$!
	killed[$s.${boot[$s]}]=0
}

# act REQUEST-FILE: carry out one request of a guest
act() {
	local f=$1 s
	read -r verb arg < "$f"
	echo "# two-site $case: host: $verb $arg"
	case "$verb $arg" in
	"link off"|"link on")
		for s in A B; do
			[ -S "$run/mon$s.sock" ] && hmp "$run/mon$s.sock" "set_link net0 $arg"
		done ;;
	"kill A"|"kill B")
		killed[$arg.${boot[$arg]}]=1
		kill "${pid[$arg]}" 2>/dev/null
		wait "${pid[$arg]}" 2>/dev/null
		touch "$run/share/sig.killed-$arg" ;;
	"boot A"|"boot B") start "$arg" ;;
	"crash both")
		for s in A B; do
			killed[$s.${boot[$s]}]=1
			kill "${pid[$s]}" 2>/dev/null
		done
		for s in A B; do wait "${pid[$s]}" 2>/dev/null; done
		start B
		start A ;;
	"blank B") rm -f "$run/diskB.img" ;;
	*) echo "# two-site $case: unknown request '$verb $arg'" ;;
	esac
	touch "$f.done"
}

# The kernel image and the initramfs, made once before two guests start.
"$TOP/tests/vm/run.sh" --prepare "${kdir[@]}" > /dev/null || exit 2

fails=0
for case in "${cases[@]}"; do
	[ -f "$CASEDIR/$case.sh" ] || { echo "not ok - $case # no such case"; fails=$((fails + 1)); continue; }
	run=$(mktemp -d "${TMPDIR:-/tmp}/two-site.XXXXXX")
	mkdir -p "$run/share"
	chmod 777 "$run/share"
	boot=() killed=() pid=()
	witness=0
	grep -q '^# two-site-witness: yes' "$CASEDIR/$case.sh" && witness=1
	sites=(A B)
	[ "$witness" = 1 ] && sites+=(W)
	t0=$SECONDS
	[ "$witness" = 1 ] && start W
	start B
	start A
	while :; do
		for f in $(ls "$run/share" 2>/dev/null | grep -E '^req\.[0-9]+$' | sort -t. -k2 -n); do
			[ -e "$run/share/$f.done" ] || act "$run/share/$f"
		done
		alive=0
		for s in "${sites[@]}"; do kill -0 "${pid[$s]}" 2>/dev/null && alive=1; done
		[ "$alive" = 0 ] && break
		if [ $((SECONDS - t0)) -ge $((timeout + 60)) ]; then
			echo "# two-site $case: timed out after ${timeout}s"
			for s in "${sites[@]}"; do kill "${pid[$s]}" 2>/dev/null; done
			wait
			break
		fi
		sleep 0.2
	done
	wait 2>/dev/null
	ok=0 bad=0
	for r in $(cd "$run" && ls result-* 2>/dev/null); do
		inst=${r#result-}
		if [ "${killed[$inst]:-0}" = 1 ]; then
			continue
		elif grep -q "^ok - $case" "$run/$r"; then
			ok=$((ok + 1))
		else
			bad=$((bad + 1))
			echo "# two-site $case: site ${inst%.*} (boot ${inst#*.}) did not pass:"
			sed 's/^/#   /' "$run/$r"
			grep -E "^# $case: |FAIL|not ok" "$LOGS/two-site-$case-$inst.console" 2>/dev/null |
				tail -n 60 | sed 's/^/#   /'
		fi
	done
	if [ "$ok" -gt 0 ] && [ "$bad" = 0 ]; then
		echo "ok - $case # $((SECONDS - t0))s"
	else
		echo "not ok - $case # $((SECONDS - t0))s"
		fails=$((fails + 1))
	fi
	rm -rf "$run"
done
[ "$fails" = 0 ]
