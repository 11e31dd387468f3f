// SPDX-License-Identifier: GPL-2.0-only
/*
 * Write the seed corpus: valid superblocks, size strings, status lines,
 * table option words (as after the two legs) and metroctl command lines
 * (words separated by newlines or NULs, as fuzz_cli splits them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metroctl.h"

static void put(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/*
 * A superblock as create (or the target) writes it; @slots and @cluster
 * give a version 2 one (a clustered volume), @cluster NULL version 1.
 */
static void sb_seed_v(const char *path, uint64_t dev, uint32_t region, uint32_t leg,
		      int stale, int clean, uint32_t slots, const char *cluster)
{
	unsigned char out[4096 + 9];
	struct metro_sb_disk sb;
	struct metro_sb_info in;
	struct metro_layout l;
	int i;

	memset(&in, 0, sizeof(in));
	if (metro_layout_for_device_slots(dev, region, cluster ? slots : 1, &l))
		exit(1);
	for (i = 0; i < METRO_UUID_LEN; i++)
		in.vol_uuid[i] = (uint8_t)(i * 17 + 1);
	snprintf(in.name, sizeof(in.name), "seed%u", leg);
	in.version = cluster ? METRO_FORMAT_V2 : METRO_FORMAT_V1;
	if (cluster) {
		in.nr_slots = slots;
		snprintf(in.cluster_name, sizeof(in.cluster_name), "%s", cluster);
	}
	in.leg = leg;
	in.flags = clean ? METRO_SB_F_CLEAN : 0;
	in.region_sectors = region;
	in.data_offset = l.data_offset;
	in.data_size = l.data_size;
	in.bitmap_offset = l.bitmap_offset;
	in.nr_regions = l.nr_regions;
	in.events = 1;
	in.ctime = in.utime = 1700000000;
	for (i = 0; i < 2; i++) {
		memset(in.legs[i].leg_uuid, 0x40 + i, METRO_UUID_LEN);
		in.legs[i].generation = 0x1122334455667788ULL;
		in.legs[i].events = 1;
		in.legs[i].dev_sectors = dev;
		in.legs[i].state = METRO_LEG_F_ACTIVE | (i == 1 && stale ? METRO_LEG_F_STALE : 0);
	}
	/* Table options recorded on the unclean ones, as a running kernel does. */
	metro_table_opts_default(&in.opts);
	if (!clean) {
		in.opt_flags = METRO_SB_O_RECORDED;
		in.opts.io_deadline = 0;
		in.opts.write_mostly = 'B';
		in.opts.read_mode = METRO_READ_DIRECT;
		in.opts.failfast = METRO_FAILFAST_B;
	}
	/* A single-host one with a repair from leg B at the last region. */
	if (!clean && !cluster) {
		in.check_flags = METRO_SB_C_RUNNING | METRO_SB_C_REPAIR | METRO_SB_C_FROM_B;
		in.check_pos = l.nr_regions - 1;
	}
	metro_sb_encode(&in, &sb);
	memcpy(out, &sb, 4096);
	out[4096] = 0;	/* keep the checksum as is */
	memcpy(out + 4097, &dev, 8);
	put(path, out, sizeof(out));
}

static void sb_seed(const char *path, uint64_t dev, uint32_t region, uint32_t leg,
		    int stale, int clean)
{
	sb_seed_v(path, dev, region, leg, stale, clean, 1, NULL);
}

int main(int argc, char **argv)
{
	char p[512];
	const char *dir = argc > 1 ? argv[1] : ".";
	static const char *const sizes[] = { "4096", "4K", "4MiB", "1G", "8s", "2TB", "1.5M", "-1" };
	unsigned int i;

	snprintf(p, sizeof(p), "%s/sb/leg_a_4m", dir);
	sb_seed(p, 1ULL << 21, 8192, 0, 1, 1);
	snprintf(p, sizeof(p), "%s/sb/leg_b_4k", dir);
	sb_seed(p, 262144, 8, 1, 1, 0);
	snprintf(p, sizeof(p), "%s/sb/leg_a_1g_clean", dir);
	sb_seed(p, 1ULL << 32, 1U << 21, 0, 0, 1);
	/* Version 2: clustered, 2 to 8 slots, names up to the longest. */
	snprintf(p, sizeof(p), "%s/sb/v2_leg_a_2slots", dir);
	sb_seed_v(p, 1ULL << 21, 8192, 0, 0, 0, 2, "seed-cluster");
	snprintf(p, sizeof(p), "%s/sb/v2_leg_b_8slots_4k", dir);
	sb_seed_v(p, 1ULL << 24, 8, 1, 1, 0, 8, "a.b_c-d");
	snprintf(p, sizeof(p), "%s/sb/v2_leg_a_1slot_longname", dir);
	sb_seed_v(p, 262144, 8, 0, 0, 0, 1,
		  "n123456789012345678901234567890123456789012345678901234567890ab");
	/* Slots filling the space before the data (7 slots of 256 sectors). */
	snprintf(p, sizeof(p), "%s/sb/v2_leg_b_7slots_full", dir);
	sb_seed_v(p, 2048 + (1ULL << 23), 8, 1, 0, 0, 7, "full");
	static const char *const status[] = {
		"2 253:0 253:1 AA 32/32 idle 0 8192 12 100 97 0",
		"2 253:0 253:1 Aa 12/32 resync 20 8192 40 7 0 35",
		"2 - 7:1 DA 30/32 degraded 2 8 3 0 5 -",
		"2 7:0 7:1 AD 0/1 frozen 1 2097152 0 5 18446744073709551615",
		"2 253:0 43:0 AD 30/32 degraded 2 8192 9 100 40 - 0 12",
		"2 253:0 253:1 Aa 12/32 resync 20 8192 40 7 0 35 0 0 extra",
		"2 253:0 253:1 AA 32/32 check 0 8192 12 100 97 0 0 0 check check 7/32 0 40 -",
		"2 253:0 253:1 AA 32/32 idle 0 8192 12 100 97 0 0 0 check done 32/32 3 0 5,17,30",
		"2 253:0 253:1 AA 32/32 repair 0 8192 12 100 97 0 0 0 check repair 9/32 1 - 4 x",
		"2 253:0 253:1 AA 32/32 idle 0 8 1 2 3 0 0 0 cluster 1 2 running check idle 0/32 0 - -",
	};
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(p, sizeof(p), "%s/size/s%u", dir, i);
		put(p, sizes[i], strlen(sizes[i]));
	}
	for (i = 0; i < sizeof(status) / sizeof(status[0]); i++) {
		snprintf(p, sizeof(p), "%s/status/s%u", dir, i);
		put(p, status[i], strlen(status[i]));
	}
	/* What metroctl and the test cases put after the legs, good and bad. */
	static const char *const table[] = {
		"", "0", "2 resync_rate 1000", "2 resync_rate 102400",
		"2 clear_delay 100", "2 io_deadline 0", "2 io_deadline 100000",
		"4 clear_delay 100 resync_rate 0",
		"6 clear_delay 100 resync_rate 0 io_deadline 0",
		"6 io_deadline 600000 clear_delay 600000 resync_rate 2147483648",
		"2 write_mostly B", "8 resync_rate 1 clear_delay 100 io_deadline 0 write_mostly a",
		"2 RESYNC_RATE 5", "4 clear_delay 1000 clear_delay 2000",
		"1 resync_rate", "3 resync_rate 10", "2 bogus 1", "2 resync_rate -5",
		"2 resync_rate +5", "2 resync_rate 99999999999999999999999",
		"2 clear_delay 99", "2 io_deadline 600001",
		"10 resync_rate 1 clear_delay 1000 io_deadline 1000 write_mostly A bogus 1",
		"2 write_mostly C", "0 extra", "2 read_mode direct", "2 read_mode copy",
		"10 resync_rate 1 clear_delay 100 io_deadline 0 write_mostly B read_mode Direct",
		"2 failfast B", "2 failfast ab", "2 failfast C",
		"2 read_mode auto", "2 read_mode auto:B", "2 read_mode bounce:A", "2 read_mode bounce:",
		"4 read_mode bounce:AB read_mode auto:a", "2 read_mode direct:B",
		"12 resync_rate 1 clear_delay 100 io_deadline 0 write_mostly A read_mode direct failfast B",
	};
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		snprintf(p, sizeof(p), "%s/table/t%u", dir, i);
		put(p, table[i], strlen(table[i]));
	}
	/*
	 * Every command with its options, as in the man page.  No word names
	 * a device (fuzz_cli skips those): legs are given as files that are
	 * not block devices, or not at all.
	 */
	static const char *const cli[] = {
		"help", "help\ncreate", "--help", "-V", "--version", "-v\n-v\nstatus",
		"-j\nstatus", "-p\nstatus\nvol0", "status\n--json", "status\nvol0\n-j",
		"create\nvol0\nleg_a\nleg_b", "create\nvol0\nA\nB\n--region-size\n8M\n--assume-clean",
		"create\nvol0\nA\nB\n--region-size=4K\n--force",
		"create\nvol0\nA\nB\n--region-size\n3K",
		"assemble\nvol0\nA\nB", "assemble\n--degraded\nvol0\nA",
		"stop\nvol0", "examine\nA\n--json", "examine\nA\n--export",
		"restore\nvol0\nB", "restore\nvol0\nB\nnewleg\n--force",
		"replace\nvol0\nB\nnewleg", "replace\nvol0\nA\nnewleg\n-f",
		"resolve\nvol0\n--winner\nA", "resolve\nvol0\n-w\nA\nB\n--force",
		"monitor\n--count\n1\n--interval\n0.1", "monitor\nvol0\n--json\n--count\n2",
		"monitor\n--exec\n/bin/true\n--count\n1\n--interval\n0.1",
		"incremental\nA", "bogus", "status\n--bogus", "create\n-x",
		"resolve\nvol0\n--winner",
		"set\nvol0\n--io-deadline\n0\n--write-mostly\nB",
		"set\nvol0\n--read-mode\ndirect",
		"set\nvol0\n--resync-rate\n1000\n--clear-delay\n100",
		"create\nvol0\nA\nB\n--write-mostly\nB\n--io-deadline\n30000",
		"assemble\nvol0\nA\nB\n--write-mostly\nnone",
		"assemble\n--degraded\nvol0\nA\n--io-deadline=0",
		"create\nvol0\nA\nB\n--cluster\nc1\n--nodes\n3",
		"convert\nA\nB\n--cluster\nc1", "convert\nA\nB\n--cluster\nc1\n--nodes\n8\n--dry-run",
		"convert\nA\nB\n--single-host", "convert\nA\nB\n--single-host\n--dry-run",
		"check\nvol0", "check\nvol0\n--wait", "check\nvol0\n--stop",
		"check\nvol0\n--repair\n--from\nB\n--start\n12\n--wait",
		"check\nvol0\n--repair", "check\nvol0\n--from\nC", "check\nvol0\n--start\nx",
		"convert\nA\nB\n--cluster=c1\n--single-host", "convert\nA\nB\n--nodes\n2",
	};
	for (i = 0; i < sizeof(cli) / sizeof(cli[0]); i++) {
		snprintf(p, sizeof(p), "%s/cli/c%u", dir, i);
		put(p, cli[i], strlen(cli[i]));
	}
	/* NUL separators too. */
	static const char nul[] = "create\0vol0\0A\0B\0--assume-clean";
	snprintf(p, sizeof(p), "%s/cli/nul", dir);
	put(p, nul, sizeof(nul) - 1);
	return 0;
}
