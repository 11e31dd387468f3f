#!/bin/bash
# Hostile input: random table lines and messages, and legs carrying crafted
# superblocks (fields at their extremes, random bytes behind a valid
# checksum), given to the constructor, metroctl examine and metroctl
# assemble.  Everything is refused with a message, nothing is written to
# the legs, nothing crashes (on the debug kernel, under KASAN).
. "$(dirname "$0")/lib.sh"
need_metro

# METRO_HOSTILE_N scales the run (default 400 table lines, a third as many
# messages, an eighth as many superblocks); each costs a few process starts,
# so each phase also stops after METRO_HOSTILE_SECONDS (default 60).
N=${METRO_HOSTILE_N:-400}
T=${METRO_HOSTILE_SECONDS:-60}
A=/dev/ram0 B=/dev/ram1 V=hi
must mc create $V $A $B --assume-clean --region-size 64K
must mc stop $V
S=$(data_size $A)

# 1. random table lines: words from a vocabulary of the valid ones and junk
words=(metro /dev/ram0 /dev/ram1 /dev/ram2 - 1:0 1:1 0 1 2 3 4 6 7 resync_rate clear_delay
       io_deadline 100 99 600001 4294967295 -1 "" x /dev/null 18446744073709551616 abc 1e3)
accepted=0 t0=$SECONDS i=0
while [ $i -lt "$N" ] && [ $((SECONDS - t0)) -lt "$T" ]; do
	i=$((i + 1))
	n=$((RANDOM % 8))
	line="metro"
	for _ in $(seq $n); do line+=" ${words[RANDOM % ${#words[@]}]}"; done
	if dmsetup create hx --table "0 $((RANDOM % 3 == 0 ? S + RANDOM : S)) $line" >/dev/null 2>&1; then
		accepted=$((accepted + 1))
		dmsetup remove hx >/dev/null 2>&1 || fail "cannot remove an accepted random table ($line)"
	fi
done
log "$i random table lines in $((SECONDS - t0))s: $accepted accepted (valid by chance), the rest refused"

# 2. random messages to a live volume
must mc assemble $V $A $B
wait_node /dev/mapper/$V
msgs=(resync_rate pause_resync resume_resync clear_delay io_deadline bogus 0 1 -1 999999999999 abc "" 4294967295)
t0=$SECONDS i=0
while [ $i -lt $((N / 3)) ] && [ $((SECONDS - t0)) -lt "$T" ]; do
	i=$((i + 1))
	m=()
	for _ in $(seq $((RANDOM % 4))); do m+=("${msgs[RANDOM % ${#msgs[@]}]}"); done
	dmsetup message $V 0 "${m[@]}" >/dev/null 2>&1
done
log "$i random messages in $((SECONDS - t0))s"
must dmsetup message $V 0 resume_resync
must dmsetup message $V 0 resync_rate 0
[ "$(st_health $V)" = AA ] || fail "random messages changed the volume's health: $(st_health $V)"
fio_verify_write /dev/mapper/$V 0 8M || fail "fio verify after random messages"
must mc stop $V

# 3. crafted superblocks on a spare pair of ramdisks
python3 - "$METRO_TMP/sbs" "$((N / 8))" <<'PY' || fail "cannot generate superblocks"
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
