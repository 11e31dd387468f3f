#!/bin/bash
# Hostile input: thousands of random table lines and messages, and legs
# carrying crafted superblocks (fields at their extremes, random bytes
# behind a valid checksum), given to the constructor, metroctl examine and
# metroctl assemble.  Every bad input is refused with a clear error, nothing
# is written to the legs, the volume and its data are unchanged, nothing
# crashes (on the debug kernel, under KASAN).
. "$(dirname "$0")/lib.sh"
need_metro

# Phases 1 and 2 run tests/tools/dm_hostile (make tools), which sends
# METRO_HOSTILE_N (default 3000) random table lines, then as many random
# messages, from one process; it judges each one against a model of the
# documented grammar and reads the kernel log after each ioctl.  Each phase
# stops after METRO_HOSTILE_SECONDS (default 60); on Debian's kernel it must
# have tried at least METRO_HOSTILE_MIN (default 1000, or N if smaller),
# on the debug kernel (KASAN, kmemleak) whatever it managed.
# METRO_HOSTILE_SEED (default 0: from the clock, printed) replays a run.
# Phase 3 writes METRO_HOSTILE_SB (default 100) crafted superblocks, within
# the same time limit.
N=${METRO_HOSTILE_N:-3000}
T=${METRO_HOSTILE_SECONDS:-60}
SEED=${METRO_HOSTILE_SEED:-0}
NSB=${METRO_HOSTILE_SB:-100}
MIN=${METRO_HOSTILE_MIN:-1000}
[ "$N" -lt "$MIN" ] && MIN=$N
HOSTILE=$TOOLS/dm_hostile
[ -x "$HOSTILE" ] || fail "$HOSTILE not built: run 'make tools' (make -C tests/tools) on the host"

# enough_tried COUNT WHAT: the phase did enough of them (Debian's kernel)
enough_tried() {
	if [ -e /sys/kernel/debug/kmemleak ]; then
		log "$1 $2 tried in at most ${T}s (debug kernel: no minimum)"
	elif [ "$1" -lt "$MIN" ]; then
		fail "only $1 $2 tried in ${T}s, at least $MIN expected"
	else
		log "$1 $2 tried in at most ${T}s (at least $MIN expected)"
	fi
}
# hostile OUT ARGS...: run dm_hostile, its output on ours and in OUT
hostile() {
	local out=$1 rc
	shift
	echo "+ dm_hostile $*"
	"$HOSTILE" -t "$T" "$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	[ "$rc" = 0 ] || fail "dm_hostile failed (exit status $rc, 3 = hang): see above"
}
# sum_meta DEV: md5 of the first MiB (superblocks and bitmap)
sum_meta() { sum_range "$1" 0 2048; }

A=/dev/ram0 B=/dev/ram1 V=hi
must mc create $V $A $B --assume-clean --region-size 64K
must mc stop $V
S=$(data_size $A)
[ -n "$S" ] && [ "$S" -gt 0 ] || fail "no data size in the superblock of $A"

# 1. random table lines, loaded into the inactive slot of a device with no
# table: refused, or (valid by chance) cleared again without a resume.
# /dev/ram2 and /dev/ram4 (blank) are among the leg words too.
meta_a=$(sum_meta $A) meta_b=$(sum_meta $B) meta_x=$(sum_meta /dev/ram2)$(sum_meta /dev/ram4)
hostile "$METRO_TMP/tables.out" -x /dev/ram2 -x /dev/ram4 tables hx "$N" "$SEED" $A $B "$S"
tried=$(sed -n 's/^tables: \([0-9]*\) tried.*/\1/p' "$METRO_TMP/tables.out")
[ -n "$tried" ] || fail "no summary line from dm_hostile tables"
enough_tried "$tried" "table lines"
! dmsetup info hx >/dev/null 2>&1 || fail "dm_hostile left device hx behind"
[ "$(sum_meta $A)" = "$meta_a" ] || fail "the random table lines changed the metadata of leg A ($A)"
[ "$(sum_meta $B)" = "$meta_b" ] || fail "the random table lines changed the metadata of leg B ($B)"
[ "$(sum_meta /dev/ram2)$(sum_meta /dev/ram4)" = "$meta_x" ] ||
	fail "the random table lines wrote to /dev/ram2 or /dev/ram4"
log "metadata of both legs unchanged (md5 of the first MiB: $meta_a $meta_b)"

# 2. random messages to the live volume
must mc assemble $V $A $B
wait_node /dev/mapper/$V
table0=$(dmsetup table $V)
hostile "$METRO_TMP/messages.out" messages $V "$N" "$SEED"
tried=$(sed -n 's/^messages: \([0-9]*\) tried.*/\1/p' "$METRO_TMP/messages.out")
[ -n "$tried" ] || fail "no summary line from dm_hostile messages"
enough_tried "$tried" messages
# the valid ones among them may have paused the resync or set a rate
must dmsetup message $V 0 resume_resync
must dmsetup message $V 0 resync_rate 0
[ "$(dmsetup table $V)" = "$table0" ] ||
	fail "random messages changed the table: '$(dmsetup table $V)', was '$table0'"
[ "$(st_health $V)" = AA ] || fail "random messages changed the volume's health: $(st_health $V)"
[ "$(st_action $V)" = idle ] || fail "random messages left the sync action at $(st_action $V)"
sync=$(st_sync $V)
[ "${sync%/*}" = "${sync#*/}" ] || fail "random messages left regions out of sync: $sync"
fio_verify_write /dev/mapper/$V 0 8M || fail "fio verify after random messages"
must mc stop $V

# 3. crafted superblocks on a spare pair of ramdisks
python3 - "$METRO_TMP/sbs" "$NSB" <<'PY' || fail "cannot generate superblocks"
import os, random, struct, sys
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
poly = 0x82F63B78
table = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ poly if c & 1 else c >> 1
    table.append(c)
def crc32c(data, crc=0xFFFFFFFF):
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc
def seal(sb):
    sb[8:12] = b"\0\0\0\0"
    struct.pack_into("<I", sb, 8, crc32c(bytes(sb)))
    return sb
# field offsets and sizes of struct metro_sb_disk (metro-format.h)
fields = [(4, 4), (12, 4), (96, 4), (100, 4), (104, 4), (108, 4), (112, 8), (120, 8),
          (128, 8), (136, 8), (144, 8), (168, 8), (256 + 16, 8), (256 + 40, 4),
          (320 + 16, 8), (320 + 40, 4), (32, 64)]
extremes = lambda size: [0, 1, (1 << (8 * size)) - 1, 1 << (8 * size - 1), 8, 2048, 4096]
for k in range(n):
    sb = bytearray(4096)
    struct.pack_into("<IIII", sb, 0, 0x6f72746d, 1, 0, 4096)
    sb[16:32] = os.urandom(16)
    sb[32:36] = b"hi\0\0"
    struct.pack_into("<IIII", sb, 96, random.choice([0, 1]), 0, 16, 0)
    struct.pack_into("<QQQQQ", sb, 112, 2048, 260096 - 2048, 16, (260096 - 2048) // 16, 5)
    for leg in (0, 1):
        struct.pack_into("<QQQI", sb, 256 + 64 * leg + 16, 7, 5, 262144, 1)
    mode = k % 3
    if mode == 0:          # one field at an extreme
        off, size = random.choice(fields)
        v = random.choice(extremes(size)) if size <= 8 else 0
        sb[off:off + size] = (v.to_bytes(size, "little") if size <= 8 else os.urandom(size))
    elif mode == 1:        # several fields random
        for off, size in random.sample(fields, 4):
            sb[off:off + size] = os.urandom(size)
    else:                  # random bytes everywhere but the magic
        sb[4:] = os.urandom(4092)
    with open(os.path.join(out, "sb%05d" % k), "wb") as f:
        f.write(seal(sb))
PY
C=/dev/ram2 D=/dev/ram3
okx=0 refx=0 t0=$SECONDS
for f in "$METRO_TMP"/sbs/sb*; do
	[ $((SECONDS - t0)) -lt "$T" ] || break
	for L in $C $D; do
		dd if="$f" of=$L bs=4096 seek=1 conv=notrunc oflag=direct status=none ||
			fail "cannot write $f"
	done
	before=$(dd if=$C bs=1M count=2 iflag=direct status=none | md5sum)
	if "$METROCTL" examine $C >/dev/null 2>"$METRO_TMP/err"; then
		okx=$((okx + 1))
	else
		[ -s "$METRO_TMP/err" ] || fail "examine refused $f without a message"
		refx=$((refx + 1))
	fi
	"$METROCTL" assemble hx2 $C $D >/dev/null 2>&1 && { dmsetup remove hx2; log "assembled $f (valid by chance)"; }
	dmsetup create hx3 --table "0 8 metro $C $D" >/dev/null 2>&1 && dmsetup remove hx3
	after=$(dd if=$C bs=1M count=2 iflag=direct status=none | md5sum)
	[ "$before" = "$after" ] || fail "refusing $f changed the leg"
done
log "crafted superblocks: examine accepted $okx, refused $refx (each with a message)"
[ $refx -gt 0 ] || fail "no crafted superblock was refused: the generator is broken"

# the real volume is untouched by all of it
must mc assemble $V $A $B
wait_node /dev/mapper/$V
[ "$(st_health $V)" = AA ] || fail "volume health after the hostile input: $(st_health $V)"
must mc stop $V
legs_identical $A $B || fail "legs differ"
pass
