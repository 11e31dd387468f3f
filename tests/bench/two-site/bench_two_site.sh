#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Two sites (tests/two-site/run.sh --disks 2, from tests/bench/run.sh):
# site A's local disk against site B's disk over the private link.  Each
# site has two virtio disks: /dev/vda, the leg site B exports over
# NVMe/TCP (nvmet) for the raw remote leg, dm-metro and md raid1, and
# /dev/vdb, DRBD's backing disk, so that every system runs in every
# repetition (interleaved, as in the single-VM benchmarks).  Systems, all
# measured at site A:
#   local   site A's /dev/vda alone (the reads' reference)
#   remote  site B's leg over NVMe/TCP alone (the writes' floor)
#   linear  dm-linear over the remote leg for the writes, over the local
#           one for the reads: what any device-mapper target costs on top
#   metro   dm-metro over local + remote, write_mostly B (reads stay local)
#   metro_direct  the same with read_mode direct (reads without the
#           deadline's bounce copy), for the reads
#   md      md raid1 over local + remote, remote --write-mostly
#   drbd    DRBD 8.4, protocol C, site A primary over the two /dev/vdb
# Workloads: 4k random write qd16 and qd1, 1M sequential write qd4, 4k
# random read qd16.
. "$METRO_SRC/tests/bench/cases/benchlib.sh"
. "$METRO_SRC/tests/two-site/lib.sh"
need_tools mdadm drbdadm

declare -A SWL=(
	[site_randwrite4k_qd16]="--rw=randwrite --bs=4k --iodepth=16"
	[site_randwrite4k_qd1]="--rw=randwrite --bs=4k --iodepth=1"
	[site_seqwrite1m]="--rw=write --bs=1M --iodepth=4"
	[site_randread4k]="--rw=randread --bs=4k --iodepth=16"
)
SWL_ORDER="site_randwrite4k_qd16 site_randwrite4k_qd1 site_seqwrite1m site_randread4k"
DRBD_DISK=/dev/vdb
CFG=$METRO_TMP/drbd.conf

# drbd_up: this site's half of resource r0 (drbdadm picks its "on" section
# by host name)
drbd_up() {
	export PATH=/usr/lib/drbd:$PATH
	mkdir -p /run/lock /var/lock 2>/dev/null
	busybox hostname "site-$(echo "$SITE" | tr AB ab)"
	must modprobe drbd
	cat > "$CFG" <<EOF
resource r0 {
	protocol C;
	device /dev/drbd0;
	disk $DRBD_DISK;
	meta-disk internal;
	on site-a { address $IP_A:7789; }
	on site-b { address $IP_B:7789; }
}
EOF
	must drbdadm -c "$CFG" -- --force create-md r0
	must drbdadm -c "$CFG" up r0
}
drbd_state() { drbdadm -c "$CFG" cstate r0 2>/dev/null; drbdadm -c "$CFG" dstate r0 2>/dev/null; }

net_up
if [ "$SITE" = B ]; then
	prefill $LEG $DRBD_DISK
	nvmet_export $LEG
	drbd_up
	signal exported
	wait_for done 3000
	drbdadm -c "$CFG" down r0
	pass "site B served its leg and its DRBD half"
fi

need_metro
modprobe raid1 || fail "modprobe raid1"
prefill $LEG $DRBD_DISK
wait_for exported 300
nvme_connect
drbd_up
for i in $(seq 300); do
	[ "$(drbdadm -c "$CFG" cstate r0)" = Connected ] && break
	sleep 0.2
done
[ "$(drbdadm -c "$CFG" cstate r0)" = Connected ] || fail "DRBD did not connect: $(drbd_state)"
# both halves blank: no initial sync
must drbdadm -c "$CFG" -- --clear-bitmap new-current-uuid r0
must drbdadm -c "$CFG" primary r0
for i in $(seq 100); do
	[ "$(drbdadm -c "$CFG" dstate r0)" = UpToDate/UpToDate ] && break
	sleep 0.2
done
[ "$(drbdadm -c "$CFG" dstate r0)" = UpToDate/UpToDate ] || fail "DRBD not up to date: $(drbd_state)"
log "DRBD r0: $(drbd_state | tr '\n' ' ')"
ping_ms=$(busybox ping -c 5 -q "$IP_B" 2>/dev/null | sed -n 's/.*= [0-9.]*\/\([0-9.]*\)\/.*/\1/p')
rec scenario=site_link system=ping rtt_ms="${ping_ms:-0}"
log "link round trip (busybox ping, average of 5): ${ping_ms:-?} ms"

setup_local() { echo $LEG; }
teardown_local() { :; }
setup_remote() { echo "$RLEG"; }
teardown_remote() { :; }
setup_linear() {	# LEG
	dmsetup create slin --table "0 $(blockdev --getsz "$1") linear $1 0" >&2 || return 1
	wait_node /dev/mapper/slin >&2
	echo /dev/mapper/slin
}
setup_linear_l() { setup_linear $LEG; }
setup_linear_r() { setup_linear "$RLEG"; }
teardown_linear_l() { dmsetup remove slin >&2; }
teardown_linear_r() { dmsetup remove slin >&2; }
setup_drbd() { echo /dev/drbd0; }
teardown_drbd() { :; }
setup_metro() {	# [OPTARGS]: the table's optional arguments (write_mostly B)
	wipe $LEG "$RLEG"
	"$METROCTL" create sm $LEG "$RLEG" --assume-clean --force >&2 || return 1
	wait_node /dev/mapper/sm >&2
	# reads stay at site A, as Documentation/two-sites.rst advises
	metro_opts sm "${1:-2 write_mostly B}" >&2
	echo /dev/mapper/sm
}
setup_metro_direct() { setup_metro "4 write_mostly B read_mode direct"; }
teardown_metro_direct() { teardown_metro; }
teardown_metro() {
	echo "status sm: $(dmsetup status sm)" >&2
	"$METROCTL" stop sm >&2
}
setup_md() {
	wipe $LEG "$RLEG"
	mdadm --create /dev/md/sbench --name=sbench --run --quiet --level=1 --raid-devices=2 \
		--metadata=1.2 --assume-clean --bitmap=internal --bitmap-chunk=4M \
		$LEG --write-mostly "$RLEG" >&2 || return 1
	local d
	d=$(readlink -f /dev/md/sbench)
	wait_node "$d" >&2; echo "$d"
}
teardown_md() { mdadm --stop /dev/md/sbench >&2 && mdadm --zero-superblock $LEG "$RLEG" >&2; }

# Each workload runs on every system back to back, so that a system and
# the leg it is compared with are measured within a minute of each other
# (report.py takes the median of the per-repetition ratios); the order of
# the systems is reversed every other repetition, so that neither runs
# first after the other's set-up every time.
WSYS="local remote linear_r metro md drbd"
RSYS="local remote linear_l metro metro_direct md drbd"
for rep in $(seq "$BENCH_REPS"); do
	for w in $SWL_ORDER; do
		case $w in *read*) dir=read systems=$RSYS ;; *) dir=write systems=$WSYS ;; esac
		[ $((rep % 2)) = 0 ] && systems=$(echo "$systems" | tr ' ' '\n' | tac | tr '\n' ' ')
		for sys in $systems; do
			dev=$(setup_$sys) || fail "setup of $sys failed"
			out=$METRO_TMP/$w-$sys-$rep.json
			# shellcheck disable=SC2086
			fio_run "$out" "$dev" ${SWL[$w]} || fail "fio $w on $sys"
			# linear_l (reads) and linear_r (writes) are both recorded as linear
			fio_rec "$out" $dir scenario=$w system="${sys%_[lr]}" rep="$rep"
			if [ "$sys" = metro ] && [ $dir = read ]; then
				log "metro reads: local leg $(st_reads_a sm), remote leg $(st_reads_b sm)"
				rec scenario=site_read_split system=metro rep="$rep" \
					reads_a="$(st_reads_a sm)" reads_b="$(st_reads_b sm)"
			fi
			teardown_$sys || fail "teardown of $sys failed"
		done
	done
done
must drbdadm -c "$CFG" secondary r0
must drbdadm -c "$CFG" down r0
nvme_disconnect "$NQN"
signal done
pass
