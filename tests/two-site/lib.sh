# SPDX-License-Identifier: GPL-2.0-only
#
# Helpers of the two-site cases (tests/two-site/cases/*.sh), on top of
# tests/cases/lib.sh.  Every case runs in both guests (tests/two-site/run.sh)
# and branches on $METRO_SITE (A or B, and W for the witness guest of a
# case with "# two-site-witness: yes"); $METRO_BOOT counts the boots of
# this site within the case.  Each site's own leg is /dev/vda.
. "$(dirname "${BASH_SOURCE[0]}")/../cases/lib.sh" || exit 1

[ -n "${METRO_SITE:-}" ] && [ -d "${METRO_SHARE:-}" ] ||
	fail "not in a two-site guest (METRO_SITE, METRO_SHARE unset): run tests/two-site/run.sh"
SITE=$METRO_SITE
PEER=B
[ "$SITE" = B ] && PEER=A
IP_A=10.99.0.1 IP_B=10.99.0.2
# the witness links (METRO_WITNESS=1): A-W and B-W, each a /24 of its own
IP_AW_A=10.99.1.1 IP_AW_W=10.99.1.3 IP_BW_B=10.99.2.2 IP_BW_W=10.99.2.3
WITNESS=${METRO_WITNESS:-0}
NQN=nqn.2026-12.org.dm-metro:site-b
LEG=/dev/vda
IP=/usr/sbin/ip
[ -x $IP ] || IP=/sbin/ip

# a failing site tells the other one, which then stops waiting for it; a
# case may set ON_FAIL to a function that prints what helps (daemon logs)
ON_FAIL=
fail() {
	echo "FAIL: $*"
	touch "$METRO_SHARE/sig.failed-$SITE"
	if [ -n "$ON_FAIL" ]; then
		local f=$ON_FAIL
		ON_FAIL=
		$f
	fi
	exit 1
}

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

# nic_up DEV ADDR PEER: DEV up with ADDR/24, until PEER answers a ping
nic_up() {
	local i
	for i in $(seq 50); do [ -e "/sys/class/net/$1" ] && break; sleep 0.1; done
	must $IP link set "$1" up
	must $IP addr add "$2/24" dev "$1"
	for i in $(seq 60); do
		busybox ping -c 1 -W 1 "$3" >/dev/null 2>&1 && { log "site $SITE: $3 answers over $1"; return 0; }
		sleep 0.5
	done
	fail "site $SITE: no answer from $3 over $1"
}

# net_up: the inter-site link up with this site's address, peer reachable;
# with a witness, also the link to it (eth1)
net_up() {
	must modprobe virtio_net
	case "$SITE" in
	A) nic_up eth0 $IP_A $IP_B
	   [ "$WITNESS" = 1 ] && nic_up eth1 $IP_AW_A $IP_AW_W ;;
	B) nic_up eth0 $IP_B $IP_A
	   [ "$WITNESS" = 1 ] && nic_up eth1 $IP_BW_B $IP_BW_W ;;
	esac
	return 0
}

# witness_serve: the whole case at the witness guest W: corosync-qnetd on
# its two links, until the sites signal "done" (or one of them fails);
# then what qnetd saw is printed and the case passes
witness_serve() {
	local i
	must modprobe virtio_net
	# the sites ping W's addresses until they answer
	for i in $(seq 50); do [ -e /sys/class/net/eth1 ] && break; sleep 0.1; done
	must $IP link set eth0 up
	must $IP addr add "$IP_AW_W/24" dev eth0
	must $IP link set eth1 up
	must $IP addr add "$IP_BW_W/24" dev eth1
	qnetd_start
	signal witness-up
	for ((i = 0; i < 9000; i++)); do
		[ -e "$METRO_SHARE/sig.done" ] && break
		[ -e "$METRO_SHARE/sig.failed-A" ] || [ -e "$METRO_SHARE/sig.failed-B" ] && break
		sleep 0.1
	done
	log "witness: clusters and clients of corosync-qnetd:"
	timeout 10 corosync-qnetd-tool -l -v 2>&1 | sed 's/^/    /'
	[ -e "$METRO_SHARE/sig.done" ] || fail "the sites did not finish (see their logs)"
	pass "witness served the case"
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

# --- the cluster stack: corosync, votequorum, qdevice/qnetd, dlm ----------
#
# The host root is read-only in the guest: cluster_prepare puts tmpfs over
# the directories the daemons write (the configuration is written at run
# time).  Nodes: A is nodeid 1 (ring0 $IP_A), B nodeid 2 (ring0 $IP_B); knet
# over the A-B link only, no crypto.  Every daemon runs in the foreground in
# the background of the case, its output in $CLUSTER_LOGS; cluster_logs
# prints their tails (set ON_FAIL=cluster_logs).
CLUSTER=metro
CLUSTER_LOGS=/var/log/cluster
COROSYNC_CONF=/etc/corosync/corosync.conf
declare -A CLUSTER_PID=()

# now_ms: milliseconds of this guest's clock, without a fork
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
# since_ms T0: milliseconds since now_ms printed T0, as seconds "12.345"
since_ms() { local d=$(($(now_ms) - $1)); printf '%d.%03d' $((d / 1000)) $((d % 1000)); }

cluster_prepare() {
	local d
	# dlm_controld reads /etc/dlm/dlm.conf, a directory Debian's package
	# does not make: an overlay on /etc gives the guest one
	if [ ! -d /etc/dlm ]; then
		modprobe -q overlay
		mkdir -p /run/etc-overlay/upper /run/etc-overlay/work
		must mount -t overlay overlay \
			-o lowerdir=/etc,upperdir=/run/etc-overlay/upper,workdir=/run/etc-overlay/work /etc
		must mkdir /etc/dlm
	fi
	for d in /etc/corosync /etc/dlm /var/lib/corosync /var/log; do
		mountpoint -q "$d" || must mount -t tmpfs -o mode=755 tmpfs "$d"
	done
	mkdir -p "$CLUSTER_LOGS" /var/log/corosync /var/lib/corosync \
		/run/corosync-qdevice /run/corosync-qnetd /run/dlm_controld /var/log/dlm_controld
}

# corosync_conf MODE [WITNESS_ADDR]: write corosync.conf for nodes A and B.
# MODE two_node: votequorum two_node (each site quorate alone once both
#   were seen: wait_for_all);
# MODE atb: expected votes 2, auto_tie_breaker with node 1 (site A) as the
#   tie breaker: on a 50/50 split the partition with node 1 is quorate;
# MODE qdevice: a qdevice of model net (the witness's qnetd at
#   WITNESS_ADDR, default this site's address of W), algorithm ffsplit,
#   1 vote (expected votes 3), TLS off (no NSS certificates on either side).
# CLUSTER_TOKEN (ms, default corosync's 3000) sets totem.token;
# QDEVICE_TIMEOUT and QDEVICE_SYNC_TIMEOUT (ms, defaults 10000 and 30000)
# the qdevice's timeouts; QDEVICE_TIE_BREAKER (default lowest) its
# ffsplit tie breaker.
corosync_conf() {
	local mode=$1 w=${2:-} q
	case "$mode" in
	two_node) q="	two_node: 1" ;;
	atb) q="	auto_tie_breaker: 1
	auto_tie_breaker_node: 1" ;;
	qdevice)
		[ -n "$w" ] || case "$SITE" in A) w=$IP_AW_W ;; B) w=$IP_BW_W ;; esac
		[ -n "$w" ] || fail "corosync_conf qdevice: no witness address"
		q="	device {
		model: net
		votes: 1
		timeout: ${QDEVICE_TIMEOUT:-10000}
		sync_timeout: ${QDEVICE_SYNC_TIMEOUT:-30000}
		net {
			host: $w
			algorithm: ffsplit
			tie_breaker: ${QDEVICE_TIE_BREAKER:-lowest}
			tls: off
		}
	}" ;;
	*) fail "corosync_conf: unknown mode '$mode'" ;;
	esac
	# every "{" ends its line (corosync's parser)
	cat > "$COROSYNC_CONF" <<CONF || fail "cannot write $COROSYNC_CONF"
totem {
	version: 2
	cluster_name: $CLUSTER
	transport: knet
	crypto_cipher: none
	crypto_hash: none
	token: ${CLUSTER_TOKEN:-3000}
}
nodelist {
	node {
		nodeid: 1
		name: A
		ring0_addr: $IP_A
	}
	node {
		nodeid: 2
		name: B
		ring0_addr: $IP_B
	}
}
quorum {
	provider: corosync_votequorum
$q
}
logging {
	to_stderr: no
	to_syslog: no
	to_logfile: yes
	logfile: $CLUSTER_LOGS/corosync.log
	timestamp: hires
}
CONF
	log "site $SITE: corosync.conf ($mode):"
	sed 's/^/    /' "$COROSYNC_CONF"
}

# daemon_start NAME READY TIMEOUT CMD...: start CMD in the background
# (output to $CLUSTER_LOGS/NAME.out) and wait until the shell command READY
# succeeds, for at most TIMEOUT seconds
daemon_start() {
	local name=$1 ready=$2 t=$3 t0 i
	shift 3
	t0=$(now_ms)
	echo "+ $* &"
	"$@" >> "$CLUSTER_LOGS/$name.out" 2>&1 < /dev/null &
	CLUSTER_PID[$name]=$!
	for ((i = 0; i < t * 5; i++)); do
		eval "$ready" >/dev/null 2>&1 && { log "site $SITE: $name ready in $(since_ms "$t0")s"; return 0; }
		kill -0 "${CLUSTER_PID[$name]}" 2>/dev/null || {
			tail -n 30 "$CLUSTER_LOGS/$name.out"
			fail "site $SITE: $name exited at start"
		}
		sleep 0.2
	done
	tail -n 30 "$CLUSTER_LOGS/$name.out"
	fail "site $SITE: $name not ready in ${t}s ($ready)"
}

# daemon_stop NAME [TIMEOUT]: SIGTERM, wait for its exit (default 30 s)
daemon_stop() {
	local name=$1 t=${2:-30} p=${CLUSTER_PID[$1]:-} i
	[ -n "$p" ] || return 0
	kill "$p" 2>/dev/null
	for ((i = 0; i < t * 5; i++)); do
		kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null; unset "CLUSTER_PID[$name]"; return 0; }
		sleep 0.2
	done
	fail "site $SITE: $name (pid $p) did not exit in ${t}s after SIGTERM"
}
# daemon_alive NAME: its process is still there
daemon_alive() { [ -n "${CLUSTER_PID[$1]:-}" ] && kill -0 "${CLUSTER_PID[$1]}" 2>/dev/null; }

# corosync_start: corosync with $COROSYNC_CONF, ready once its cfg answers
corosync_start() {
	daemon_start corosync "corosync-cfgtool -s" 60 corosync -f
}
corosync_stop() { daemon_stop corosync 60; }

# qdevice_start: corosync-qdevice (model net) at a site, after corosync
qdevice_start() {
	daemon_start qdevice "corosync-qdevice-tool -s" 60 corosync-qdevice -f -d
}
qdevice_stop() { daemon_stop qdevice 60; }

# qnetd_start: corosync-qnetd at the witness, without TLS (-s off): it then
# opens no NSS database; ready once corosync-qnetd-tool answers
qnetd_start() {
	cluster_prepare
	daemon_start qnetd "corosync-qnetd-tool -s" 60 corosync-qnetd -f -d -s off -4
}

# dlm_start: the kernel DLM and dlm_controld, ready once dlm_tool status
# answers.  With DLM_FENCE set (the nvmet subsystems exporting this site's
# leg), a lost node is fenced by fence_metro before the DLM's recovery
# gives its locks to the survivors (dlm.conf fence_all); without it,
# dlm_controld runs with fencing off.  dlm_controld fences no earlier
# than post_join_delay (its default 30 s) after the last node joined: the
# cases cut links sooner than that, so DLM_POST_JOIN_DELAY (default 5).
DLM_FENCE=
dlm_start() {
	local n
	must modprobe configfs
	must modprobe dlm
	mountpoint -q /sys/kernel/config || must mount -t configfs configfs /sys/kernel/config
	mkdir -p /dev/misc
	for n in dlm-control dlm-monitor dlm_plock; do
		[ -e "/dev/$n" ] || fail "no /dev/$n after modprobe dlm"
		ln -sf "/dev/$n" "/dev/misc/$n"
	done
	if [ -n "$DLM_FENCE" ]; then
		cat > /etc/dlm/dlm.conf <<CONF || fail "cannot write /etc/dlm/dlm.conf"
enable_fencing=1
post_join_delay=${DLM_POST_JOIN_DELAY:-5}
fence_all $(dirname "$METROCTL")/fence_metro subsys=$DLM_FENCE
CONF
		log "site $SITE: /etc/dlm/dlm.conf:"
		sed 's/^/    /' /etc/dlm/dlm.conf
		daemon_start dlm_controld "dlm_tool status" 60 dlm_controld --foreground
	else
		daemon_start dlm_controld "dlm_tool status" 60 dlm_controld --foreground --enable_fencing 0
	fi
}
dlm_stop() { daemon_stop dlm_controld 60; }

# quorate: Yes or No (corosync-quorumtool -s), "?" when it does not answer
quorate() {
	local q
	q=$(timeout 10 corosync-quorumtool -s 2>/dev/null | awk '$1 == "Quorate:" { print $2 }')
	echo "${q:-?}"
}
# members: the node ids of the current membership, sorted, one line
members() {
	timeout 10 corosync-quorumtool -l 2>/dev/null |
		awk '$1 ~ /^[1-9][0-9]*$/ && NF >= 3 { print $1 }' | sort -n | tr '\n' ' ' | sed 's/ $//'
}
# total_votes: "Total votes:" of corosync-quorumtool -s
total_votes() { timeout 10 corosync-quorumtool -s 2>/dev/null | awk '/^Total votes:/ { print $3 }'; }
quorum_status() { timeout 10 corosync-quorumtool -s 2>&1 | sed "s/^/    site $SITE: /"; }

# wait_quorum Yes|No MEMBERS TIMEOUT: until this site says Quorate: Yes or
# No with exactly MEMBERS (node ids, "1 2"; "" for any) in its membership;
# sets WAITED to the seconds it took
wait_quorum() {
	local want=$1 m=$2 t=$3 t0 q mm
	t0=$(now_ms)
	while :; do
		q=$(quorate)
		mm=$(members)
		[ "$q" = "$want" ] && { [ -z "$m" ] || [ "$mm" = "$m" ]; } && break
		if [ $(($(now_ms) - t0)) -ge $((t * 1000)) ]; then
			quorum_status
			fail "site $SITE: not 'Quorate: $want' with members '$m' in ${t}s (Quorate: $q, members '$mm')"
		fi
		sleep 0.2
	done
	WAITED=$(since_ms "$t0")
	log "site $SITE: Quorate: $want, members $mm after ${WAITED}s"
}

# stays_quorate SECONDS: Quorate: Yes at every look (every 0.2 s) for that long
stays_quorate() {
	local t0 q
	t0=$(now_ms)
	while [ $(($(now_ms) - t0)) -lt $(($1 * 1000)) ]; do
		q=$(quorate)
		[ "$q" = Yes ] || { quorum_status; fail "site $SITE lost quorum ($q) $(since_ms "$t0")s into a ${1}s watch"; }
		sleep 0.2
	done
}

# dlm_ls NAME: dlm_tool ls of lockspace NAME; ls_members NAME: its members
dlm_ls() { timeout 10 dlm_tool ls 2>/dev/null | awk -v n="$1" '$1 == "name" { on = ($2 == n) } on'; }
ls_members() { dlm_ls "$1" | awk '$1 == "members" { $1 = ""; sub(/^ +/, ""); print; exit }'; }

# cluster_logs: the tails of the daemons' logs (ON_FAIL=cluster_logs)
cluster_logs() {
	local f
	echo "--- site $SITE: cluster state"
	timeout 10 corosync-quorumtool -s 2>&1 | sed 's/^/    /'
	timeout 10 dlm_tool ls 2>&1 | sed 's/^/    /'
	for f in "$CLUSTER_LOGS"/*; do
		[ -f "$f" ] || continue
		echo "--- site $SITE: $f (last 40 lines)"
		tail -n 40 "$f" | sed 's/^/    /'
	done
	if daemon_alive dlm_controld; then
		echo "--- site $SITE: dlm_tool dump (last 40 lines)"
		timeout 10 dlm_tool dump 2>&1 | tail -n 40 | sed 's/^/    /'
	fi
}

# cluster_start MODE: corosync (MODE as for corosync_conf: two_node, atb
# or qdevice, the witness W then up first) and dlm_controld at this site,
# once both nodes are members and quorate; CLUSTER_NAME is the cluster's
# name.  ON_FAIL prints the daemons' logs when the case fails.
CLUSTER_NAME=$CLUSTER
cluster_start() {
	cluster_prepare
	corosync_conf "$1"
	corosync_start
	if [ "$1" = qdevice ]; then
		wait_for witness-up 120
		qdevice_start
	fi
	wait_quorum Yes "1 2" 90
	dlm_start
	ON_FAIL=cluster_logs
}

