# SPDX-License-Identifier: GPL-2.0-only
#
# Helpers of the two-site cases (tests/two-site/cases/*.sh), on top of
# tests/cases/lib.sh.  Every case runs in both guests (tests/two-site/run.sh)
# and branches on $METRO_SITE (A or B); $METRO_BOOT counts the boots of this
# site within the case.  Each site's own leg is /dev/vda.
. "$(dirname "${BASH_SOURCE[0]}")/../cases/lib.sh" || exit 1

[ -n "${METRO_SITE:-}" ] && [ -d "${METRO_SHARE:-}" ] ||
	fail "not in a two-site guest (METRO_SITE, METRO_SHARE unset): run tests/two-site/run.sh"
SITE=$METRO_SITE
PEER=B
[ "$SITE" = B ] && PEER=A
IP_A=10.99.0.1 IP_B=10.99.0.2
NQN=nqn.2026-12.org.dm-metro:site-b
LEG=/dev/vda
IP=/usr/sbin/ip
[ -x $IP ] || IP=/sbin/ip

# a failing site tells the other one, which then stops waiting for it
fail() { echo "FAIL: $*"; touch "$METRO_SHARE/sig.failed-$SITE"; exit 1; }

# signal TAG / wait_for TAG [TIMEOUT]: rendezvous of the two sites
signal() { touch "$METRO_SHARE/sig.$1"; }
wait_for() {
	local i n=$((${2:-120} * 10))
	for ((i = 0; i < n; i++)); do
		[ -e "$METRO_SHARE/sig.$1" ] && return 0
		[ -e "$METRO_SHARE/sig.failed-$PEER" ] && fail "site $PEER failed (see its log)"
		sleep 0.1
	done
	fail "site $SITE: no '$1' from the other site in ${2:-120}s"
}

# host_do VERB ARG: ask tests/two-site/run.sh to act, wait until it did
# (not for "kill $SITE": this guest dies)
host_do() {
	local n f i
	n=$(date +%s%N)
	f=$METRO_SHARE/req.$n
	echo "$*" > "$f.tmp" && mv "$f.tmp" "$f"
	log "site $SITE: asked the host: $*"
	for i in $(seq 600); do
		[ -e "$f.done" ] && return 0
		sleep 0.1
	done
	fail "the host did not carry out '$*'"
}

# net_up: the inter-site link up with this site's address, peer reachable
net_up() {
	local me=$IP_A peer=$IP_B i
	[ "$SITE" = B ] && me=$IP_B peer=$IP_A
	must modprobe virtio_net
	for i in $(seq 50); do [ -e /sys/class/net/eth0 ] && break; sleep 0.1; done
	must $IP link set eth0 up
	must $IP addr add "$me/24" dev eth0
	for i in $(seq 60); do
		busybox ping -c 1 -W 1 "$peer" >/dev/null 2>&1 && { log "site $SITE: $peer answers"; return 0; }
		sleep 0.5
	done
	fail "site $SITE: no answer from $peer over eth0"
}

# site_b_serve_leg: at site B, export its leg, tell site A, and end the
# case (passed) once site A says "done"
site_b_serve_leg() {
	nvmet_export $LEG
	signal exported
	wait_for done 600
	pass "site B served its leg"
}

# site_a_create NAME: at site A, once site B exported its leg: connect to
# it and create volume NAME on both legs (blank, so --assume-clean)
site_a_create() {
	need_metro
	wait_for exported
	nvme_connect
	must mc create "$1" $LEG $RLEG --assume-clean --region-size 1M
	wait_node "/dev/mapper/$1"
}

# link_loss_writes V: at site A, fio verify writes over V while the link
# drops: leg B must be detached, with no I/O error; then 4 MiB (file p1)
# written at 48 MiB with leg B away.  Sets T0 (SECONDS at the cut) and
# TDET (seconds from the cut to the detach).
link_loss_writes() {
	local v=$1 fpid i
	fio_verify_write "/dev/mapper/$v" 24M 16M --runtime=20 --time_based --verify_backlog=256 \
		> "$METRO_TMP/fio-loss.log" 2>&1 &
	fpid=$!
	sleep 3
	host_do link off
	T0=$SECONDS
	for i in $(seq 300); do [ "$(st_health "$v")" = AD ] && break; sleep 0.1; done
	TDET=$((SECONDS - T0))
	[ "$(st_health "$v")" = AD ] || fail "leg B not detached ${TDET}s after the link dropped"
	log "leg B detached ${TDET}s after the link dropped (io_deadline 5 s)"
	randfile p1 4
	must write_file p1 "/dev/mapper/$v" 48
	wait $fpid || { cat "$METRO_TMP/fio-loss.log"; fail "fio saw an error or a verify mismatch across the link loss"; }
}

# link_back_restore V: the link returns; once $RLEG answers, restore leg B
# (retried while abandoned I/O is still out), which must resync only the
# regions written meanwhile; then the data and both legs are checked.
# Sets TODO and TOTAL (regions).
link_back_restore() {
	local v=$1 i s
	host_do link on
	for i in $(seq 90); do
		timeout 5 dd if="$RLEG" of=/dev/null bs=4k count=1 iflag=direct status=none && break
		sleep 1
	done
	timeout 5 dd if="$RLEG" of=/dev/null bs=4k count=1 iflag=direct status=none ||
		fail "site B's leg did not answer after the link returned"
	log "site B's leg answers again $((SECONDS - T0))s after the link dropped"
	for i in $(seq 30); do
		mc restore "$v" B && break
		sleep 1
	done
	[ "$(st_health "$v")" != AD ] || fail "metroctl restore did not take leg B back"
	# from the activation message: the resync may be over already
	s=$(st_sync "$v")
	TOTAL=${s#*/} TODO=$(last_oos "$v")
	TODO=${TODO:-0}
	log "restore: $TODO of $TOTAL regions to resync"
	[ "$TODO" -gt 0 ] || fail "nothing to resync although writes ran while leg B was away"
	[ "$TODO" -le 24 ] || fail "$TODO regions to resync: more than the 20 written while leg B was away"
	wait_sync "$v" 300
	check_file p1 "/dev/mapper/$v" 48 || fail "data written while leg B was away reads back wrong"
	must mc stop "$v"
	legs_identical $LEG "$RLEG" || fail "legs differ after the resync"
}
