#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Active-active (tests/two-site/run.sh --disks 2, from tests/bench/run.sh):
# one clustered dm-metro volume used at both sites at once, against the
# same sites' single-host volume on the same legs, each site's own leg
# alone, md-cluster raid1 on the same two legs and the same corosync and
# DLM, and DRBD 8.4 dual-primary.  Corosync (auto_tie_breaker) and
# dlm_controld (fencing by fence_metro) run at both sites, as in
# tests/two-site/cases/aa_active.sh; each site exports its /dev/vda over
# NVMe/TCP and connects to the other's, so both see leg A and leg B.
# /dev/vdb at each site is DRBD's backing disk (resource r0, protocol C,
# allow-two-primaries, primary at both; its network timeouts raised as
# dm-metro's io_deadline is, below: with DRBD's defaults a TCG stall
# drops the connection, and the two primaries then split-brain).  Systems:
#   cmetro     clustered dm-metro (--cluster, 2 slots), assembled at both
#              sites, each with the other site's leg write-mostly
#   smetro     single-host dm-metro on the same legs, at one site alone
#              (site A's, then site B's)
#   local      each site's own /dev/vda alone (reads)
#   remote, remote1  the other site's /dev/vda over NVMe/TCP alone, written
#              by both sites at once (remote) and by each alone (remote1):
#              how much of a both-sites ratio the shared host CPUs take
#   mdcluster  md raid1, --bitmap=clustered --nodes=2, created at A and
#              assembled at B
#   drbd_dual  DRBD 8.4 dual-primary
# Workloads (fio, libaio O_DIRECT), each site on its own half of the
# first BENCH_SIZE bytes (site A the first, site B the second):
#   cl_both_randwrite4k  4k random write qd16, both sites at once
#       (cmetro_A, cmetro_B) vs each site alone on smetro (smetro_A/B)
#   cl_both_randread4k  both sites read at once, cmetro vs local
#   cl_randwrite4k_qd16, cl_randwrite4k_qd1  site A alone writes (the
#       volume active at both): cmetro, smetro, mdcluster, drbd_dual
#   cl_region  single 4 KiB writes timed one by one (region_lat.py), one
#       per region of 8 regions: site A's first write to regions no node
#       owns (first_fresh_A), again (owned_A), site B's first writes to
#       them (first_remote_B: site A owns them), B again (owned_B), site
#       A's (first_remote_A); then both sites writing one region in turn
#       (pingpong_A, pingpong_B: every write moves the region).  Also the
#       link's ping round trip (system ping, before each repetition's
#       region tests), to count DLM round trips.
# Both dm-metro volumes run with io_deadline 60 s, not the default 5 s:
# under TCG on a loaded host a write over NVMe/TCP can take longer than
# 5 s, and a leg detached for a stall would leave the volume writing one
# leg; after each workload both legs must still be attached, else the
# case fails (no figure of a degraded volume is recorded).
# Each system is set up once per repetition and runs all its workloads;
# the order of the systems is reversed every other repetition.  Every
# fio output and latency list goes to $METRO_SHARE; site A records them
# all (BENCHREC on its console, the one report.py reads).
. "$METRO_SRC/tests/bench/cases/benchlib.sh"
. "$METRO_SRC/tests/two-site/lib.sh"
need_tools mdadm drbdadm python3

declare -A CWL=(
	[cl_both_randwrite4k]="--rw=randwrite --bs=4k --iodepth=16"
	[cl_both_randread4k]="--rw=randread --bs=4k --iodepth=16"
	[cl_randwrite4k_qd16]="--rw=randwrite --bs=4k --iodepth=16"
	[cl_randwrite4k_qd1]="--rw=randwrite --bs=4k --iodepth=1"
)
V=cb SV=sm MD=/dev/md/cbench
DRBD_DISK=/dev/vdb
CFG=$METRO_TMP/drbd.conf
LAT=$METRO_SRC/tests/bench/two-site/region_lat.py
S=$METRO_SHARE
MIB=$((1024 * 1024))
# this site's half of the fio area (MiB)
size_mib=${BENCH_SIZE%M}
HALF=$((size_mib / 2))
MYOFF=0
[ "$SITE" = B ] && MYOFF=$HALF
# the region tests: 8 regions (4 MiB, the default) past the fio area
REG_MIB=4 NREG=8 REG_BASE=$(((size_mib + 31) / 32 * 32 + 32))
PP_WRITES=20
DEADLINE=60000

lower=$(echo "$SITE" | tr AB ab) plower=$(echo "$PEER" | tr AB ab)
ME=$IP_A THEM=$IP_B
[ "$SITE" = B ] && ME=$IP_B THEM=$IP_A
MYNQN=nqn.2026-12.org.dm-metro:site-$lower PNQN=nqn.2026-12.org.dm-metro:site-$plower

# both TAG [TIMEOUT]: rendezvous, both sites reached TAG
both() { signal "$1-$SITE"; wait_for "$1-$PEER" "${2:-600}"; }

# both_legs VOL WHAT: fail unless VOL still writes both legs after WHAT
both_legs() {
	[ "$(st_health "$1")" = AA ] && return 0
	dmesg | grep -i metro | tail -n 20
	fail "$1: a leg was detached during $2 ($(dmesg | grep -c -i metro) kernel lines above): figures of a one-leg volume are not recorded"
}

# stop_watch VOL: metroctl stop VOL, given 180 s; if it has not returned
# by then, what it waits for (its kernel stack, the blocked tasks, the
# DLM's lockspaces and locks) is printed and the case fails
stop_watch() {
	local p i ls t0=$SECONDS
	"$METROCTL" stop "$1" & p=$!
	for ((i = 0; i < 900; i++)); do
		kill -0 $p 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 $p 2>/dev/null; then
		echo "--- site $SITE: metroctl stop $1 has not returned in $((SECONDS - t0))s"
		for i in $(pgrep -f "metroctl|dmsetup"); do
			echo "--- pid $i: $(tr '\0' ' ' < "/proc/$i/cmdline")"
			cat "/proc/$i/stack"
		done
		echo w > /proc/sysrq-trigger
		dmesg | tail -n 120
		dmsetup status
		for ls in $(timeout 10 dlm_tool ls | awk '$1 == "name" { print $2 }'); do
			echo "--- dlm_tool lockdebug $ls"
			timeout 10 dlm_tool lockdebug -v -w "$ls" 2>&1 | head -n 60
		done
		fail "site $SITE: metroctl stop $1 hung"
	fi
	wait $p || fail "metroctl stop $1 failed"
}

# fio_here NAME DEV OPTIONS...: fio on this site's half, output to the share
fio_here() {
	local name=$1 dev=$2; shift 2
	# shellcheck disable=SC2086
	fio_run "$S/$name-$SITE.json" "$dev" "$@" --offset=${MYOFF}M --size=${HALF}M ||
		fail "fio $name on $dev"
}
# fio_a NAME DEV WORKLOAD: fio at site A over the whole area (site B idles)
fio_a() {
	# shellcheck disable=SC2086
	[ "$SITE" = A ] && { fio_run "$S/$1-A.json" "$2" ${CWL[$3]} || fail "fio $1 on $2"; }
	both "$1"
}
# record SCEN SYSTEM DIR REP SITE...: BENCHRECs (site A) of the fio
# outputs of NAME=SCEN-SYSTEM-REP at each SITE, system named SYSTEM_SITE
# when more than one site is given
record() {
	local scen=$1 sys=$2 dir=$3 rep=$4 s name; shift 4
	[ "$SITE" = A ] || return 0
	for s in "$@"; do
		name=$scen-$sys-$rep
		if [ $# -gt 1 ]; then
			fio_rec "$S/$name-$s.json" "$dir" scenario="$scen" system="${sys}_$s" rep="$rep"
		else
			fio_rec "$S/$name-$s.json" "$dir" scenario="$scen" system="$sys" rep="$rep"
		fi
	done
}
# rec_lat FILE SYSTEM REP: a BENCHREC of a region_lat.py list: median,
# highest and mean latency, and every write's
rec_lat() {
	local v p50 mx mean n
	v=$(jq -r '.lat_us | sort | [.[length / 2 | floor], .[-1], (add / length), length] | @tsv' "$1") ||
		fail "cannot read $1"
	read -r p50 mx mean n <<<"$v"
	log "cl_region $2 rep $3: every write (us): $(jq -r '.lat_us | map(floor) | join(" ")' "$1")"
	rec scenario=cl_region system="$2" rep="$3" p50_us="$p50" p99_us="$mx" mean_us="$mean" ios="$n"
}
# offsets PASS: one 4 KiB block per test region, block PASS of each
offsets() {
	local k
	for ((k = 0; k < NREG; k++)); do
		echo $(((REG_BASE + k * REG_MIB) * MIB + $1 * 4096))
	done
}

drbd_up() {
	export PATH=/usr/lib/drbd:$PATH
	mkdir -p /run/lock /var/lock 2>/dev/null
	busybox hostname "site-$lower"
	must modprobe drbd
	cat > "$CFG" <<EOF
resource r0 {
	protocol C;
	net {
		allow-two-primaries yes;
		timeout 300;
		ping-timeout 100;
		ping-int 60;
		connect-int 60;
	}
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
drbd_state() { drbdadm -c "$CFG" cstate r0 2>/dev/null; drbdadm -c "$CFG" dstate r0 2>/dev/null; drbdadm -c "$CFG" role r0 2>/dev/null; }
# drbd_wait WHAT WANT: until drbdadm WHAT r0 prints WANT (60 s)
drbd_wait() {
	local i
	for i in $(seq 300); do
		[ "$(drbdadm -c "$CFG" "$1" r0 2>/dev/null)" = "$2" ] && return 0
		sleep 0.2
	done
	fail "DRBD $1 is not $2: $(drbd_state | tr '\n' ' ')"
}

# --- the systems: each runs all its workloads at both sites -------------

sys_cmetro() {
	local rep=$1 w
	if [ "$SITE" = A ]; then
		wipe "$LA" "$LB"
		must mc create $V "$LA" "$LB" --assume-clean --cluster "$CLUSTER_NAME" --nodes 2
		mc stop $V >/dev/null 2>&1
	fi
	both "cm-created-$rep"
	must mc assemble $V "$LA" "$LB" --write-mostly "$PEER" --io-deadline $DEADLINE
	wait_node /dev/mapper/$V
	show_status $V
	both "cm-up-$rep"
	for w in cl_both_randwrite4k cl_both_randread4k; do
		# shellcheck disable=SC2086
		fio_here "$w-cmetro-$rep" /dev/mapper/$V ${CWL[$w]}
		log "site $SITE: after $w: $(dmsetup status $V)"
		both_legs $V "$w"
		both "$w-cmetro-$rep"
	done
	log "site $SITE: reads of the clustered volume: leg A $(st_reads_a $V), leg B $(st_reads_b $V)"
	record cl_both_randwrite4k cmetro write "$rep" A B
	record cl_both_randread4k cmetro read "$rep" A B
	for w in cl_randwrite4k_qd16 cl_randwrite4k_qd1; do
		fio_a "$w-cmetro-$rep" /dev/mapper/$V $w
		both_legs $V "$w"
		record $w cmetro write "$rep" A
	done
	region_tests "$rep"
	both_legs $V "the region tests"
	show_status $V
	both "cm-done-$rep"
	# one site after the other, as tests/two-site/cases/aa_active.sh
	[ "$SITE" = B ] && stop_watch $V
	both "cm-stop-B-$rep"
	[ "$SITE" = A ] && stop_watch $V
	both "cm-stopped-$rep"
}

# region_tests REP: the cl_region figures, on the clustered volume
region_tests() {
	local rep=$1 d=/dev/mapper/$V turn=0 ping_ms
	if [ "$SITE" = A ]; then
		# the link's round trip, next to the writes it is compared with
		ping_ms=$(busybox ping -c 5 -q "$IP_B" 2>/dev/null | sed -n 's/.*= [0-9.]*\/\([0-9.]*\)\/.*/\1/p')
		rec scenario=cl_region system=ping rep="$rep" rtt_ms="${ping_ms:-0}" \
			p50_us="$(calc "${ping_ms:-0} * 1000")"
		log "link round trip (busybox ping, average of 5): ${ping_ms:-?} ms"
		# shellcheck disable=SC2046
		must python3 "$LAT" write $d "$S/reg-fresh-A-$rep.json" $(offsets 0)
		# shellcheck disable=SC2046
		must python3 "$LAT" write $d "$S/reg-owned-A-$rep.json" $(offsets 1)
	fi
	both "reg1-$rep"
	if [ "$SITE" = B ]; then
		# shellcheck disable=SC2046
		must python3 "$LAT" write $d "$S/reg-remote-B-$rep.json" $(offsets 2)
		# shellcheck disable=SC2046
		must python3 "$LAT" write $d "$S/reg-owned-B-$rep.json" $(offsets 3)
	fi
	both "reg2-$rep"
	if [ "$SITE" = A ]; then
		# shellcheck disable=SC2046
		must python3 "$LAT" write $d "$S/reg-remote-A-$rep.json" $(offsets 4)
	fi
	both "reg3-$rep"
	[ "$SITE" = B ] && turn=1
	must python3 "$LAT" pingpong $d "$S/reg-pp-$SITE-$rep.json" $((REG_BASE * MIB + 5 * 4096)) \
		$PP_WRITES $turn "$S" "pp-$rep"
	both "reg4-$rep"
	if [ "$SITE" = A ]; then
		rec_lat "$S/reg-fresh-A-$rep.json" first_fresh_A "$rep"
		rec_lat "$S/reg-owned-A-$rep.json" owned_A "$rep"
		rec_lat "$S/reg-remote-B-$rep.json" first_remote_B "$rep"
		rec_lat "$S/reg-owned-B-$rep.json" owned_B "$rep"
		rec_lat "$S/reg-remote-A-$rep.json" first_remote_A "$rep"
		rec_lat "$S/reg-pp-A-$rep.json" pingpong_A "$rep"
		rec_lat "$S/reg-pp-B-$rep.json" pingpong_B "$rep"
	fi
}

sys_smetro() {
	local rep=$1 w me
	# site A's single-host volume, then site B's, each alone
	for me in A B; do
		if [ "$SITE" = "$me" ]; then
			wipe "$LA" "$LB"
			must mc create $SV "$LA" "$LB" --assume-clean --force --write-mostly "$PEER" \
				--io-deadline $DEADLINE
			wait_node /dev/mapper/$SV
			# shellcheck disable=SC2086
			fio_here "cl_both_randwrite4k-smetro-$rep" /dev/mapper/$SV ${CWL[cl_both_randwrite4k]}
			if [ "$me" = A ]; then
				for w in cl_randwrite4k_qd16 cl_randwrite4k_qd1; do
					# shellcheck disable=SC2086
					fio_run "$S/$w-smetro-$rep-A.json" /dev/mapper/$SV ${CWL[$w]} ||
						fail "fio $w on smetro"
				done
			fi
			both_legs $SV "the single-host runs"
			show_status $SV
			must mc stop $SV
		fi
		both "sm-$me-$rep"
	done
	record cl_both_randwrite4k smetro write "$rep" A B
	record cl_randwrite4k_qd16 smetro write "$rep" A
	record cl_randwrite4k_qd1 smetro write "$rep" A
}

sys_local() {
	local rep=$1 me
	# shellcheck disable=SC2086
	fio_here "cl_both_randread4k-local-$rep" $LEG ${CWL[cl_both_randread4k]}
	both "lo-$rep"
	record cl_both_randread4k local read "$rep" A B
	# the other site's leg over NVMe/TCP, written by both sites at once
	# and by each alone: what sharing the two emulated CPUs costs a
	# remote write, whatever the volume on top
	# shellcheck disable=SC2086
	fio_here "cl_both_randwrite4k-remote-$rep" "$RLEG" ${CWL[cl_both_randwrite4k]}
	both "rb-$rep"
	for me in A B; do
		# shellcheck disable=SC2086
		[ "$SITE" = $me ] && fio_here "cl_both_randwrite4k-remote1-$rep" "$RLEG" ${CWL[cl_both_randwrite4k]}
		both "r1-$me-$rep"
	done
	record cl_both_randwrite4k remote write "$rep" A B
	record cl_both_randwrite4k remote1 write "$rep" A B
}

sys_mdcluster() {
	local rep=$1 w d
	# mdadm takes a lock in the userspace lockspace named after the
	# cluster (libdlm), whose device libdlm awaits as /dev/misc/dlm_NAME,
	# where udev would put it; devtmpfs makes /dev/dlm_NAME
	ln -sfn "/dev/dlm_$CLUSTER_NAME" "/dev/misc/dlm_$CLUSTER_NAME"
	if [ "$SITE" = A ]; then
		wipe "$LA" "$LB"
		must mdadm --create $MD --name=cbench --run --quiet --level=1 --raid-devices=2 \
			--metadata=1.2 --assume-clean --bitmap=clustered --nodes=2 --bitmap-chunk=4M \
			--home-cluster="$CLUSTER_NAME" "$LA" "$LB"
	fi
	both "md-created-$rep"
	if [ "$SITE" = B ]; then
		must mdadm --assemble $MD "$LA" "$LB"
		# writable here too (else auto-read-only until B's first write),
		# as a node of an active-active pair is
		must mdadm --readwrite $MD
	fi
	d=$(readlink -f $MD)
	dmesg | grep -E 'md-cluster|md/raid1' | tail -n 3
	wait_node "$d"
	log "site $SITE: $(cat /proc/mdstat | tr '\n' ' ')"
	both "md-up-$rep"
	for w in cl_randwrite4k_qd16 cl_randwrite4k_qd1; do
		fio_a "$w-mdcluster-$rep" "$d" $w
		record $w mdcluster write "$rep" A
	done
	log "site $SITE: $(cat /proc/mdstat | tr '\n' ' ')"
	[ "$SITE" = B ] && must mdadm --stop $MD
	both "md-stop-B-$rep"
	if [ "$SITE" = A ]; then
		must mdadm --stop $MD
		must mdadm --zero-superblock "$LA" "$LB"
	fi
	both "md-stopped-$rep"
}

# drbd_connected WHAT: fail unless r0 is still connected with both halves
# up to date after WHAT (a DRBD that dropped its peer writes locally)
drbd_connected() {
	[ "$(drbdadm -c "$CFG" cstate r0 2>/dev/null)" = Connected ] &&
		[ "$(drbdadm -c "$CFG" dstate r0 2>/dev/null)" = UpToDate/UpToDate ] && return 0
	dmesg | grep -i drbd | tail -n 20
	fail "DRBD lost its peer during $1 ($(drbd_state | tr '\n' ' ')): figures of one node writing alone are not recorded"
}

sys_drbd_dual() {
	local rep=$1 w
	for w in cl_randwrite4k_qd16 cl_randwrite4k_qd1; do
		fio_a "$w-drbd_dual-$rep" /dev/drbd0 $w
		drbd_connected "$w"
		record $w drbd_dual write "$rep" A
	done
}

# --- set-up at both sites --------------------------------------------------

net_up
prefill $LEG $DRBD_DISK
nvmet_export $LEG "$MYNQN" "$ME"
DLM_FENCE=$MYNQN
cluster_start atb
need_metro
must modprobe dm-metro-cluster
must modprobe raid1
must modprobe md-cluster
signal "exported-$SITE"
wait_for "exported-$PEER" 300
nvme_connect "$PNQN" "$THEM"
if [ "$SITE" = A ]; then LA=$LEG LB=$RLEG; else LA=$RLEG LB=$LEG; fi
drbd_up
drbd_wait cstate Connected
if [ "$SITE" = A ]; then
	# both halves blank: no initial sync
	must drbdadm -c "$CFG" -- --clear-bitmap new-current-uuid r0
	must drbdadm -c "$CFG" primary r0
	drbd_wait dstate UpToDate/UpToDate
fi
both drbd-primary-A
[ "$SITE" = B ] && must drbdadm -c "$CFG" primary r0
drbd_wait role Primary/Primary
log "site $SITE: DRBD r0: $(drbd_state | tr '\n' ' ')"
both ready

SYSTEMS="cmetro smetro local mdcluster drbd_dual"
for rep in $(seq "$BENCH_REPS"); do
	systems=$SYSTEMS
	[ $((rep % 2)) = 0 ] && systems=$(echo "$systems" | tr ' ' '\n' | tac | tr '\n' ' ')
	for sys in $systems; do
		log "site $SITE: repetition $rep, $sys"
		"sys_$sys" "$rep"
	done
done
both end
must drbdadm -c "$CFG" secondary r0
both drbd-secondary
must drbdadm -c "$CFG" down r0
nvme_disconnect "$PNQN"
both disconnected
pass "site $SITE: clustered dm-metro, single-host dm-metro, local leg, md-cluster, DRBD dual-primary measured"
