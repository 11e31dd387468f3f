#!/bin/bash
# Bad table lines are refused and change nothing on the legs; bad messages
# are refused and the volume keeps working.
. "$(dirname "$0")/lib.sh"
need_metro

must mc create bt1 /dev/ram0 /dev/ram1 --assume-clean
must mc stop bt1
must mc create bt2 /dev/ram2 /dev/ram3 --assume-clean
must mc stop bt2
# ram4: random data, no superblock
must dd if=/dev/urandom of=/dev/ram4 bs=1M count=2 status=none
S=$(data_size /dev/ram0)
[ -n "$S" ] && [ "$S" -gt 0 ] || fail "no data size in the superblock of /dev/ram0"

sums() { local d; for d in /dev/ram0 /dev/ram1 /dev/ram2 /dev/ram3 /dev/ram4; do echo "$d $(sum_range $d 0 2048)"; done; }
sums > before
A="/dev/ram0 /dev/ram1"
bad=(
	"0 $S metro"
	"0 $S metro /dev/ram0"
	"0 $S metro /dev/ram0 /dev/nonexistent"
	"0 $S metro /dev/nonexistent /dev/ram1"
	"0 $S metro /dev/ram0 /dev/ram4"
	"0 $S metro /dev/ram4 /dev/ram1"
	"0 $S metro /dev/ram0 /dev/ram0"
	"0 $S metro /dev/ram1 /dev/ram0"
	"0 $S metro /dev/ram0 /dev/ram3"
	"0 $S metro /dev/ram2 /dev/ram1"
	"0 $S metro 1:0 1:3"
	"0 $S metro $A 1"
	"0 $S metro $A 2 bogus 1"
	"0 $S metro $A 1 resync_rate"
	"0 $S metro $A 3 resync_rate 10"
	"0 $S metro $A x resync_rate 10"
	"0 $S metro $A -2 resync_rate 10"
	"0 $S metro $A 2 resync_rate abc"
	"0 $S metro $A 2 resync_rate -5"
	"0 $S metro $A 2 resync_rate 12abc"
	"0 $S metro $A 2 resync_rate 99999999999999999999999"
	"0 $S metro $A 2 clear_delay 99"
	"0 $S metro $A 2 clear_delay 600001"
	"0 $S metro $A 2 clear_delay abc"
	"0 $S metro $A 2 clear_delay 0"
	"0 $S metro $A 4 clear_delay 1000 clear_delay"
	"0 $S metro $A 2 io_deadline 99"
	"0 $S metro $A 2 io_deadline 600001"
	"0 $S metro $A 2 io_deadline abc"
	"0 $S metro $A 2 io_deadline -1"
	"0 $S metro $A 10 resync_rate 1 clear_delay 1000 io_deadline 1000 write_mostly A bogus 1"
	"0 $S metro $A 2 write_mostly C"
	"0 $S metro $A 2 write_mostly 1"
	"0 $S metro $A 2 write_mostly"
	"0 $S metro - -"
	"0 $S metro - /dev/ram0"
	"0 $S metro /dev/ram1 -"
	"0 $S metro -- /dev/ram1"
	"0 $((S + 8)) metro $A"
	"0 $((S + 1)) metro $A"
	"0 $S metro $A garbage words here"
	"0 $S metro $A 0 extra"
	"0 $S metro garbage /dev/ram1"
	"0 $S metro /dev/ram0 /dev/ram1 /dev/ram2"
)
nbad=0
for t in "${bad[@]}"; do
	if dmsetup create bt --table "$t" >out 2>&1; then
		echo "ACCEPTED: '$t'"
		dmsetup remove bt
		nbad=$((nbad + 1))
	else
		echo "refused: '$t': $(tr '\n' ' ' < out)"
	fi
	dmsetup info bt >/dev/null 2>&1 && { echo "device bt left behind after '$t'"; dmsetup remove --force bt; nbad=$((nbad + 1)); }
done
sums > after
if ! cmp -s before after; then
	diff before after
	fail "refused table lines changed the first MiB of a leg"
fi
[ $nbad = 0 ] || fail "$nbad bad table line(s) accepted"
echo "kernel log of the refusals:"
dmesg | grep -i metro | tail -n 40

# good lines are accepted (so the refusals above are for the right reason)
for t in "0 $S metro $A" "0 $S metro 1:0 1:1" "0 $((S - 8)) metro $A 2 resync_rate 1000" \
	 "0 $S metro $A 4 clear_delay 100 resync_rate 0" \
	 "0 $S metro $A 6 clear_delay 100 resync_rate 0 io_deadline 0" \
	 "0 $S metro $A 2 io_deadline 100000" "0 $S metro $A 2 write_mostly b"; do
	run dmsetup create bt --table "$t" || fail "good table line refused: '$t'"
	dmsetup table bt
	must dmsetup remove bt
done
must dmsetup create bt --table "0 $S metro $A 2 resync_rate 1000"
tbl=$(dmsetup table bt); echo "table: $tbl"
grep -q 'resync_rate 1000' <<<"$tbl" || fail "table does not show resync_rate 1000"

# messages
for m in "garbage" "resync_rate abc" "resync_rate" "resync_rate -1" "resync_rate 1 2" \
	 "pause_resync now" "clear_delay 1000" ""; do
	if dmsetup message bt 0 $m >out 2>&1; then
		fail "bad message accepted: '$m'"
	fi
	echo "refused message '$m': $(tr '\n' ' ' < out)"
done
tbl2=$(dmsetup table bt)
[ "$tbl2" = "$tbl" ] || fail "table changed after refused messages: $tbl2"
for m in "resync_rate 2048" "pause_resync" "resume_resync" "resync_rate 0"; do
	run dmsetup message bt 0 $m || fail "good message refused: '$m'"
done
wait_node /dev/mapper/bt
randfile pat 4
must write_file pat /dev/mapper/bt 1
check_file pat /dev/mapper/bt 1 || fail "volume does not work after the messages"
[ "$(st_health bt)" = AA ] || fail "health is not AA"
must dmsetup remove bt
legs_identical /dev/ram0 /dev/ram1 || fail "legs differ"
pass
