// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for userspace/leg.c on a regular file standing in for a leg:
 * the bitmap create writes (dirty bits, zero padding), superblock
 * write/read, dirty counting, and the "not a dm-metro leg" cases; and
 * leg_dev_path on the host's own block devices.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <cmocka.h>

#include "metroctl.h"

/* What metroctl.c provides to leg.c. */
int verbose;
const char *bin_name = "metroctl";
void p_err(const char *fmt, ...) { (void)fmt; }
void p_warn(const char *fmt, ...) { (void)fmt; }
void p_info(const char *fmt, ...) { (void)fmt; }

/* A "leg" on an unlinked temporary file of @sectors sectors. */
static void fake_leg(struct leg *l, uint64_t sectors)
{
	char path[] = "/tmp/metro-test-legXXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, (off_t)(sectors * 512)), 0);
	memset(l, 0, sizeof(*l));
	l->path = "fake-leg";
	l->fd = fd;
	l->sectors = sectors;
	l->bytes = sectors * 512;
}

static uint8_t *read_at(struct leg *l, uint64_t off, size_t len)
{
	uint8_t *b = malloc(len);

	assert_non_null(b);
	assert_int_equal(pread(l->fd, b, len, (off_t)off), (ssize_t)len);
	return b;
}

static void check_bitmap(uint64_t dev_sectors, uint64_t region, bool dirty)
{
	struct metro_layout lay = { 0 };
	struct leg l;
	uint8_t *b;
	uint64_t i, area;

	assert_int_equal(metro_layout_for_device(dev_sectors, region, &lay), 0);
	fake_leg(&l, dev_sectors);
	/* Garbage everywhere first: the whole bitmap area must be rewritten. */
	area = lay.data_offset * 512;
	b = malloc(area);
	memset(b, 0xa5, area);
	assert_int_equal(pwrite(l.fd, b, area, 0), (ssize_t)area);
	free(b);

	assert_int_equal(leg_write_bitmap(&l, &lay, dirty), 0);
	b = read_at(&l, 0, area);
	for (i = 0; i < lay.bitmap_offset * 512; i++)	/* before: untouched */
		assert_int_equal(b[i], 0xa5);
	for (i = 0; i < lay.bitmap_bytes * 8; i++) {
		int bit = metro_bm_test(b + lay.bitmap_offset * 512, i);

		if (bit != (dirty && i < lay.nr_regions))
			fail_msg("bit %llu is %d (nr_regions %llu, dirty %d)",
				 (unsigned long long)i, bit,
				 (unsigned long long)lay.nr_regions, dirty);
	}
	for (i = lay.bitmap_offset * 512 + lay.bitmap_bytes; i < area; i++)	/* after */
		assert_int_equal(b[i], 0xa5);
	free(b);
	close(l.fd);
}

static void test_bitmap_all_dirty_small(void **state)
{
	(void)state;
	check_bitmap(2048 + 13 * 8, 8, true);		/* 13 regions: 0xff 0x1f */
}

static void test_bitmap_all_dirty_exact_byte(void **state)
{
	(void)state;
	check_bitmap(2048 + 16 * 8192, 8192, true);	/* 16 regions */
}

static void test_bitmap_all_dirty_two_blocks(void **state)
{
	(void)state;
	check_bitmap(4096 + 32769ULL * 8, 8, true);	/* padding into a 2nd block */
}

static void test_bitmap_clean(void **state)
{
	(void)state;
	check_bitmap(2048 + 13 * 8, 8, false);
	check_bitmap(4096 + 32769ULL * 8, 8, false);
}

static void test_bitmap_large_chunked(void **state)
{
	(void)state;
	/* 1.5 MiB of bitmap: more than one 1 MiB write chunk. */
	check_bitmap(8192 + 12582912ULL * 8, 8, true);
}

static void make_info(struct metro_sb_info *in, uint64_t dev, uint32_t region)
{
	struct metro_layout lay = { 0 };

	assert_int_equal(metro_layout_for_device(dev, region, &lay), 0);
	memset(in, 0, sizeof(*in));
	in->version = METRO_FORMAT_VERSION;
	memset(in->vol_uuid, 0x77, METRO_UUID_LEN);
	strcpy(in->name, "legtest");
	in->leg = METRO_LEG_A;
	in->region_sectors = region;
	in->data_offset = lay.data_offset;
	in->data_size = lay.data_size;
	in->bitmap_offset = lay.bitmap_offset;
	in->nr_regions = lay.nr_regions;
	in->events = 1;
	in->legs[0].state = in->legs[1].state = METRO_LEG_F_ACTIVE;
	in->legs[0].generation = in->legs[1].generation = 0x5eed;
}

static void test_sb_write_read(void **state)
{
	struct metro_sb_info in, out;
	struct leg l;
	uint8_t *b;

	(void)state;
	fake_leg(&l, 1 << 16);
	make_info(&in, 1 << 16, 8);
	assert_int_equal(leg_write_sb(&l, &in), 0);
	/* At sector 8, with the magic first. */
	b = read_at(&l, 4096, 4);
	assert_memory_equal(b, "mtro", 4);
	free(b);
	b = read_at(&l, 0, 4096);	/* sectors 0..7 untouched */
	for (int i = 0; i < 4096; i++)
		assert_int_equal(b[i], 0);
	free(b);
	assert_int_equal(leg_read_sb(&l, &out, true), 0);
	assert_string_equal(out.name, "legtest");
	assert_int_equal(out.data_size, in.data_size);
	/* The decoder sees the device size: a shrunk device is refused. */
	l.sectors = in.data_offset + in.data_size - 1;
	assert_int_equal(leg_read_sb(&l, &out, true), -EINVAL);
	close(l.fd);
}

static void test_count_dirty(void **state)
{
	struct metro_sb_info in;
	struct metro_layout lay = { 0 };
	struct leg l;
	uint64_t dirty = 12345, dev = 2048 + 100 * 8;

	(void)state;
	fake_leg(&l, dev);
	make_info(&in, dev, 8);
	assert_int_equal(metro_layout_for_device(dev, 8, &lay), 0);
	assert_int_equal(leg_write_bitmap(&l, &lay, true), 0);
	assert_int_equal(leg_count_dirty(&l, &in, &dirty), 0);
	assert_int_equal(dirty, 100);
	assert_int_equal(leg_write_bitmap(&l, &lay, false), 0);
	assert_int_equal(leg_count_dirty(&l, &in, &dirty), 0);
	assert_int_equal(dirty, 0);
	/* Bits past nr_regions (padding) are not counted. */
	assert_int_equal(pwrite(l.fd, "\xff\xff\xff", 3, 16 * 512 + 12), 3);
	assert_int_equal(leg_count_dirty(&l, &in, &dirty), 0);
	assert_int_equal(dirty, 4);	/* bits 96..99 of byte 12 */
	close(l.fd);
}

static void test_not_a_leg(void **state)
{
	struct metro_sb_info out;
	struct leg l;

	(void)state;
	fake_leg(&l, 1 << 12);
	assert_int_equal(leg_read_sb(&l, &out, true), -ENODATA);
	close(l.fd);
	/* Too small to hold a superblock at all. */
	fake_leg(&l, 15);
	assert_int_equal(leg_read_sb(&l, &out, true), -ENODATA);
	close(l.fd);
}

/* leg_dev_path: a node checked against the number, else "major:minor". */
static void test_dev_path(void **state)
{
	struct dirent *de;
	char out[300], num[32];
	struct stat st;
	DIR *d;
	int checked = 0;

	(void)state;
	/* No such device: the number stands in. */
	assert_int_equal(leg_dev_path(makedev(4095, 1048575), out, sizeof(out)), -ENOENT);
	assert_string_equal(out, "4095:1048575");
	/* Every block device of this machine that has a node under /dev. */
	d = opendir("/sys/dev/block");
	if (!d)
		skip();
	while ((de = readdir(d))) {
		unsigned int ma, mi;

		if (sscanf(de->d_name, "%u:%u", &ma, &mi) != 2)
			continue;
		if (leg_dev_path(makedev(ma, mi), out, sizeof(out))) {
			snprintf(num, sizeof(num), "%u:%u", ma, mi);
			assert_string_equal(out, num);
			continue;
		}
		assert_int_equal(stat(out, &st), 0);
		assert_true(S_ISBLK(st.st_mode));
		assert_int_equal(st.st_rdev, makedev(ma, mi));
		checked++;
	}
	closedir(d);
	if (!checked)
		skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bitmap_all_dirty_small),
		cmocka_unit_test(test_bitmap_all_dirty_exact_byte),
		cmocka_unit_test(test_bitmap_all_dirty_two_blocks),
		cmocka_unit_test(test_bitmap_clean),
		cmocka_unit_test(test_bitmap_large_chunked),
		cmocka_unit_test(test_sb_write_read),
		cmocka_unit_test(test_count_dirty),
		cmocka_unit_test(test_not_a_leg),
		cmocka_unit_test(test_dev_path),
	};

	return cmocka_run_group_tests_name("leg", tests, NULL, NULL);
}
