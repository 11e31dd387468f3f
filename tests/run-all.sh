#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run the dm-metro test suites and print one final line
#   N passed, N failed, N skipped
# exiting non-zero when anything failed.
#
#   tests/run-all.sh [--unit-only | --vm-only | --debug-kernel] [CASE...]
#
# Unit suite: make -C tests/unit run (TAP "ok N - name" / "not ok N - name"),
# then tests/build-compat.sh (the module against Debian's 6.12 headers) and
# tests/style-check.sh (W=1, sparse, checkpatch).
# VM suite: tests/vm/run.sh --prepare (the kernel image and the initramfs,
# made once before any guest), then every tests/cases/*.sh.  Cases run in VM boots of many cases
# each, except those with a "# metro-boot: host" line, which run on the host
# and boot the VM themselves (crash tests); then every
# tests/two-site/cases/*.sh (two guests each, tests/two-site/run.sh).  Up to
# METRO_JOBS (default 2) of these boots run at a time.  Logs go to
# build/test-logs/<time>-<pid>/ (latest).
# --debug-kernel (make check-debug): the VM suite only, on the KASAN/lockdep/
# kmemleak/fault-injection kernel of tests/debug-kernel/ (built and cached
# on first use), with dm-metro built against it.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 2
# one log dir per run (several runs may share a checkout); build/test-logs/latest
LOGS=$TOP/build/test-logs/$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$LOGS"
ln -sfn "$(basename "$LOGS")" "$TOP/build/test-logs/latest"

unit=1 vm=1 debug=0 only=()
for a in "$@"; do
	case "$a" in
	--unit-only) vm=0 ;;
	--vm-only) unit=0 ;;
	--debug-kernel) unit=0 debug=1 ;;
	-h|--help) sed -n '4,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "run-all.sh: unknown option $a" >&2; exit 2 ;;
	*) only+=("$(basename "${a%.sh}")") ;;
	esac
done

npass=0 nfail=0 nskip=0 start=$SECONDS
# count FILE: add its TAP result lines to the totals
count() {
	local p f s
	p=$(grep -cE '^ok ' "$1")
	s=$(grep -cE '^ok .*# *SKIP' "$1")
	f=$(grep -cE '^not ok ' "$1")
	npass=$((npass + p - s)) nskip=$((nskip + s)) nfail=$((nfail + f))
	grep -E '^not ok ' "$1" >> "$LOGS/failed"
}
result() {	# result ok|fail|skip NAME [why]
	case "$1" in
	ok) echo "ok - $2"; npass=$((npass + 1)) ;;
	skip) echo "ok - $2 # SKIP ${3:-}"; nskip=$((nskip + 1)) ;;
	*) echo "not ok - $2${3:+ # $3}" | tee -a "$LOGS/failed"; nfail=$((nfail + 1)) ;;
	esac
}

# --- unit tests ---------------------------------------------------------------
if [ "$unit" = 1 ]; then
	echo "=== unit tests: make -C tests/unit run"
	ulog=$LOGS/unit.log
	if [ -f tests/unit/Makefile ]; then
		make -C tests/unit run > "$ulog" 2>&1
		urc=$?
		grep -E '^not ok ' "$ulog"
		echo "unit: $(grep -cE '^ok ' "$ulog") ok, $(grep -cE '^not ok ' "$ulog") not ok (all results: $ulog)"
		count "$ulog"
		n=$(grep -cE '^(not )?ok ' "$ulog")
		if [ "$urc" != 0 ] && ! grep -qE '^not ok ' "$ulog"; then
			tail -n 30 "$ulog"
			result fail unit-suite "make -C tests/unit run exited $urc, see $ulog"
		elif [ "$n" = 0 ]; then
			tail -n 30 "$ulog"
			result fail unit-suite "no test results from make -C tests/unit run"
		fi
	else
		result fail unit-suite "tests/unit/Makefile missing: no unit suite"
	fi
	# The module must also build warning-free against Debian's 6.12.
	echo "=== build check: tests/build-compat.sh"
	./tests/build-compat.sh > "$LOGS/build-compat.log" 2>&1
	cat "$LOGS/build-compat.log"
	count "$LOGS/build-compat.log"
	# A short fuzzing pass over every libFuzzer target, and the inputs that
	# once crashed one (make fuzz runs longer).
	echo "=== fuzz: make -C tests/fuzz regress run SECONDS=${METRO_FUZZ_SECONDS:-10}"
	flog=$LOGS/fuzz.log
	if make -C tests/fuzz regress run SECONDS="${METRO_FUZZ_SECONDS:-10}" > "$flog" 2>&1; then
		grep -E '^ok - ' "$flog"
		count "$flog"
		# "Done N runs in S second(s)", one per target, in Makefile order
		mapfile -t runs < <(awk '/^Done [0-9]+ runs/ {print $2}' "$flog")
		i=0
		for t in $(sed -n 's/^TARGETS *:= *//p' tests/fuzz/Makefile); do
			result ok "$t (${runs[$i]:-?} executions)"
			i=$((i + 1))
		done
	else
		grep -E 'ERROR|SUMMARY|not ok|crash-' "$flog" | head -n 20
		result fail fuzz "a fuzz target failed, see $flog (crash inputs in tests/fuzz/)"
	fi
	# W=1, sparse and checkpatch clean on the module.
	echo "=== style check: tests/style-check.sh"
	./tests/style-check.sh > "$LOGS/style-check.log" 2>&1
	cat "$LOGS/style-check.log"
	count "$LOGS/style-check.log"
fi

# --- the debug kernel ---------------------------------------------------------
if [ "$debug" = 1 ]; then
	echo "=== debug kernel: tests/debug-kernel/build.sh (cached)"
	t0=$SECONDS
	if ! kd=$(./tests/debug-kernel/build.sh 2> "$LOGS/debug-kernel.log"); then
		tail -n 40 "$LOGS/debug-kernel.log"
		result fail debug-kernel-build "see $LOGS/debug-kernel.log"
		vm=0
	elif ! ./tests/debug-kernel/build-module.sh "$kd" > "$LOGS/debug-module.log" 2>&1; then
		tail -n 40 "$LOGS/debug-module.log"
		result fail debug-kernel-module "dm-metro does not build against the debug kernel, see $LOGS/debug-module.log"
		vm=0
	else
		echo "debug kernel $(cat "$kd/kernelrelease") in $kd ($((SECONDS - t0))s)"
		export METRO_KERNEL_DIR=$kd
		# KASAN under TCG is several times slower
		export METRO_VM_TIMEOUT=${METRO_VM_TIMEOUT:-4000}
		export METRO_CASE_TIMEOUT=${METRO_CASE_TIMEOUT:-900}
		export METRO_CRASH_ITERATIONS=${METRO_CRASH_ITERATIONS:-3}
	fi
fi

# --- VM tests -----------------------------------------------------------------
# The VM suite runs as jobs, up to METRO_JOBS (default 2) at a time: the
# one-boot cases split into METRO_JOBS VM boots, each host case, the two-site
# cases.  Each job writes its report to LOGS/JOB.out and its TAP lines to
# LOGS/JOB.results; they are printed and counted in order once all are done.

# job_vm JOB CASE...: one VM boot running the cases
job_vm() {
	local job=$1 vlog=$LOGS/$1.log vrc c
	shift
	echo "=== VM tests (one boot, $job): $*"
	./tests/vm/run.sh --timeout "${METRO_VM_TIMEOUT:-1500}" \
		--case-timeout "${METRO_CASE_TIMEOUT:-300}" --log "$LOGS/$job.console" \
		"$@" > "$vlog" 2>&1
	vrc=$?
	grep -E '^(not )?ok ' "$vlog" > "$LOGS/$job.results"
	cat "$LOGS/$job.results"
	# show the output of failed cases
	for c in $(sed -n 's/^not ok - \([^ ]*\).*/\1/p' "$vlog"); do
		echo "--- output of $c (full console: $LOGS/$job.console)"
		awk -v c="$c" 'index($0, "| # metro-vm: --- " c " ") == 1 {p = 1}
			p {print} index($0, "| not ok - " c) == 1 {p = 0}' "$vlog" | tail -n 150
	done
	if [ "$vrc" = 2 ] || [ ! -s "$LOGS/$job.results" ]; then
		tail -n 40 "$vlog"
		echo "not ok - $job-harness # tests/vm/run.sh exited $vrc, see $vlog" |
			tee -a "$LOGS/$job.results"
	fi
}

# job_host CASE: a case that boots the VM itself
job_host() {
	local c=$1 hlog=$LOGS/$1.log rc
	echo "=== VM test with its own boots: $c"
	timeout -k 10 "${METRO_HOST_CASE_TIMEOUT:-1200}" bash "tests/cases/$c.sh" > "$hlog" 2>&1
	rc=$?
	grep -E '^(# |FAIL|PASS|SKIP)' "$hlog" | tail -n 20
	case $rc in
	0) echo "ok - $c" ;;
	77) echo "ok - $c # SKIP $(grep -m1 '^SKIP' "$hlog")" ;;
	*) tail -n 60 "$hlog" >&2; echo "not ok - $c # exit status $rc, see $hlog" ;;
	esac | tee "$LOGS/$c.results"
}

# job_sites JOB CASE...: two-site cases, two guests each (three with a
# witness), one after the other
job_sites() {
	local job=$1 slog=$LOGS/$1.log
	shift
	echo "=== two-site tests ($job, two guests each): $*"
	METRO_TWO_SITE_LOGS=$LOGS ./tests/two-site/run.sh "$@" > "$slog" 2>&1
	grep -E '^(not )?ok ' "$slog" > "$LOGS/$job.results"
	cat "$LOGS/$job.results"
	grep -q '^not ok' "$slog" && grep -v '^ok ' "$slog" | grep -v '^not ok ' | tail -n 150
	if [ ! -s "$LOGS/$job.results" ]; then
		tail -n 40 "$slog"
		echo "not ok - $job-harness # see $slog" | tee -a "$LOGS/$job.results"
	fi
}

# KASAN under TCG uses both cores for one VM: the debug kernel runs one job
maxjobs=${METRO_JOBS:-2}
[ "$debug" = 1 ] && maxjobs=${METRO_JOBS:-1}
order=()
# spawn JOB FUNCTION ARGS...: run FUNCTION in the background once a slot is free
spawn() {
	local job=$1
	shift
	while [ "$(jobs -rp | wc -l)" -ge "$maxjobs" ]; do wait -n; done
	order+=("$job")
	echo "=== started $job ($((SECONDS - start))s)"
	"$@" > "$LOGS/$job.out" 2>&1 &
}

# The kernel image and the initramfs, made once before the jobs boot their
# guests side by side.
if [ "$vm" = 1 ]; then
	echo "=== VM kernel and initramfs: tests/vm/run.sh --prepare"
	if ./tests/vm/run.sh --prepare > "$LOGS/vm-prepare.log" 2>&1; then
		tail -n 1 "$LOGS/vm-prepare.log"
	else
		tail -n 20 "$LOGS/vm-prepare.log"
		result fail vm-prepare "no kernel image or initramfs for the VM, see $LOGS/vm-prepare.log"
		vm=0
	fi
fi

if [ "$vm" = 1 ]; then
	boot=() host=()
	for f in tests/cases/*.sh; do
		c=$(basename "$f" .sh)
		[ "$c" = lib ] && continue
		if [ ${#only[@]} -gt 0 ]; then
			case " ${only[*]} " in *" $c "*) ;; *) continue ;; esac
		fi
		if grep -q '^# metro-boot: host' "$f"; then host+=("$c"); else boot+=("$c"); fi
	done
	[ -f dm-metro/dm-metro.ko ] || echo "run-all.sh: warning: dm-metro/dm-metro.ko not built" >&2
	[ -x userspace/metroctl ] || echo "run-all.sh: warning: userspace/metroctl not built" >&2
	# Two sites: two guests on a private link (not on the debug kernel,
	# which has no network drivers).
	sites=()
	for f in tests/two-site/cases/*.sh; do
		c=$(basename "$f" .sh)
		if [ ${#only[@]} -gt 0 ]; then
			case " ${only[*]} " in *" $c "*) ;; *) continue ;; esac
		fi
		[ "$debug" = 0 ] && sites+=("$c")
	done
	# The one-boot cases dealt round-robin over as many boots as there are
	# job slots (fewer when there are few cases).
	nshard=$maxjobs
	[ ${#boot[@]} -lt "$nshard" ] && nshard=${#boot[@]}
	for ((k = 0; k < nshard; k++)); do
		shard=()
		for ((i = k; i < ${#boot[@]}; i += nshard)); do shard+=("${boot[$i]}"); done
		job=vm-main
		[ "$nshard" -gt 1 ] && job=vm-main-$((k + 1))
		spawn "$job" job_vm "$job" "${shard[@]}"
	done
	# The two-site cases after the one-boot ones: their guests beside a
	# one-guest job overcommit the cores less than beside a second
	# one-boot job (measured: started first they made the whole run
	# longer).  They are dealt over METRO_TWO_SITE_JOBS (default 2)
	# streams, so that the last of the run is not one stream alone with
	# a job slot idle (measured: one stream ran its last 12 of 16 minutes
	# alone); the first stream takes the slot the first one-boot job
	# frees, before the host cases.
	nsites=${METRO_TWO_SITE_JOBS:-2}
	[ ${#sites[@]} -lt "$nsites" ] && nsites=${#sites[@]}
	for ((k = 0; k < nsites; k++)); do
		shard=()
		for ((i = k; i < ${#sites[@]}; i += nsites)); do shard+=("${sites[$i]}"); done
		job=two-site
		[ "$nsites" -gt 1 ] && job=two-site-$((k + 1))
		if [ "$k" = 1 ]; then
			for c in "${host[@]}"; do spawn "$c" job_host "$c"; done
			host=()
		fi
		spawn "$job" job_sites "$job" "${shard[@]}"
	done
	for c in "${host[@]}"; do spawn "$c" job_host "$c"; done
	wait
	for job in "${order[@]}"; do
		cat "$LOGS/$job.out"
		count "$LOGS/$job.results"
	done
fi

# The failures again at the end, where a truncated log still shows them.
if [ -s "$LOGS/failed" ]; then
	echo "=== failed:"
	cat "$LOGS/failed"
fi
echo "=== run time $((SECONDS - start))s"
echo "$npass passed, $nfail failed, $nskip skipped"
[ "$nfail" = 0 ]
