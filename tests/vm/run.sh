#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Boot the dm-metro test VM (qemu TCG, the Debian kernel matching the
# installed headers, the host's root read-only over 9p) and run test cases
# from tests/cases/ inside it.
#
#   tests/vm/run.sh [options] CASE...
#     --disk FILE            attach FILE as a virtio-blk disk (raw, writeback
#                            cache, serial diskN, N counting from 0); repeatable
#     --scratch-disks N      attach N fresh sparse 256 MiB disks (serial scratchN);
#                            default: the most any case asks for with a
#                            "# metro-disks: N" header line
#     --kill-after-marker S  kill -9 qemu once the console prints S ...
#     --kill-delay SECS      ... after this many (fractional) seconds (default 0)
#     --env K=V              export K=V to the cases in the guest; repeatable
#     --timeout S            wall-clock limit of the whole VM run (default 1800)
#     --case-timeout S       per-case limit inside the VM (default 300)
#     --mem M --smp N        guest memory (MiB, default 2048) and CPUs (default 2)
#     --icount SHIFT         count instructions instead of host time: the guest
#                            clock advances 2^SHIFT ns per instruction executed
#                            (qemu -icount; the vCPUs then take turns on one
#                            host thread), so CPU-bound timings are the same
#                            in every run whatever else the host does
#     --log FILE             console log (default build/vm/logs/<time>-<pid>.log)
#     --case-dir DIR         take the cases from DIR (default tests/cases)
#     --module-root DIR      the guest's module tree is DIR/lib/modules/<ver> as it
#                            is (no copy, no dm-metro.ko added, no depmod): the
#                            tree a package installed into (dkms_package)
#     --kernel-dir DIR       boot the kernel built by tests/debug-kernel/build.sh
#                            in DIR (drivers built in) with DIR/metro/dm-metro.ko
#                            (default: $METRO_KERNEL_DIR, else Debian's kernel)
#     --net-dgram L,R,MAC    a virtio-net NIC (eth0, eth1... in order) whose
#                            link is a unix datagram socket at L sending to R
#                            (two-site tests: the other guest has R,L); repeatable
#     --monitor PATH         the qemu monitor (HMP) on a unix socket at PATH
#     --share DIR            DIR writable in the guest at $METRO_SHARE
#     -q                     do not stream the console, only print results
#   tests/vm/run.sh --prepare [--kernel-dir DIR]
#                            fetch the kernel image and build the initramfs
#                            if they are not there, boot nothing: run once
#                            before starting several guests
#
# Prints the console (each line prefixed with "| ") while it runs, then one
# result line per case: "ok - NAME", "ok - NAME # SKIP ...", "not ok - NAME".
# A case that printed no result (crash, hang, timeout) is reported "not ok".
# Exit status: 0 all passed/skipped, 1 a case failed, 2 harness error;
# with --kill-after-marker, 0 when qemu was killed at the marker and 3 when
# the marker never came (then results are reported as usual).
set -u

TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${METRO_BUILD:-$TOP/build}
VMDIR=$BUILD/vm

disks=() envs=() cases=() casedir=$TOP/tests/cases nics=() monitor=(-monitor none) share=()
scratch= marker= kdelay=0 timeout=1800 ctimeout=300 mem=2048 smp=2 log= quiet=0 icount=() prepare=0
module_root=
kernel_dir=${METRO_KERNEL_DIR:-}
usage() { sed -n '4,49p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--disk) disks+=("$(realpath "$2")"); shift 2 ;;
	--scratch-disks) scratch=$2; shift 2 ;;
	--kill-after-marker) marker=$2; shift 2 ;;
	--kill-delay) kdelay=$2; shift 2 ;;
	--env) envs+=("$2"); shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--case-timeout) ctimeout=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--icount)
		[[ $2 =~ ^[0-9]$ ]] || { echo "run.sh: --icount SHIFT: 0 to 9" >&2; exit 2; }
		icount=(-icount "shift=$2,sleep=on,align=off"); shift 2 ;;
	--log) log=$2; shift 2 ;;
	--case-dir) casedir=$(realpath "$2"); envs+=("METRO_CASES_DIR=$casedir"); shift 2 ;;
	--kernel-dir) kernel_dir=$(realpath "$2"); shift 2 ;;
	--module-root) module_root=$(realpath "$2"); shift 2 ;;
	--net-dgram)
		IFS=, read -r nl nr nmac <<< "$2"
		[ -n "$nmac" ] || { echo "run.sh: --net-dgram LOCAL,REMOTE,MAC" >&2; exit 2; }
		n=$((${#nics[@]} / 4))
		nics+=(-netdev "dgram,id=net$n,local.type=unix,local.path=$nl,remote.type=unix,remote.path=$nr"
		       -device "virtio-net-pci,netdev=net$n,mac=$nmac")
		shift 2 ;;
	--monitor) monitor=(-monitor "unix:$2,server=on,wait=off"); shift 2 ;;
	--share)
		share=(-virtfs "local,path=$(realpath "$2"),mount_tag=metroshare,security_model=none")
		envs+=("METRO_SHARE=/tmp/share")
		shift 2 ;;
	-q) quiet=1; shift ;;
	--prepare) prepare=1; shift ;;
	-h|--help) usage ;;
	--) shift; cases+=("$@"); break ;;
	-*) echo "run.sh: unknown option $1" >&2; usage ;;
	*) cases+=("${1%.sh}"); shift ;;
	esac
done
[ ${#cases[@]} -gt 0 ] || [ "$prepare" = 1 ] || { echo "run.sh: no case given" >&2; usage; }
for c in "${cases[@]}"; do
	c=$(basename "$c")
	[ -f "$casedir/$c.sh" ] || { echo "run.sh: no case $casedir/$c.sh" >&2; exit 2; }
done
cases=("${cases[@]##*/}")

die() { echo "run.sh: $*" >&2; exit 2; }

# --- the kernel -----------------------------------------------------------
# Modules needed to mount the host root over virtio-9p, dependencies first.
INITRD_MODS="virtio_pci 9pnet_virtio 9p"
if [ -n "$kernel_dir" ]; then
	# the debug kernel: everything the VM needs built in, brd a module;
	# build.sh touches done after installing the modules and the image
	[ -f "$kernel_dir/done" ] ||
		die "no finished kernel build in $kernel_dir: run tests/debug-kernel/build.sh"
	kver=$(cat "$kernel_dir/kernelrelease")
	kimage=$kernel_dir/bzImage
	modsrc=$kernel_dir/modroot/lib/modules/$kver
	ko=$kernel_dir/metro/dm-metro.ko
	INITRD_MODS=""
else
	hdr=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1)
	kver=${METRO_KVER:-${hdr#/usr/src/linux-headers-}}
	[ -n "$kver" ] || die "no kernel headers installed: run 'make deps'"
	kdir=$BUILD/kernel/$kver
	# tests/deps.sh renames the tree into place with its stamp .fetched in
	# it, under a lock: a tree with the stamp is whole
	if [ ! -f "$kdir/.fetched" ]; then
		echo "run.sh: kernel image $kver not in $kdir; fetching it (tests/deps.sh --kernel-only)" >&2
		METRO_KVER=$kver "$TOP/tests/deps.sh" --kernel-only >&2 ||
			die "cannot fetch the kernel image: run 'make deps'"
	fi
	kimage=$kdir/boot/vmlinuz-$kver
	modsrc=$kdir/lib/modules/$kver
	ko=$TOP/dm-metro/dm-metro.ko
fi
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing: run 'make deps'"
[ -x /bin/busybox ] || die "/bin/busybox missing (busybox-static): run 'make deps'"
command -v cpio >/dev/null || die "cpio missing: run 'make deps'"

mkdir -p "$VMDIR/logs" "$VMDIR/runs"
# keep the newest 60 console logs
ls -t "$VMDIR"/logs/*.log 2>/dev/null | tail -n +60 | while read -r f; do rm -f "$f" "$f.cmd"; done

# --- the initramfs (cached) -----------------------------------------------
# The modules it loads, dependencies first, resolved from modules.dep (paths
# relative to $modsrc).
initrd_mods=() seen=" "
add_mod() {
	local name=$1 line path d
	line=$(grep -E "(^|/)${name//_/[-_]}\.ko(\.[gx]z|\.zst)?:" "$modsrc/modules.dep" | head -n 1)
	# built in (virtio_pci in Debian's 6.12): nothing to load
	[ -z "$line" ] && grep -qE "(^|/)${name//_/[-_]}\.ko\$" "$modsrc/modules.builtin" 2>/dev/null && return 0
	[ -n "$line" ] || { echo "run.sh: module $name not in $modsrc/modules.dep" >&2; return 1; }
	path=${line%%:*}
	[ -f "$modsrc/$path" ] || { echo "run.sh: $modsrc/$path missing" >&2; return 1; }
	case "$seen" in *" $path "*) return 0 ;; esac
	for d in ${line#*:}; do
		add_mod "$(basename "${d%%.ko*}")" || return 1
	done
	seen="$seen$path "
	initrd_mods+=("$path")
}
for m in $INITRD_MODS; do add_mod "$m" || die "cannot build the initramfs"; done

# build_initrd: build it in a directory of its own and rename it to $initrd
build_initrd() {
	local tmp m p
	tmp=$(mktemp -d "$VMDIR/.initrd-build.XXXXXX") || return 1
	mkdir -p "$tmp/root/bin" "$tmp/root/modules" "$tmp/root/proc" "$tmp/root/sys" \
		"$tmp/root/dev" "$tmp/root/newroot" &&
		cp /bin/busybox "$tmp/root/bin/busybox" &&
		cp "$TOP/tests/vm/initramfs-init" "$tmp/root/init" &&
		chmod 755 "$tmp/root/init" &&
		: > "$tmp/root/modules/order" || return 1
	for p in "${initrd_mods[@]}"; do
		m=$(basename "${p%%.ko*}")
		case "$p" in
		*.ko) cp "$modsrc/$p" "$tmp/root/modules/$m.ko" ;;
		*.ko.xz) xz -dc "$modsrc/$p" > "$tmp/root/modules/$m.ko" ;;
		*.ko.gz) gzip -dc "$modsrc/$p" > "$tmp/root/modules/$m.ko" ;;
		*.ko.zst) zstd -qdc "$modsrc/$p" > "$tmp/root/modules/$m.ko" ;;
		esac || return 1
		echo "$m" >> "$tmp/root/modules/order" || return 1
	done
	(set -o pipefail; cd "$tmp/root" && find . | cpio -o -H newc --quiet | gzip -1) \
		> "$tmp/initramfs.cpio.gz" &&
		mv -f "$tmp/initramfs.cpio.gz" "$initrd" || return 1
	rm -rf "$tmp"
}

# The file is named by a hash of all it is built from: the modules (paths
# and contents), busybox, the init script and build_initrd itself.  A new
# kernel tree, module list or recipe gets a new file; a file of that name
# was renamed there whole.  Built under a lock, so that guests starting at
# once build it once; under the lock a build directory is a killed build's.
key=$( {
	echo "$kver $INITRD_MODS"
	for p in "${initrd_mods[@]}"; do echo "$p $(sha256sum < "$modsrc/$p")"; done
	sha256sum < /bin/busybox
	sha256sum < "$TOP/tests/vm/initramfs-init"
	declare -f build_initrd
} | sha256sum | cut -c1-16)
initrd=$VMDIR/initramfs-$kver-$key.cpio.gz
exec 8> "$VMDIR/.initramfs.lock"
flock 8
if [ -f "$initrd" ]; then
	touch "$initrd"		# in use: spared by other runs' pruning
else
	rm -rf "$VMDIR"/.initrd-build.*
	build_initrd || { rm -rf "$VMDIR"/.initrd-build.*; die "cannot build the initramfs $initrd"; }
	# those of other trees or recipes, unused for a day
	find "$VMDIR" -maxdepth 1 -name 'initramfs-*.cpio.gz' ! -name "${initrd##*/}" \
		-mmin +1440 -delete
fi
exec 8>&-
if [ "$prepare" = 1 ]; then
	echo "run.sh: ready to boot $kimage with $initrd"
	exit 0
fi

# --- this run's module tree: the kernel's + dm-metro's modules in extra/ ---
run=$(mktemp -d "$VMDIR/runs/run.XXXXXX")
qpid=
cleanup() {
	[ -n "$qpid" ] && kill -9 "$qpid" 2>/dev/null
	rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
modroot=$run/modroot
if [ -n "$module_root" ]; then
	[ -f "$module_root/lib/modules/$kver/modules.dep" ] ||
		die "no module tree for $kver in $module_root (lib/modules/$kver/modules.dep)"
	modroot=$module_root
else
	mkdir -p "$run/modroot/lib/modules"
	cp -al "$modsrc" "$run/modroot/lib/modules/$kver" || die "cannot copy the module tree"
	mkdir -p "$run/modroot/lib/modules/$kver/extra"
	if [ -f "$ko" ]; then
		# dm-metro.ko, and dm-metro-cluster.ko where the kernel has the DLM
		cp "$ko" "$run/modroot/lib/modules/$kver/extra/"
		[ -f "${ko%/*}/dm-metro-cluster.ko" ] &&
			cp "${ko%/*}/dm-metro-cluster.ko" "$run/modroot/lib/modules/$kver/extra/"
		vm=$(modinfo -F vermagic "$ko" 2>/dev/null | awk '{print $1}')
		[ "$vm" = "$kver" ] || echo "run.sh: warning: $ko is built for '$vm', the VM runs $kver" >&2
	else
		echo "run.sh: warning: $ko not built (make module); cases needing it will fail" >&2
	fi
	depmod -b "$run/modroot" "$kver" || die "depmod failed"
fi

# --- disks ------------------------------------------------------------------
if [ -z "$scratch" ]; then
	scratch=0
	for c in "${cases[@]}"; do
		n=$(sed -n 's/^# metro-disks: *\([0-9]\+\).*/\1/p' "$casedir/$c.sh" | head -n 1)
		[ -n "$n" ] && [ "$n" -gt "$scratch" ] && scratch=$n
	done
fi
drives=()
i=0
for f in "${disks[@]}"; do
	[ -f "$f" ] || [ -b "$f" ] || die "no disk image $f"
	drives+=(-drive "file=$f,if=none,id=disk$i,format=raw,cache=writeback,aio=threads"
		 -device "virtio-blk-pci,drive=disk$i,serial=disk$i")
	i=$((i + 1))
done
for ((i = 0; i < scratch; i++)); do
	truncate -s 256M "$run/scratch$i.img"
	drives+=(-drive "file=$run/scratch$i.img,if=none,id=scratch$i,format=raw,cache=writeback"
		 -device "virtio-blk-pci,drive=scratch$i,serial=scratch$i")
done

# --- boot -------------------------------------------------------------------
[ -n "$log" ] || log=$VMDIR/logs/$(date +%Y%m%d-%H%M%S)-$$.log
mkdir -p "$(dirname "$log")"
: > "$log"
caselist=$(IFS=,; echo "${cases[*]}")
# The guest's TSC under TCG is the host's (checked: a 20 s sleep in the guest
# takes 20.05 s on the host), but the kernel finds no invariant-TSC flag
# and falls back to the HPET, whose every read is an emulated MMIO access:
# it was 10-18% of the CPU under fio (clock_gettime cannot use the vDSO).
append="console=ttyS0 panic=-1 loglevel=3 mitigations=off rdinit=/init tsc=reliable clocksource=tsc"
# Under KASAN and TCG the ACPI interpreter can time out in the PCI routing
# method (AE_AML_LOOP_TIMEOUT): virtio then gets no interrupt and the 9p
# root never mounts.  Legacy routing avoids the method.
[ -n "$kernel_dir" ] && append+=" pci=noacpi"
append+=" metro.src=$TOP metro.runner=$TOP/tests/vm/guest-run.sh"
append+=" metro.modroot=$modroot metro.cases=$caselist metro.timeout=$ctimeout"
for e in "${envs[@]}"; do append+=" metro.env=$e"; done

[ ${#nics[@]} -gt 0 ] || nics=(-nic none)
qemu=(qemu-system-x86_64 -accel tcg "${icount[@]}" -cpu max -m "$mem" -smp "$smp"
	-nographic -no-reboot -display none "${monitor[@]}" -serial stdio "${nics[@]}"
	-kernel "$kimage" -initrd "$initrd" -append "$append"
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	"${share[@]}" "${drives[@]}")
echo "# run.sh: ${qemu[*]}" >> "$log.cmd"
echo "| # run.sh: booting ($kver, ${mem}M, ${smp} cpus, cases: $caselist), log $log"

"${qemu[@]}" < /dev/null > "$log" 2>&1 &
qpid=$!
tailpid=
if [ "$quiet" = 0 ]; then
	tail -n +1 -F --pid="$qpid" "$log" 2>/dev/null | sed -u 's/\r$//; s/^/| /' &
	tailpid=$!
fi
start=$SECONDS killed_marker=0 timed_out=0
while kill -0 "$qpid" 2>/dev/null; do
	if [ $((SECONDS - start)) -ge "$timeout" ]; then
		timed_out=1
		kill -9 "$qpid" 2>/dev/null
		break
	fi
	if [ -n "$marker" ] && grep -qF -- "$marker" "$log"; then
		sleep "$kdelay"
		kill -9 "$qpid" 2>/dev/null
		killed_marker=1
		break
	fi
	sleep 0.2
done
wait "$qpid" 2>/dev/null
qpid=
if [ -n "$tailpid" ]; then	# tail ends by itself once qemu is gone
	for i in $(seq 50); do kill -0 "$tailpid" 2>/dev/null || break; sleep 0.1; done
	kill "$tailpid" 2>/dev/null; wait "$tailpid" 2>/dev/null
fi

# --- results ----------------------------------------------------------------
echo "| # run.sh: VM ran $((SECONDS - start))s"
[ "$timed_out" = 1 ] && echo "| # run.sh: wall-clock timeout ${timeout}s: qemu killed"
[ "$killed_marker" = 1 ] && echo "| # run.sh: qemu killed (-9) ${kdelay}s after marker '$marker'"
fail=0
for c in "${cases[@]}"; do
	line=$(tr -d '\r' < "$log" | grep -E "^(not )?ok - $c( |\$)" | tail -n 1)
	if [ -n "$line" ]; then
		echo "$line"
		case "$line" in not*) fail=1 ;; esac
	elif [ "$killed_marker" = 1 ]; then
		:	# the case was meant to be cut short
	else
		why="no result"
		[ "$timed_out" = 1 ] && why="VM wall-clock timeout (${timeout}s)"
		grep -q 'Kernel panic' "$log" && why="kernel panic"
		echo "not ok - $c # $why, see $log"
		fail=1
	fi
done
if [ "$killed_marker" = 1 ]; then
	exit 0
elif [ -n "$marker" ]; then
	echo "| # run.sh: marker '$marker' never printed"
	exit 3
fi
exit "$fail"
