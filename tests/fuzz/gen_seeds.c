// SPDX-License-Identifier: GPL-2.0-only
/* Write the seed corpus: valid superblocks (and a few size strings). */
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

static void sb_seed(const char *path, uint64_t dev, uint32_t region, uint32_t leg,
		    int stale, int clean)
{
	unsigned char out[4096 + 9];
	struct metro_sb_disk sb;
	struct metro_sb_info in;
	struct metro_layout l;
	int i;

	memset(&in, 0, sizeof(in));
	if (metro_layout_for_device(dev, region, &l))
		exit(1);
	for (i = 0; i < METRO_UUID_LEN; i++)
		in.vol_uuid[i] = (uint8_t)(i * 17 + 1);
	snprintf(in.name, sizeof(in.name), "seed%u", leg);
	in.version = METRO_FORMAT_VERSION;
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
	metro_sb_encode(&in, &sb);
	memcpy(out, &sb, 4096);
	out[4096] = 0;	/* keep the checksum as is */
	memcpy(out + 4097, &dev, 8);
	put(path, out, sizeof(out));
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
	static const char *const status[] = {
		"2 253:0 253:1 AA 32/32 idle 0 8192 12 100 97 0",
		"2 253:0 253:1 Aa 12/32 resync 20 8192 40 7 0 35",
		"2 - 7:1 DA 30/32 degraded 2 8 3 0 5 -",
		"2 7:0 7:1 AD 0/1 frozen 1 2097152 0 5 18446744073709551615",
	};
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(p, sizeof(p), "%s/size/s%u", dir, i);
		put(p, sizes[i], strlen(sizes[i]));
	}
	for (i = 0; i < sizeof(status) / sizeof(status[0]); i++) {
		snprintf(p, sizeof(p), "%s/status/s%u", dir, i);
		put(p, status[i], strlen(status[i]));
	}
	return 0;
}
