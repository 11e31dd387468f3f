#!/bin/bash
# Failures on top of failures.  (1) Only leg B's metadata area fails (an
# error target over its superblock and bitmap, the data area still
# linear): the first write into a clean region needs a bitmap write, which
# fails on B; B is detached, the write succeeds on A, and A's superblock
# records B as failed.  (2) B, restored, fails again in the middle of its
# resync: it is detached again, writes carry on on A, and a later restore
# finishes the job.  (3) Both legs fail: I/O returns errors (no hang), the
# superblocks still say that A holds the newest data, and once A is
# repaired the volume is assembled again with B resynced from A, every
# acknowledged write intact and both legs identical.
. "$(dirname "$0")/lib.sh"
need_metro

V=df
sz=$(blockdev --getsz /dev/ram0)
linear_leg df_a /dev/ram0
linear_leg df_b /dev/ram1
A=/dev/mapper/df_a B=/dev/mapper/df_b
linear() { echo "0 $sz linear /dev/ram$1 0"; }
# leg_state DEV ROLE: the state words DEV's superblock records for leg ROLE
leg_state() { examine_json "$1" | jq -r --arg r "$2" '.legs[] | select(.role == $r) | .state | join(",")'; }

new_volume $V $A $B --region-size 1M
off=$(data_offset $A)
randfile expect 96
must write_file expect /dev/mapper/$V 0
show_status $V

# --- (1) a metadata write fails on B ---------------------------------------
# wait for the clearing pass (clear_delay 5 s) so that region 0 is clean again
for i in $(seq 40); do [ "$(st_dirty $V)" = 0 ] && break; sleep 0.5; done
[ "$(st_dirty $V)" = 0 ] || fail "regions still dirty 20 s after the writes: $(dmsetup status $V)"
reload df_b "0 $off error
$off $((sz - off)) linear /dev/ram1 $off"
md0=$(st_mdwrites $V)
randfile p1 1
must write_file p1 /dev/mapper/$V 0
dd if=p1 of=expect bs=1M seek=0 conv=notrunc status=none
show_status $V
[ "$(st_health $V)" = AD ] || fail "leg B not detached after its metadata write failed: $(st_health $V)"
[ "$(st_mdwrites $V)" -gt "$md0" ] || fail "no metadata write counted for the first write into a clean region"
dmesg | grep "metro: $V: leg B .* failed on .* detached" || fail "no kernel message about leg B detached"
st=$(leg_state $A B)
log "leg A's superblock says leg B is: $st"
case ",$st," in *,failed,*) ;; *) fail "leg A's superblock does not record leg B as failed ($st)" ;; esac
check_file expect /dev/mapper/$V 0 || fail "data wrong after the metadata write failure"
# data written while degraded
randfile p2 16
must write_file p2 /dev/mapper/$V 32
dd if=p2 of=expect bs=1M seek=32 conv=notrunc status=none

# --- (2) B fails again during its resync ------------------------------------
reload df_b "$(linear 1)"
must dmsetup message $V 0 resync_rate 1024
must mc restore $V B
sleep 3
show_status $V
in=$(st_sync $V | cut -d/ -f1) tot=$(st_sync $V | cut -d/ -f2)
[ "$in" -lt "$tot" ] || fail "resync already done; cannot fail leg B mid-way"
[ "$(st_health $V)" = Aa ] || fail "health $(st_health $V) during the resync, expected Aa"
reload df_b "0 $sz error"
# the resync's own writes hit the error; an application write too
randfile p3 4
must write_file p3 /dev/mapper/$V 60
dd if=p3 of=expect bs=1M seek=60 conv=notrunc status=none
for i in $(seq 40); do [ "$(st_health $V)" = AD ] && break; sleep 0.5; done
show_status $V
[ "$(st_health $V)" = AD ] || fail "leg B not detached when it failed during its resync: $(st_health $V)"
fio_verify_write /dev/mapper/$V 64M 8M || fail "fio verify with leg B failed mid-resync"
dd if=/dev/mapper/$V of=fio-area bs=1M skip=64 count=8 iflag=direct status=none
dd if=fio-area of=expect bs=1M seek=64 conv=notrunc status=none
check_file expect /dev/mapper/$V 0 || fail "data wrong after leg B failed during its resync"

# --- (3) both legs fail -----------------------------------------------------
reload df_a "0 $sz error"
run timeout 30 dd if=/dev/zero of=/dev/mapper/$V bs=4k count=1 seek=$((80 * 256)) oflag=direct status=none &&
	fail "a write succeeded with both legs failed"
[ $? = 124 ] && fail "a write hung with both legs failed"
run timeout 30 dd if=/dev/mapper/$V of=/dev/null bs=4k count=1 skip=$((70 * 256)) iflag=direct status=none &&
	fail "a read succeeded with both legs failed"
[ $? = 124 ] && fail "a read hung with both legs failed"
must timeout 10 dmsetup status $V
h=$(st_health $V)
[ "${h:0:1}" = A ] || fail "the last leg A was detached ($h): it is the only complete copy"
# both are repaired, the volume stopped
reload df_a "$(linear 0)"
reload df_b "$(linear 1)"
must mc stop $V
ea=$(examine_json $A) eb=$(examine_json $B)
log "examine A: $ea"
log "examine B: $eb"
st=$(leg_state $A B)
case ",$st," in *,failed,*) ;; *) fail "after the double failure A's superblock does not say B failed ($st)" ;; esac
[ "$(jq -r .events <<<"$ea")" -gt "$(jq -r .events <<<"$eb")" ] ||
	fail "leg A's superblock is not newer than leg B's"
# given first, B is still recognised as the stale copy
must mc assemble $V $B $A
wait_node /dev/mapper/$V
show_status $V
[ "$(st_health $V)" = Aa ] || [ "$(st_health $V)" = AA ] || fail "health $(st_health $V) after assembly, expected leg B resyncing"
wait_sync $V 180
check_file expect /dev/mapper/$V 0 || fail "acknowledged data lost"
must mc stop $V
legs_identical $A $B || fail "legs differ after the resync"
must dmsetup remove df_a
must dmsetup remove df_b
pass
