#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The Debian packages, installed and used the way apt would, for Debian's
# 6.1 kernel and its 6.12 kernel.  Runs on the host and boots the VM once
# per kernel.
#  host: debian/build-deb.sh builds dm-metro-dkms and dm-metro-tools
#    (dpkg-buildpackage -us -uc, no lintian error); the 6.12 headers are
#    unpacked (tests/build-compat.sh --headers) and both kernel images
#    fetched (tests/deps.sh --kernel-only).  Then, in a mount namespace of
#    its own (unshare -m: nothing of the host changes), /usr/src,
#    /var/lib/dkms and /lib/modules get private copies (the host's /usr/src
#    entries and the kernels' modules as links; build -> the headers, as
#    linux-headers-VERSION installs it), the module source goes to
#    /usr/src/dm-metro-VERSION and dm-metro-dkms's own postinst runs: dkms
#    add, then for every kernel in /lib/modules dkms build
#    (probe-compat.sh against that kernel's headers, kbuild) and install
#    into updates/dkms with depmod.
#  guest, per kernel, booted on that module tree (run.sh --module-root):
#    dm-metro and dm-metro-cluster load from updates/dkms, the packaged
#    metroctl (dpkg-deb -x of dm-metro-tools) creates a volume on /dev/ram0
#    and /dev/ram1 whose legs hold what was written, the packaged udev
#    rules name the packaged metroctl.
#  host again: dm-metro-dkms's prerm removes the modules of both kernels.
# The build runs on the host because under TCG it is slow: the same
# postinst run in the guest (private tmpfs trees there) took 850 s for 6.1
# alone, with other VMs on the host, against 47 to 125 s for both kernels
# on the host.
# metro-boot: host
set -u

if [ -z "${METRO_IN_VM:-}" ] && [ "${1:-}" = --namespace ]; then
	# ------------------------------------- host, in its own mount namespace
	# --namespace install|remove DIR DEB KERNEL:HEADERS...: the package's
	# postinst or prerm with /usr/src, /var/lib/dkms and /lib/modules bound
	# from DIR/usrsrc, DIR/dkms and DIR/modroot/lib/modules (made by install)
	what=$2 dir=$3 deb_dkms=$4
	shift 4
	set -e
	ver=$(dpkg-deb -f "$deb_dkms" Version)
	if [ "$what" = install ]; then
		dpkg-deb -x "$deb_dkms" "$dir/root"
		dpkg-deb -e "$deb_dkms" "$dir/dkms.control"
		mkdir -p "$dir/hostusr" "$dir/usrsrc" "$dir/dkms" "$dir/modroot/lib/modules"
	fi
	# the host's /usr/src entries linked from a view of its /usr, so that
	# the headers' relative links (scripts -> ../../lib/linux-kbuild-*) resolve
	mount --bind /usr "$dir/hostusr"
	mount --bind "$dir/usrsrc" /usr/src
	mount --bind "$dir/dkms" /var/lib/dkms
	if [ "$what" = install ]; then
		for e in "$dir"/hostusr/src/*; do ln -s "$e" /usr/src/; done
		for kh in "$@"; do
			k=${kh%%:*} h=${kh#*:} m=$dir/modroot/lib/modules/${kh%%:*}
			# unpacked headers (6.12) as if installed
			[ -n "$h" ] && for e in "$h"/*; do ln -sfn "$e" /usr/src/; done
			[ -e "/usr/src/linux-headers-$k/Makefile" ] || { echo "FAIL: no headers for $k"; exit 1; }
			mkdir -p "$m"
			cp -rs "$TOP/build/kernel/$k/lib/modules/$k/." "$m/"
			ln -sfn "/usr/src/linux-headers-$k" "$m/build"
		done
		cp -a "$dir/root/usr/src/dm-metro-$ver" /usr/src/
	fi
	mount --bind "$dir/modroot/lib/modules" /lib/modules
	set +e
	t=$SECONDS
	if [ "$what" = install ]; then
		echo "# + postinst configure (dm-metro-dkms), /lib/modules: $(ls /lib/modules | tr '\n' ' ')"
		DEBIAN_FRONTEND=noninteractive "$dir/dkms.control/postinst" configure > "$dir/postinst.log" 2>&1 ||
			{ cat "$dir/postinst.log"; echo "FAIL: dm-metro-dkms postinst failed"; exit 1; }
		grep -E '^Building for|^Error' "$dir/postinst.log" | sed 's/^/# postinst: /'
		echo "# postinst (dkms add, build and install for $# kernels): $((SECONDS - t))s"
		for kh in "$@"; do
			st=$(dkms status -m dm-metro -v "$ver" -k "${kh%%:*}" 2>> "$dir/dkms-status.err")
			echo "# dkms status: $st"
			grep -q ': installed' <<< "$st" || { echo "FAIL: dm-metro not installed for ${kh%%:*}"; exit 1; }
		done
		exit 0
	fi
	echo "# + prerm remove (dm-metro-dkms)"
	DEBIAN_FRONTEND=noninteractive "$dir/dkms.control/prerm" remove > "$dir/prerm.log" 2>&1 ||
		{ cat "$dir/prerm.log"; echo "FAIL: dm-metro-dkms prerm failed"; exit 1; }
	ok=1
	for kh in "$@"; do
		k=${kh%%:*}
		left=$(find "/lib/modules/$k" -name 'dm-metro*.ko*')
		[ -z "$left" ] || { echo "FAIL: prerm left $left"; ok=0; }
		grep -q dm-metro "/lib/modules/$k/modules.dep" && { echo "FAIL: modules.dep of $k still has dm-metro"; ok=0; }
	done
	echo "# prerm removed the modules of $# kernels ($((SECONDS - t))s); dkms status: '$(dkms status -m dm-metro 2>/dev/null)'"
	[ "$ok" = 1 ]
	exit
fi

if [ -z "${METRO_IN_VM:-}" ]; then
	# ---------------------------------------------------------------- host
	TOP=$(cd "$(dirname "$0")/../.." && pwd)
	mkdir -p "$TOP/build/dkms-case"
	dir=$(mktemp -d "$TOP/build/dkms-case/run.XXXXXX")	# kept when a step fails
	echo "# packages and boot logs in $dir"
	t=$SECONDS
	if ! "$TOP/debian/build-deb.sh" "$dir/deb" > "$dir/deb.log" 2>&1; then
		tail -n 40 "$dir/deb.log"
		echo "FAIL: make deb (debian/build-deb.sh) failed, see $dir/deb.log"
		exit 1
	fi
	grep -E '^build-deb.sh: lintian:|^[EW]: ' "$dir/deb.log" | sed 's/^/# /'
	echo "# packages built in $((SECONDS - t))s: $(cd "$dir/deb" && echo *.deb)"
	deb_dkms=$(ls "$dir"/deb/dm-metro-dkms_*_all.deb)

	# VERSION:HEADERS, HEADERS the usr/src of unpacked headers (empty: the
	# installed /usr/src/linux-headers-VERSION): the kernel the VM boots
	# by default (the newest installed headers) and the newest 6.12
	hdr=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1)
	[ -n "$hdr" ] || { echo "FAIL: no /usr/src/linux-headers-*-amd64: make deps"; exit 1; }
	kernels=("${hdr#/usr/src/linux-headers-}:")
	if out=$("$TOP/tests/build-compat.sh" --headers 2> "$dir/headers.err"); then
		read -r v hroot <<< "$out"
		kernels+=("$v-amd64:$hroot/usr/src")
	else
		cat "$dir/headers.err"
		echo "FAIL: no 6.12 headers (tests/build-compat.sh --headers)"
		exit 1
	fi
	for kh in "${kernels[@]}"; do
		k=${kh%%:*}
		METRO_KVER=$k "$TOP/tests/deps.sh" --kernel-only > "$dir/kernel-$k.log" 2>&1 ||
			{ cat "$dir/kernel-$k.log"; echo "FAIL: cannot fetch the kernel image $k"; exit 1; }
	done

	# report KERNEL STATUS: the guest's lines and result of boot-KERNEL.out
	report() {
		local k=$1 rc=$2 log
		log=$(sed -n 's/.*log \(\/[^ ]*\.log\)$/\1/p' "$dir/boot-$k.out" | head -n 1)
		[ -f "$log" ] && tr -d '\r' < "$log" | grep -a '^# dkms_package:' |
			sed "s/^# dkms_package: /# $k: /" | grep -E '^# [^:]*: (# |FAIL|PASS)'
		if [ "$rc" != 0 ]; then
			cat "$dir/boot-$k.out"
			[ -f "$log" ] && tr -d '\r' < "$log" | grep -a '^# dkms_package:' | tail -n 60
			echo "FAIL: $k: the packages do not work (run.sh exit $rc, console $log)"
			return 1
		fi
		echo "# $k: $(grep -E '^(not )?ok - ' "$dir/boot-$k.out"), VM boot $((SECONDS - t))s"
	}
	export TOP
	# the guests boot on the module trees the postinst installed into
	unshare -m --propagation private bash "$0" --namespace install "$dir" "$deb_dkms" "${kernels[@]}" ||
		{ echo "FAIL: installing dm-metro-dkms failed (see $dir)"; exit 1; }
	ok=1
	for kh in "${kernels[@]}"; do
		k=${kh%%:*}
		t=$SECONDS
		METRO_KVER=$k "$TOP/tests/vm/run.sh" -q --module-root "$dir/modroot" --timeout 900 \
			--case-timeout 600 --env METRO_DEB_DIR="$dir/deb" --env METRO_DKMS_VERSION="$(dpkg-deb -f "$deb_dkms" Version)" \
			dkms_package > "$dir/boot-$k.out" 2>&1
		report "$k" $? || ok=0
	done
	unshare -m --propagation private bash "$0" --namespace remove "$dir" "$deb_dkms" "${kernels[@]}" || ok=0
	[ "$ok" = 1 ] || { echo "FAIL: see $dir"; exit 1; }
	rm -rf "$dir"
	echo "PASS: dm-metro-dkms and dm-metro-tools on ${kernels[*]%%:*}"
	exit 0
fi

# ------------------------------------------------------------------- guest
. "$(dirname "$0")/lib.sh"
kver=$(uname -r)
deb_dkms=$(ls "$METRO_DEB_DIR"/dm-metro-dkms_*_all.deb 2>/dev/null)
deb_tools=$(ls "$METRO_DEB_DIR"/dm-metro-tools_*.deb 2>/dev/null)
[ -f "$deb_dkms" ] && [ -f "$deb_tools" ] || fail "no packages in $METRO_DEB_DIR"
ver=$(dpkg-deb -f "$deb_dkms" Version)
root=$METRO_TMP/root
must dpkg-deb -x "$deb_dkms" "$root"
must dpkg-deb -x "$deb_tools" "$root"

# --- dm-metro-tools
METROCTL=$root/usr/sbin/metroctl
[ -x "$METROCTL" ] || fail "dm-metro-tools has no /usr/sbin/metroctl"
[ "$(readlink "$root/usr/sbin/fence_metro")" = metroctl ] || fail "fence_metro is not a link to metroctl"
[ -f "$root/usr/share/man/man8/metroctl.8.gz" ] || fail "no metroctl(8)"
zcat "$root/usr/share/man/man8/metroctl.8.gz" | grep -q '^\.TH METROCTL 8' || fail "metroctl.8.gz is not the manual page"
rules=$root/lib/udev/rules.d/60-dm-metro.rules
[ -f "$rules" ] || fail "no /lib/udev/rules.d/60-dm-metro.rules"
! grep -q '@SBINDIR@' "$rules" || fail "the udev rules still have @SBINDIR@"
progs=$(grep -oE '(RUN|PROGRAM|IMPORT\{program\})\+?="[^" ]+' "$rules" | sed 's/.*="//' | sort -u)
[ -n "$progs" ] || fail "the udev rules run no program"
for p in $progs; do
	[ -x "$root$p" ] || fail "the udev rules run $p, which dm-metro-tools does not ship"
	log "udev rules run $p (in the package)"
done
v=$("$METROCTL" --version 2>&1) || fail "metroctl --version failed: $v"
log "metroctl --version: $v"
case "$v" in "metroctl $ver "*) ;; *) fail "metroctl --version does not say $ver" ;; esac

# installed on the host (see the top); guest-run.sh's modprobe at boot
[ "$METRO_DKMS_VERSION" = "$ver" ] || fail "the host installed dm-metro-dkms $METRO_DKMS_VERSION, not $ver"
grep -q '^dm_metro ' /proc/modules || fail "dm-metro not loaded at boot (see the modprobe message above)"
for m in dm-metro dm-metro-cluster; do
	f=$(modinfo -n "$m") || fail "modinfo finds no $m"
	case "$f" in
	"/lib/modules/$kver/updates/dkms/$m.ko"*) ;;
	*) fail "modinfo finds $m at $f, not in /lib/modules/$kver/updates/dkms" ;;
	esac
	vm=$(modinfo -F vermagic "$m" | awk '{print $1}')
	[ "$vm" = "$kver" ] || fail "$m is built for $vm, not $kver"
	must modprobe "$m"
	grep -q "^${m//-/_} " /proc/modules || fail "$m not loaded"
	log "$m loaded from $f ($(modinfo -F signer "$m" 2>/dev/null | sed 's/^$/unsigned/'))"
done
grep -qw '^metro' <(dmsetup targets) || fail "no metro target after modprobe dm-metro"
log "# target: $(dmsetup targets | grep -w '^metro')"

# --- a volume with the packaged metroctl
A=/dev/ram0 B=/dev/ram1 V=pkg
must mc create $V $A $B --assume-clean
wait_node /dev/mapper/$V
show_status $V
[ "$(st_health $V)" = AA ] || fail "new volume is not AA"
randfile pat 8
must write_file pat /dev/mapper/$V 4
check_file pat /dev/mapper/$V 4 || fail "data read back through the volume differs"
off=$(data_offset $A)
for L in $A $B; do
	cmp pat <(dd if=$L iflag=direct,skip_bytes,count_bytes bs=1M skip=$((off * 512 + 4 * MIB)) count=$((8 * MIB)) status=none) ||
		fail "leg $L does not hold the data at data_offset + 4 MiB"
done
log "8 MiB written through /dev/mapper/$V are on both legs"
must mc stop $V

must modprobe -r dm-metro-cluster dm-metro
pass "dm-metro-dkms $ver built by DKMS for $kver, loaded from updates/dkms; metroctl from dm-metro-tools"
