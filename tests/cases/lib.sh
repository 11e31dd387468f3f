# SPDX-License-Identifier: GPL-2.0-only
#
# Helpers sourced by tests/cases/*.sh.  The cases run inside the test VM
# (tests/vm/guest-run.sh) with fresh ramdisks /dev/ram0../dev/ram7 (128 MiB
# each, allocated lazily), $METROCTL, $METRO_TMP (the case's scratch dir,
# also its cwd) and $METRO_SRC (the checkout).  Exit 0 pass, 1 fail, 77 skip.
set -u
set -o pipefail

: "${METRO_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${METROCTL:=$METRO_SRC/userspace/metroctl}"
# the test programs of tests/tools/ (make tools)
TOOLS=$METRO_SRC/tests/tools
: "${METRO_TMP:=$(mktemp -d)}"
MIB=1048576

# sleep SECONDS without a fork: the cases poll in loops, and under TCG each
# fork and exec of sleep(1) costs tens of ms of CPU (the harness's polls
# took 14% of a vCPU).  read times out on a pipe that nobody writes.
# Without /dev/fd (it needs the symlink to /proc/self/fd) sleep(1) stays.
if [ -z "${METRO_NAP_FD:-}" ] && exec {METRO_NAP_FD}<> <(:); then
	sleep() {
		[ $# = 1 ] && [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]] || { command sleep "$@"; return; }
		read -r -t "$1" -u "$METRO_NAP_FD" _ || :
	}
fi 2>/dev/null

log() { echo "$*"; }
# fail MSG: end the case; MSG also goes on its "not ok" line
fail() {
	echo "FAIL: $*"
	[ -d "${METRO_TMP:-}" ] && echo "$*" > "$METRO_TMP/fail-reason"
	exit 1
}
pass() { echo "PASS${1:+: $*}"; exit 0; }
skip() { echo "SKIP: $*"; echo "$*" > "$METRO_TMP/skip-reason"; exit 77; }
# dmesg_has PATTERN: the kernel log has a line matching PATTERN (grep
# -q on a pipe from dmesg would fail under pipefail when dmesg, killed by
# SIGPIPE once grep is satisfied, has more to write than the pipe holds)
dmesg_has() { grep -q -- "$1" <<< "$(dmesg)"; }
# run CMD...: print and run it, return its status
run() { echo "+ $*"; "$@"; }
# must CMD...: print and run it, fail the case when it fails
must() { echo "+ $*"; "$@" || fail "command failed ($?): $*"; }

# The module and metroctl must be there: a missing one is a failure.
need_metro() {
	[ "${METRO_MODULE_OK:-0}" = 1 ] || grep -qw '^metro' <(dmsetup targets 2>/dev/null) ||
		fail "dm-metro module not loaded (not built? see the modprobe message above)"
	[ -x "$METROCTL" ] || fail "metroctl not built: $METROCTL"
}

mc() { echo "+ metroctl $*"; "$METROCTL" "$@"; }

# reload NAME TABLE: load TABLE into dm device NAME and make it live (e.g.
# switch a leg's dm-linear to "error" to fail it); fails the case on error
reload() { must dmsetup load "$1" --table "$2"; must dmsetup suspend "$1"; must dmsetup resume "$1"; }
# metro_opts NAME OPTS: reload metro volume NAME with these optional
# arguments (e.g. "2 io_deadline 1000") after its two legs
metro_opts() { reload "$1" "$(dmsetup table "$1" | awk '{print $1, $2, $3, $4, $5}') $2"; }

# linear_leg NAME DEV [SECTORS]: dm-linear NAME over all of DEV (or its
# first SECTORS), to be used as a leg the case can fail (reload it with
# "error") or stall (suspend it)
linear_leg() {
	must dmsetup create "$1" --table "0 ${3:-$(blockdev --getsz "$2")} linear $2 0"
	wait_node "/dev/mapper/$1"
}

# A leg whose metadata can fail or stall apart from its data: meta_leg
# NAME DEV BM [SB BM_KIND] reloads dm device NAME (made by linear_leg over
# DEV) as the same mapping in four segments, sectors 0..7, the superblock
# (8..15), the bitmap (16 .. 16+BM-1, BM = bm_sectors of the leg) and the
# rest.  SB and BM_KIND (default linear) say what the superblock and the
# bitmap segments are: "linear", "error", or "delay MS" (dm-delay holding
# writes MS ms; reads and flushes pass at once).  A reload releases held
# writes at once (dm-delay's suspend): wait for held_writes 0 first.
meta_seg() {	# DEV START LEN KIND
	case $4 in
	linear) echo "$2 $3 linear $1 $2" ;;
	error) echo "$2 $3 error" ;;
	"delay "*) echo "$2 $3 delay $1 $2 0 $1 $2 ${4#delay } $1 $2 0" ;;
	*) fail "meta_seg: unknown segment kind '$4'" ;;
	esac
}
meta_leg() {
	local name=$1 dev=$2 bm=$3 sz t
	sz=$(dmsetup table "$name" | awk '{ n += $2 } END { print n + 0 }')
	[ "$sz" -gt $((16 + bm)) ] || fail "meta_leg: no dm device $name to reload"
	t="0 8 linear $dev 0
$(meta_seg "$dev" 8 8 "${4:-linear}")
$(meta_seg "$dev" 16 "$bm" "${5:-linear}")
$((16 + bm)) $((sz - 16 - bm)) linear $dev $((16 + bm))"
	echo "+ $name: $(tr '\n' ';' <<<"$t")"
	dmsetup load "$name" <<<"$t" || fail "dmsetup load $name failed"
	must dmsetup suspend "$name"
	must dmsetup resume "$name"
}
# held_writes NAME: writes the dm-delay segments of NAME hold right now
held_writes() { dmsetup status "$1" | awk '$3 == "delay" { n += $5 } END { print n + 0 }'; }
# bm_sectors DEV: the size of the leg's on-disk bitmap (superblock's nr_regions)
bm_sectors() {
	local n
	n=$(sb_u64 "$1" 136)
	[ -n "$n" ] && [ "$n" -gt 0 ] || fail "cannot read nr_regions from the superblock of $1"
	echo $((((n + 7) / 8 + 4095) / 4096 * 8))
}
# bm_bit DEV N: bit N of the on-disk bitmap of a leg, read with O_DIRECT
bm_bit() {
	local byte
	byte=$(dd if="$1" iflag=direct,skip_bytes,count_bytes bs=4096 skip=$((16 * 512 + $2 / 8 / 4096 * 4096)) \
		count=4096 status=none | od -An -t u1 -j $(($2 / 8 % 4096)) -N 1 | tr -d ' ')
	[ -n "$byte" ] || fail "cannot read the bitmap of $1"
	echo $(((byte >> ($2 % 8)) & 1))
}

# new_volume NAME LEG_A LEG_B [OPTION...]: metroctl create on blank legs
# (--assume-clean: no initial sync), then wait for /dev/mapper/NAME
new_volume() {
	local v=$1
	shift
	must mc create "$v" "$@" --assume-clean
	wait_node "/dev/mapper/$v"
}

# wait_node PATH: wait up to 5 s for a device node
wait_node() {
	local i
	for i in $(seq 50); do [ -b "$1" ] && return 0; sleep 0.1; done
	dmsetup mknodes >/dev/null 2>&1
	[ -b "$1" ] || fail "no device node $1"
}

# devno DEV -> major:minor
devno() { local n; n=$(stat -L -c '%t:%T' "$1") || return 1; printf '%d:%d\n' "0x${n%:*}" "0x${n#*:}"; }

# sb_u64 DEV OFFSET / sb_u32 DEV OFFSET: little-endian field of the
# superblock (sector 8) read straight from the device.
# Read with O_DIRECT: the target writes the superblock below the page cache.
sb_raw() { dd if="$1" iflag=direct bs=4096 skip=1 count=1 status=none; }
sb_u64() { sb_raw "$1" | od -An -t u8 -j "$2" -N 8 --endian=little | tr -d ' '; }
sb_u32() { sb_raw "$1" | od -An -t u4 -j "$2" -N 4 --endian=little | tr -d ' '; }
sb_magic_ok() { [ "$(sb_u32 "$1" 0)" = $((0x6f72746d)) ]; }
data_offset() { sb_u64 "$1" 112; }	# sectors
data_size() { sb_u64 "$1" 120; }	# sectors

# examine_json DEV: metroctl examine --json as one object
examine_json() { "$METROCTL" examine --json "$1" | jq -c 'if type == "array" then .[0] else . end'; }
# own_gen DEV: the data generation a leg records for itself
own_gen() { examine_json "$1" | jq -r '.leg as $l | .legs[] | select(.role == $l) | .generation'; }
# status_json NAME: the volume's object from metroctl status --json
status_json() {
	"$METROCTL" status --json "$1" |
		jq -c --arg n "$1" 'if type == "array" then (map(select(.name == $n)) | .[0]) else . end'
}

# dm status fields of a metro volume: st_health NAME etc.
dm_st() { dmsetup status "$1" | awk -v f="$2" '$3 == "metro" { print $f }'; }
st_health() { dm_st "$1" 7; }
st_sync() { dm_st "$1" 8; }
st_action() { dm_st "$1" 9; }
st_dirty() { dm_st "$1" 10; }
st_region() { dm_st "$1" 11; }
st_mdwrites() { dm_st "$1" 12; }
st_reads_a() { dm_st "$1" 13; }
st_reads_b() { dm_st "$1" 14; }
show_status() { echo "status $1: $(dmsetup status "$1" 2>&1)"; }
# last_oos NAME: N of "N of M regions to resync" in NAME's newest activation
# message: what a table load left to resync, however fast the resync ran
last_oos() {
	dmesg | grep "metro: $1: activated:" | tail -n 1 |
		sed -n 's/.*, \([0-9]*\) of [0-9]* regions to resync.*/\1/p'
}

# wait_sync NAME [TIMEOUT]: until health AA, in_sync == total, action idle
wait_sync() {
	local name=$1 t=${2:-120} start=$SECONDS s
	while :; do
		s=$(dmsetup status "$name") || fail "dmsetup status $name failed"
		set -- $s
		local in=${8%/*} tot=${8#*/}
		if [ "$7" = AA ] && [ "$in" = "$tot" ] && [ "$9" = idle ]; then
			echo "in sync after $((SECONDS - start))s: $s"
			return 0
		fi
		[ $((SECONDS - start)) -ge "$t" ] && fail "not in sync after ${t}s: $s"
		sleep 0.5
	done
}

# sum_range DEV START_SECTOR SECTORS: md5 of that range, read with O_DIRECT
sum_range() {
	dd if="$1" iflag=direct,skip_bytes,count_bytes bs=1M skip=$(($2 * 512)) \
		count=$(($3 * 512)) status=none | md5sum | cut -d' ' -f1
}

# legs_identical A B [SECTORS]: data areas of both legs hold the same bytes
legs_identical() {
	local a=$1 b=$2 oa ob n sa sb
	oa=$(data_offset "$a"); ob=$(data_offset "$b")
	n=${3:-$(data_size "$a")}
	[ -n "$oa" ] && [ -n "$ob" ] && [ -n "$n" ] || fail "cannot read the superblocks of $a $b"
	sa=$(sum_range "$a" "$oa" "$n"); sb=$(sum_range "$b" "$ob" "$n")
	if [ "$sa" != "$sb" ]; then
		echo "legs differ: $a@$oa $sa, $b@$ob $sb ($n sectors)"
		dd if="$a" iflag=direct,skip_bytes,count_bytes bs=1M skip=$((oa * 512)) count=$((n * 512)) status=none > "$METRO_TMP/leg-a.bin"
		dd if="$b" iflag=direct,skip_bytes,count_bytes bs=1M skip=$((ob * 512)) count=$((n * 512)) status=none > "$METRO_TMP/leg-b.bin"
		cmp -l "$METRO_TMP/leg-a.bin" "$METRO_TMP/leg-b.bin" | awk '{print int(($1-1)/512)}' | uniq |
			awk 'NR<=20 {printf "differing sector (data area): %d (region of 8192: %d)\n", $1, int($1/8192)} END {print NR " differing sectors"}'
		rm -f "$METRO_TMP/leg-a.bin" "$METRO_TMP/leg-b.bin"
		return 1
	fi
	echo "legs identical: $n sectors, md5 $sa"
}

# randfile FILE MIB: random content
randfile() { head -c $(($2 * MIB)) /dev/urandom > "$1"; }

# write_file FILE DEV OFFSET_MIB: write FILE into DEV with O_DIRECT
write_file() { dd if="$1" of="$2" bs=1M seek="$3" oflag=direct conv=notrunc,fsync status=none; }
# check_file FILE DEV OFFSET_MIB: DEV holds FILE there
check_file() {
	local n
	n=$(stat -c %s "$1")
	cmp <(dd if="$2" iflag=direct,skip_bytes,count_bytes bs=1M skip=$(($3 * MIB)) count="$n" status=none) "$1"
}

# fio_verify_write DEV OFFSET SIZE [extra fio args]: random writes with
# verification (fails on any I/O error or verify mismatch)
fio_verify_write() {
	local dev=$1 off=$2 size=$3; shift 3
	echo "+ fio randwrite+verify $dev offset=$off size=$size $*"
	fio --name=vw --filename="$dev" --ioengine=libaio --direct=1 --rw=randwrite \
		--bsrange=4k-64k --iodepth=16 --offset="$off" --size="$size" \
		--verify=crc32c --verify_fatal=1 --do_verify=1 --verify_state_save=0 \
		--group_reporting --output="$METRO_TMP/fio-vw.out" "$@"
	local rc=$?
	[ $rc = 0 ] || { echo "fio failed ($rc):"; cat "$METRO_TMP/fio-vw.out"; }
	return $rc
}

# sysfs read/flush counters of a block device (by /dev path)
# (by major:minor: without udev /dev/mapper/* are nodes, not symlinks)
blk_name() { basename "$(readlink -f "/sys/dev/block/$(devno "$1")")"; }
blk_stat() { awk -v f="$2" '{print $f}' "/sys/block/$(blk_name "$1")/stat"; }

# scratch_disk N: /dev/vdX with serial scratchN (tests/vm/run.sh --scratch-disks)
# disk_by_serial S: /dev/vdX with serial S
disk_by_serial() {
	local d
	for d in /sys/block/vd*; do
		[ -e "$d/serial" ] && [ "$(cat "$d/serial")" = "$1" ] && { echo "/dev/${d##*/}"; return 0; }
	done
	return 1
}
scratch_disk() { disk_by_serial "scratch$1"; }

# nvmet_export DEV [NQN [ADDR]]: export DEV over NVMe/TCP on ADDR:4420, as
# NQN (the defaults, $NQN and $IP_B, are site B's leg in the two-site cases:
# tests/two-site/lib.sh)
nvmet_export() {
	local c=/sys/kernel/config/nvmet dev=$1 nqn=${2:-$NQN} addr=${3:-$IP_B} port id
	# -q: built in (the debug kernel), or a module
	modprobe -q nvmet-tcp
	mountpoint -q /sys/kernel/config || must mount -t configfs configfs /sys/kernel/config
	[ -d $c ] || fail "no $c after loading nvmet"
	must mkdir "$c/subsystems/$nqn"
	echo 1 > "$c/subsystems/$nqn/attr_allow_any_host"
	must mkdir "$c/subsystems/$nqn/namespaces/1"
	echo -n "$dev" > "$c/subsystems/$nqn/namespaces/1/device_path"
	# Identifiers of its own, the same at every export of this NQN, as an
	# administrator sets them: a host still connected from before this
	# guest rebooted finds the same namespace again (new random ones make
	# it drop the namespace: "identifiers changed for nsid 1").
	id=$(echo -n "$nqn" | md5sum | sed 's/^\(.\{8\}\)\(.\{4\}\)\(.\{4\}\)\(.\{4\}\)\(.\{12\}\).*/\1-\2-\3-\4-\5/')
	echo "$id" > "$c/subsystems/$nqn/namespaces/1/device_uuid" 2>/dev/null
	echo "$id" > "$c/subsystems/$nqn/namespaces/1/device_nguid" 2>/dev/null
	echo 1 > "$c/subsystems/$nqn/namespaces/1/enable" || fail "cannot enable the nvmet namespace"
	port=$c/ports/1
	if [ ! -d "$port" ]; then
		must mkdir "$port"
		echo "$addr" > "$port/addr_traddr"
		echo tcp > "$port/addr_trtype"
		echo 4420 > "$port/addr_trsvcid"
		echo ipv4 > "$port/addr_adrfam"
	fi
	must ln -s "$c/subsystems/$nqn" "$port/subsystems/$nqn"
	log "$dev exported as $nqn on $addr:4420"
}

# nvmet_unexport [NQN]: stop serving it (the port link goes)
nvmet_unexport() {
	must rm "/sys/kernel/config/nvmet/ports/1/subsystems/${1:-$NQN}"
}

# nvme_connect [NQN [ADDR]]: connect to a leg nvmet_export exported (here
# or at the other site); the new NVMe namespace is $RLEG.  The transport
# keeps retrying a lost connection (ctrl_loss_tmo -1) and holds I/O
# meanwhile: dm-metro detaches the leg (io_deadline, or the error of a
# failfast read), not the transport.
nvme_connect() {
	local nqn=${1:-$NQN} addr=${2:-$IP_B} i d before
	modprobe -q nvme-tcp
	for i in $(seq 50); do [ -c /dev/nvme-fabrics ] && break; sleep 0.1; done
	[ -c /dev/nvme-fabrics ] || fail "no /dev/nvme-fabrics: NVMe over fabrics is missing from this kernel"
	before=" $(echo /dev/nvme*n[0-9]*) "
	echo "transport=tcp,traddr=$addr,trsvcid=4420,nqn=$nqn,ctrl_loss_tmo=-1,reconnect_delay=1" \
		> /dev/nvme-fabrics || fail "nvme connect to $addr:4420 ($nqn) failed"
	RLEG=
	for i in $(seq 100); do
		for d in /dev/nvme*n[0-9]*; do
			[ -b "$d" ] && [ "${before/ $d /}" = "$before" ] && RLEG=$d
		done
		[ -n "$RLEG" ] && break
		sleep 0.1
	done
	[ -n "$RLEG" ] || fail "no new NVMe namespace after connecting to $nqn"
	log "$nqn is $RLEG ($(blockdev --getsize64 "$RLEG") bytes)"
}

# nvmet_remove NQN: take NQN out of nvmet altogether (its device is no
# longer held open), and port 1 once no subsystem is left on it
nvmet_remove() {
	local c=/sys/kernel/config/nvmet
	rm -f "$c/ports/1/subsystems/$1"
	[ -d "$c/subsystems/$1" ] || return 0
	echo 0 > "$c/subsystems/$1/namespaces/1/enable"
	rmdir "$c/subsystems/$1/namespaces/1" "$c/subsystems/$1"
	[ -n "$(ls "$c/ports/1/subsystems" 2>/dev/null)" ] || rmdir "$c/ports/1" 2>/dev/null
	return 0
}

# nvme_disconnect NQN: drop the controller(s) of NQN
nvme_disconnect() {
	local d
	for d in /sys/class/nvme/nvme*; do
		[ "$(cat "$d/subsysnqn" 2>/dev/null)" = "$1" ] && echo 1 > "$d/delete_controller"
	done
	return 0
}

# late_read_start DEV WHY: tests/tools/late_read on DEV (4 reads of 4 KiB
# at 4 MiB) in the background, once a leg it reads from first is stalled;
# fail with WHY and its output unless its reads all return within 30 s
late_read_start() {
	late_go=$METRO_TMP/late.go
	rm -f "$late_go"
	"$TOOLS/late_read" "$1" $((4 << 20)) 4 500 "$late_go" > "$METRO_TMP/late.out" &
	late_pid=$!
	local i
	for i in $(seq 300); do grep -q READY "$METRO_TMP/late.out" && break; sleep 0.1; done
	grep READY "$METRO_TMP/late.out" || fail "$2: $(cat "$METRO_TMP/late.out")"
}

# late_read_finish: once the stalled leg has returned the abandoned reads,
# the reader's buffers must still hold what the retried reads returned
late_read_finish() {
	local rc
	sleep 1
	touch "$late_go"
	wait $late_pid
	rc=$?
	cat "$METRO_TMP/late.out"
	case $rc in
	0) ;;
	1) fail "a late completion of an abandoned read wrote into the reader's buffer" ;;
	2) fail "no read went to the stalled leg: the check proved nothing" ;;
	*) fail "late_read failed ($rc)" ;;
	esac
}

cd "$METRO_TMP" 2>/dev/null || true
