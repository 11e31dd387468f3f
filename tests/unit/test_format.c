// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for dm-metro/metro-format.h (the code the kernel runs too)
 * and for metroctl's CRC-32C.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "metroctl.h"

/* ---------------------------------------------------------------------- */
/* CRC-32C                                                                */
/* ---------------------------------------------------------------------- */

static void test_crc32c_check_value(void **state)
{
	(void)state;
	assert_int_equal(metro_crc32c(~0U, "123456789", 9), 0x1CF96D7CU);
	assert_int_equal(~metro_crc32c(~0U, "123456789", 9), 0xE3069283U);
}

/* RFC 3720 (iSCSI) B.4 test vectors; they include the final inversion. */
static void test_crc32c_rfc3720(void **state)
{
	uint8_t buf[32];
	int i;

	(void)state;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(~metro_crc32c(~0U, buf, 32), 0x8A9136AAU);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(~metro_crc32c(~0U, buf, 32), 0x62A8AB43U);
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(~metro_crc32c(~0U, buf, 32), 0x46DD794EU);
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	assert_int_equal(~metro_crc32c(~0U, buf, 32), 0x113FDB5CU);
}

static void test_crc32c_empty_and_chaining(void **state)
{
	uint8_t buf[1000];
	uint32_t whole, part;
	size_t i, split;

	(void)state;
	assert_int_equal(metro_crc32c(~0U, "", 0), ~0U);
	assert_int_equal(metro_crc32c(0x12345678U, buf, 0), 0x12345678U);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	whole = metro_crc32c(~0U, buf, sizeof(buf));
	/* Any split, including ones that break the 8-byte slicing. */
	for (split = 0; split <= 17; split++) {
		part = metro_crc32c(~0U, buf, split);
		part = metro_crc32c(part, buf + split, sizeof(buf) - split);
		assert_int_equal(part, whole);
	}
	/* Unaligned start gives the same as a bytewise reference. */
	part = ~0U;
	for (i = 3; i < sizeof(buf); i++)
		part = metro_crc32c(part, buf + i, 1);
	assert_int_equal(metro_crc32c(~0U, buf + 3, sizeof(buf) - 3), part);
}

/* ---------------------------------------------------------------------- */
/* Structure layout against Documentation/dm-metro.rst                    */
/* ---------------------------------------------------------------------- */

static void test_struct_offsets(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct metro_sb_disk), 4096);
	assert_int_equal(sizeof(struct metro_leg_disk), 64);
	assert_int_equal(offsetof(struct metro_sb_disk, magic), 0);
	assert_int_equal(offsetof(struct metro_sb_disk, version), 4);
	assert_int_equal(offsetof(struct metro_sb_disk, csum), 8);
	assert_int_equal(offsetof(struct metro_sb_disk, sb_size), 12);
	assert_int_equal(offsetof(struct metro_sb_disk, vol_uuid), 16);
	assert_int_equal(offsetof(struct metro_sb_disk, name), 32);
	assert_int_equal(offsetof(struct metro_sb_disk, leg), 96);
	assert_int_equal(offsetof(struct metro_sb_disk, flags), 100);
	assert_int_equal(offsetof(struct metro_sb_disk, region_sectors), 104);
	assert_int_equal(offsetof(struct metro_sb_disk, data_offset), 112);
	assert_int_equal(offsetof(struct metro_sb_disk, data_size), 120);
	assert_int_equal(offsetof(struct metro_sb_disk, bitmap_offset), 128);
	assert_int_equal(offsetof(struct metro_sb_disk, nr_regions), 136);
	assert_int_equal(offsetof(struct metro_sb_disk, events), 144);
	assert_int_equal(offsetof(struct metro_sb_disk, ctime), 152);
	assert_int_equal(offsetof(struct metro_sb_disk, utime), 160);
	assert_int_equal(offsetof(struct metro_sb_disk, gen_history), 168);
	assert_int_equal(offsetof(struct metro_sb_disk, opt_flags), 200);
	assert_int_equal(offsetof(struct metro_sb_disk, opt_resync_rate), 204);
	assert_int_equal(offsetof(struct metro_sb_disk, opt_clear_delay), 208);
	assert_int_equal(offsetof(struct metro_sb_disk, opt_io_deadline), 212);
	assert_int_equal(offsetof(struct metro_sb_disk, opt_write_mostly), 216);
	assert_int_equal(offsetof(struct metro_sb_disk, opt_read_mode), 220);
	assert_int_equal(offsetof(struct metro_sb_disk, opt_failfast), 224);
	assert_int_equal(offsetof(struct metro_sb_disk, opt_read_legs), 228);
	assert_int_equal(offsetof(struct metro_sb_disk, check_flags), 232);
	assert_int_equal(offsetof(struct metro_sb_disk, check_pos), 236);
	assert_int_equal(offsetof(struct metro_sb_disk, reserved1), 244);
	assert_int_equal(offsetof(struct metro_sb_disk, legs), 256);
	assert_int_equal(offsetof(struct metro_leg_disk, generation), 16);
	assert_int_equal(offsetof(struct metro_leg_disk, events), 24);
	assert_int_equal(offsetof(struct metro_leg_disk, dev_sectors), 32);
	assert_int_equal(offsetof(struct metro_leg_disk, state), 40);
}

/* ---------------------------------------------------------------------- */
/* Guarded superblock buffers: decode must never touch byte 4096 or -1.   */
/* ---------------------------------------------------------------------- */

static long page;

/* [PROT_NONE page][4096 bytes of superblock][PROT_NONE page] */
static struct metro_sb_disk *guarded_alloc(void)
{
	uint8_t *m;

	page = sysconf(_SC_PAGESIZE);
	assert_true(page > 0 && 4096 % page == 0);
	m = mmap(NULL, (size_t)(2 * page + 4096), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(mprotect(m, (size_t)page, PROT_NONE), 0);
	assert_int_equal(mprotect(m + page + 4096, (size_t)page, PROT_NONE), 0);
	return (struct metro_sb_disk *)(m + page);
}

static void guarded_free(struct metro_sb_disk *sb)
{
	munmap((uint8_t *)sb - page, (size_t)(2 * page + 4096));
}

#define DEV_SECTORS	(1ULL << 21)	/* a 1 GiB leg */

/* A valid superblock for a 1 GiB leg with 4 MiB regions, leg B. */
static void valid_info(struct metro_sb_info *in)
{
	struct metro_layout l;
	int i;

	memset(in, 0, sizeof(*in));
	assert_int_equal(metro_layout_for_device(DEV_SECTORS, 8192, &l), 0);
	in->version = METRO_FORMAT_VERSION;
	for (i = 0; i < METRO_UUID_LEN; i++)
		in->vol_uuid[i] = (uint8_t)(0xa0 + i);
	strcpy(in->name, "vol0");
	in->leg = METRO_LEG_B;
	in->flags = METRO_SB_F_CLEAN;
	in->region_sectors = 8192;
	in->data_offset = l.data_offset;
	in->data_size = l.data_size;
	in->bitmap_offset = l.bitmap_offset;
	in->nr_regions = l.nr_regions;
	in->events = 7;
	in->ctime = 1700000000;
	in->utime = 1700000100;
	for (i = 0; i < 2; i++) {
		memset(in->legs[i].leg_uuid, 0x10 + i, METRO_UUID_LEN);
		in->legs[i].generation = 0x1234 + (uint64_t)i;
		in->legs[i].events = 7;
		in->legs[i].dev_sectors = DEV_SECTORS;
		in->legs[i].state = METRO_LEG_F_ACTIVE;
	}
	in->legs[1].state |= METRO_LEG_F_STALE;
	in->opt_flags = METRO_SB_O_RECORDED;
	in->opts.resync_rate = 2048;
	in->opts.clear_delay = 1000;
	in->opts.io_deadline = 30000;
	in->opts.write_mostly = 'A';
}

static void recsum(struct metro_sb_disk *sb)
{
	sb->csum = cpu_to_le32(metro_sb_csum(sb));
}

/*
 * Version 2 (a clustered volume): slots and cluster name at their
 * offsets, a round trip, the slots laid out one after the other before
 * the data, and every v2-only refusal.
 */
static void v2_info(struct metro_sb_info *in, uint32_t slots, uint64_t data_size)
{
	struct metro_layout l = { 0 };

	memset(in, 0, sizeof(*in));
	in->version = METRO_FORMAT_V2;
	memset(in->vol_uuid, 0x11, METRO_UUID_LEN);
	strcpy(in->name, "vol");
	in->region_sectors = 8;
	in->data_size = data_size;
	assert_int_equal(metro_layout_compute_slots(data_size, 8, slots, &l), 0);
	in->nr_regions = l.nr_regions;
	in->bitmap_offset = l.bitmap_offset;
	in->data_offset = l.data_offset;
	in->nr_slots = slots;
	strcpy(in->cluster_name, "metro-test_1.a");
	in->legs[0].generation = in->legs[1].generation = 7;
	in->legs[1].state = in->legs[0].state = METRO_LEG_F_ACTIVE;
}

static void test_format_v2(void **state)
{
	struct metro_sb_disk *sb = guarded_alloc();
	struct metro_sb_info in, out;
	struct metro_layout l1, l8;
	const char *err = "unset";
	uint64_t data = 1ULL << 24;	/* 8 GiB of 4 KiB regions: 512 KiB of bits a slot */
	int i;

	(void)state;
	/* Slots one after the other, each padded, the data after them all. */
	assert_int_equal(metro_layout_compute_slots(data, 8, 1, &l1), 0);
	assert_int_equal(metro_layout_compute_slots(data, 8, 8, &l8), 0);
	assert_int_equal(l8.bitmap_bytes, l1.bitmap_bytes);
	assert_true(l8.data_offset >= METRO_BITMAP_OFFSET + 8 * (l8.bitmap_bytes >> 9));
	assert_true(l8.data_offset > l1.data_offset);
	assert_int_equal(l8.data_offset % METRO_DATA_ALIGN, 0);
	assert_int_equal(metro_layout_compute_slots(data, 8, 0, &l8), -EINVAL);
	assert_int_equal(metro_layout_compute_slots(data, 8, METRO_MAX_SLOTS + 1, &l8), -EINVAL);
	/* The one-slot wrappers are the old layout. */
	assert_int_equal(metro_layout_compute(data, 8, &l8), 0);
	assert_int_equal(l8.data_offset, l1.data_offset);

	v2_info(&in, 3, data);
	metro_sb_encode(&in, sb);
	assert_int_equal(((uint8_t *)sb)[4], 2);
	assert_int_equal(((uint8_t *)sb)[108], 3);
	assert_memory_equal((uint8_t *)sb + 384, "metro-test_1.a", 15);
	for (i = 448; i < 4096; i++)
		assert_int_equal(((uint8_t *)sb)[i], 0);
	assert_int_equal(metro_sb_decode(sb, 0, &out, &err), 0);
	assert_int_equal(out.version, 2);
	assert_int_equal(out.nr_slots, 3);
	assert_string_equal(out.cluster_name, "metro-test_1.a");
	assert_true(metro_sb_clustered(&out));
	assert_int_equal(metro_slot_offset(&out, 0), METRO_BITMAP_OFFSET);
	assert_int_equal(metro_slot_offset(&out, 2),
			 METRO_BITMAP_OFFSET + 2 * (metro_bitmap_bytes(out.nr_regions) >> 9));

	/* A version 1 info stays version 1, byte for byte: no slot count, no name. */
	in.version = METRO_FORMAT_V1;
	metro_sb_encode(&in, sb);
	assert_int_equal(((uint8_t *)sb)[4], 1);
	for (i = 108; i < 112; i++)
		assert_int_equal(((uint8_t *)sb)[i], 0);
	for (i = 384; i < 4096; i++)
		assert_int_equal(((uint8_t *)sb)[i], 0);
	/* (its data offset leaves room for 3 slots: legal, room to spare) */
	assert_int_equal(metro_sb_decode(sb, 0, &out, &err), 0);
	assert_int_equal(out.nr_slots, 1);
	assert_false(metro_sb_clustered(&out));

	/* Refusals of version 2 only. */
	v2_info(&in, 2, data);
	in.nr_slots = 0;
	metro_sb_encode(&in, sb);
	assert_int_equal(metro_sb_decode(sb, 0, &out, &err), -EINVAL);
	in.nr_slots = METRO_MAX_SLOTS + 1;
	metro_sb_encode(&in, sb);
	assert_int_equal(metro_sb_decode(sb, 0, &out, &err), -EINVAL);
	v2_info(&in, 2, data);
	in.cluster_name[0] = '\0';
	metro_sb_encode(&in, sb);
	assert_int_equal(metro_sb_decode(sb, 0, &out, &err), -EINVAL);
	assert_non_null(strstr(err, "cluster name"));
	strcpy(in.cluster_name, "bad name");
	metro_sb_encode(&in, sb);
	assert_int_equal(metro_sb_decode(sb, 0, &out, &err), -EINVAL);
	strcpy(in.cluster_name, "a/b");
	metro_sb_encode(&in, sb);
	assert_int_equal(metro_sb_decode(sb, 0, &out, &err), -EINVAL);
	/* 8 slots no longer fit below the data offset laid out for 2 */
	v2_info(&in, 2, data);
	in.nr_slots = 8;
	metro_sb_encode(&in, sb);
	assert_int_equal(metro_sb_decode(sb, 0, &out, &err), -EINVAL);
	assert_non_null(strstr(err, "overlaps"));
	/* A name of 63 characters is the longest. */
	v2_info(&in, 2, data);
	memset(in.cluster_name, 'n', 63);
	in.cluster_name[63] = '\0';
	metro_sb_encode(&in, sb);
	assert_int_equal(metro_sb_decode(sb, 0, &out, &err), 0);
	guarded_free(sb);
}

static void test_encode_decode_roundtrip(void **state)
{
	struct metro_sb_disk *sb = guarded_alloc();
	struct metro_sb_info in, out;
	const char *err = "unset";
	size_t i;

	(void)state;
	/* Every field distinct and non-trivial. */
	memset(&in, 0, sizeof(in));
	for (i = 0; i < METRO_UUID_LEN; i++)
		in.vol_uuid[i] = (uint8_t)(0xf0 - i);
	memset(in.name, 'x', 63);
	in.name[0] = 'N';
	in.name[62] = 'z';
	in.version = METRO_FORMAT_VERSION;
	in.leg = METRO_LEG_A;
	in.flags = METRO_SB_F_CLEAN;
	in.region_sectors = 1U << 21;
	in.data_size = (1ULL << 40) + 12345;	/* 512 TiB + change: many regions */
	{
		struct metro_layout l = { 0 };

		assert_int_equal(metro_layout_compute(in.data_size, in.region_sectors, &l), 0);
		in.nr_regions = l.nr_regions;
		in.bitmap_offset = l.bitmap_offset;
		in.data_offset = l.data_offset + METRO_DATA_ALIGN;	/* room to spare is legal */
	}
	in.events = 0x0102030405060708ULL;
	in.ctime = 0x1112131415161718ULL;
	in.utime = 0x2122232425262728ULL;
	for (i = 0; i < METRO_GEN_HISTORY; i++)
		in.gen_history[i] = 0xdead0000ULL + i;
	for (i = 0; i < 2; i++) {
		memset(in.legs[i].leg_uuid, (int)(0x30 + i), METRO_UUID_LEN);
		in.legs[i].leg_uuid[15] = (uint8_t)(0x99 - i);
		in.legs[i].generation = 0xabcdef0000000000ULL + i;
		in.legs[i].events = 0x4142434445464748ULL + i;
		in.legs[i].dev_sectors = 0x5152535455565758ULL + i;
		in.legs[i].state = i ? METRO_LEG_F_ACTIVE | METRO_LEG_F_FAILED : METRO_LEG_F_STALE;
	}
	in.opt_flags = METRO_SB_O_RECORDED;
	in.opts.resync_rate = METRO_MAX_RESYNC_RATE;
	in.opts.clear_delay = METRO_MAX_CLEAR_DELAY_MS;
	in.opts.io_deadline = 0;
	in.opts.write_mostly = 'B';
	in.opts.read_mode = METRO_READ_DIRECT;
	in.opts.failfast = METRO_FAILFAST_B;
	metro_sb_encode(&in, sb);

	/* Little-endian on disk, at the documented offsets. */
	assert_memory_equal((uint8_t *)sb, "mtro", 4);
	assert_int_equal(((uint8_t *)sb)[4], 1);
	assert_int_equal(((uint8_t *)sb)[12] | ((uint8_t *)sb)[13] << 8, 4096);
	assert_int_equal(((uint8_t *)sb)[144], 0x08);
	assert_int_equal(((uint8_t *)sb)[151], 0x01);
	for (i = 384; i < 4096; i++)
		assert_int_equal(((uint8_t *)sb)[i], 0);
	/*
	 * Recorded options: flags, rate, delay, deadline, write-mostly leg,
	 * read mode, failfast legs.
	 */
	assert_int_equal(((uint8_t *)sb)[200], METRO_SB_O_RECORDED);
	assert_int_equal(((uint8_t *)sb)[207], 0x80);		/* 2^31 KiB/s */
	assert_int_equal(((uint8_t *)sb)[208] | ((uint8_t *)sb)[209] << 8 |
			 ((uint8_t *)sb)[210] << 16, 600000);
	assert_int_equal(((uint8_t *)sb)[212], 0);
	assert_int_equal(((uint8_t *)sb)[216], METRO_SB_WM_B);
	assert_int_equal(((uint8_t *)sb)[220], METRO_READ_DIRECT);
	for (i = 221; i < 224; i++)
		assert_int_equal(((uint8_t *)sb)[i], 0);
	assert_int_equal(((uint8_t *)sb)[224], 2);
	for (i = 225; i < 256; i++)
		assert_int_equal(((uint8_t *)sb)[i], 0);

	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(metro_sb_decode(sb, 0, &out, &err), 0);
	assert_null(err);
	assert_int_equal(out.version, in.version);
	assert_memory_equal(out.vol_uuid, in.vol_uuid, METRO_UUID_LEN);
	assert_string_equal(out.name, in.name);
	assert_int_equal(out.leg, in.leg);
	assert_int_equal(out.flags, in.flags);
	assert_int_equal(out.region_sectors, in.region_sectors);
	assert_int_equal(out.data_offset, in.data_offset);
	assert_int_equal(out.data_size, in.data_size);
	assert_int_equal(out.bitmap_offset, in.bitmap_offset);
	assert_int_equal(out.nr_regions, in.nr_regions);
	assert_int_equal(out.events, in.events);
	assert_int_equal(out.ctime, in.ctime);
	assert_int_equal(out.utime, in.utime);
	for (i = 0; i < METRO_GEN_HISTORY; i++)
		assert_int_equal(out.gen_history[i], in.gen_history[i]);
	assert_int_equal(out.opt_flags, METRO_SB_O_RECORDED);
	assert_int_equal(out.opts.resync_rate, in.opts.resync_rate);
	assert_int_equal(out.opts.clear_delay, in.opts.clear_delay);
	assert_int_equal(out.opts.io_deadline, 0);
	assert_int_equal(out.opts.write_mostly, 'B');
	assert_int_equal(out.opts.read_mode, METRO_READ_DIRECT);
	assert_int_equal(out.opts.failfast, METRO_FAILFAST_B);
	for (i = 0; i < 2; i++) {
		assert_memory_equal(out.legs[i].leg_uuid, in.legs[i].leg_uuid, METRO_UUID_LEN);
		assert_int_equal(out.legs[i].generation, in.legs[i].generation);
		assert_int_equal(out.legs[i].events, in.legs[i].events);
		assert_int_equal(out.legs[i].dev_sectors, in.legs[i].dev_sectors);
		assert_int_equal(out.legs[i].state, in.legs[i].state);
	}
	/* A device exactly as large as the data area is fine. */
	assert_int_equal(metro_sb_decode(sb, in.data_offset + in.data_size, &out, &err), 0);
	guarded_free(sb);
}

/*
 * read_mode on disk: the mode at 220, bounce's legs at 228; auto's legs
 * (what metroctl found at one node) are not recorded.  0 at 220 was
 * bounce before auto existed and is auto now.
 */
static void test_read_mode_recorded(void **state)
{
	struct metro_sb_disk *sb = guarded_alloc();
	struct metro_sb_info in, out;
	const char *err;

	(void)state;
	valid_info(&in);
	in.opt_flags = METRO_SB_O_RECORDED;
	in.opts.read_mode = METRO_READ_BOUNCE;
	in.opts.read_legs = METRO_LEGS_A;
	metro_sb_encode(&in, sb);
	assert_int_equal(((uint8_t *)sb)[220], 2);
	assert_int_equal(((uint8_t *)sb)[228], METRO_LEGS_A);
	assert_int_equal(metro_sb_decode(sb, DEV_SECTORS, &out, &err), 0);
	assert_int_equal(out.opts.read_mode, METRO_READ_BOUNCE);
	assert_int_equal(out.opts.read_legs, METRO_LEGS_A);

	in.opts.read_mode = METRO_READ_AUTO;
	in.opts.read_legs = METRO_LEGS_B;
	metro_sb_encode(&in, sb);
	assert_int_equal(((uint8_t *)sb)[220], 0);
	assert_int_equal(((uint8_t *)sb)[228], 0);
	assert_int_equal(metro_sb_decode(sb, DEV_SECTORS, &out, &err), 0);
	assert_int_equal(out.opts.read_mode, METRO_READ_AUTO);
	assert_int_equal(out.opts.read_legs, 0);

	/* bounce without legs, auto or direct with them: refused */
	sb->opt_read_mode = cpu_to_le32(METRO_READ_BOUNCE);
	recsum(sb);
	assert_int_equal(metro_sb_decode(sb, DEV_SECTORS, &out, &err), -EINVAL);
	sb->opt_read_mode = cpu_to_le32(METRO_READ_AUTO);
	sb->opt_read_legs = cpu_to_le32(METRO_LEGS_B);
	recsum(sb);
	assert_int_equal(metro_sb_decode(sb, DEV_SECTORS, &out, &err), -EINVAL);
	sb->opt_read_mode = cpu_to_le32(METRO_READ_DIRECT);
	recsum(sb);
	assert_int_equal(metro_sb_decode(sb, DEV_SECTORS, &out, &err), -EINVAL);
	sb->opt_read_mode = cpu_to_le32(METRO_READ_BOUNCE);
	sb->opt_read_legs = cpu_to_le32(4);
	recsum(sb);
	assert_int_equal(metro_sb_decode(sb, DEV_SECTORS, &out, &err), -EINVAL);
	sb->opt_read_mode = cpu_to_le32(3);
	sb->opt_read_legs = 0;
	recsum(sb);
	assert_int_equal(metro_sb_decode(sb, DEV_SECTORS, &out, &err), -EINVAL);
	guarded_free(sb);
}

static void test_encode_sets_checksum(void **state)
{
	struct metro_sb_disk *sb = guarded_alloc();
	struct metro_sb_info in;
	uint32_t stored;

	(void)state;
	valid_info(&in);
	metro_sb_encode(&in, sb);
	stored = le32_to_cpu(sb->csum);
	sb->csum = 0;
	assert_int_equal(stored, metro_crc32c(~0U, sb, 4096));
	sb->csum = cpu_to_le32(stored);
	guarded_free(sb);
}

/* ---------------------------------------------------------------------- */
/* Rejections: one test per kind of damage                                */
/* ---------------------------------------------------------------------- */

struct reject_case {
	const char *name;
	void (*mutate)(struct metro_sb_disk *sb);
	int fix_csum;		/* recompute the checksum after mutating */
	uint64_t dev_sectors;	/* 0: DEV_SECTORS */
	int expect;
};

static void m_magic(struct metro_sb_disk *sb) { sb->magic = cpu_to_le32(0x6f72746e); }
static void m_zero_all(struct metro_sb_disk *sb) { memset(sb, 0, 4096); }
static void m_csum_flip(struct metro_sb_disk *sb) { ((uint8_t *)sb)[4000] ^= 1; }
static void m_csum_field(struct metro_sb_disk *sb) { sb->csum = cpu_to_le32(le32_to_cpu(sb->csum) + 1); }
static void m_version3(struct metro_sb_disk *sb) { sb->version = cpu_to_le32(3); }
/* A version 1 superblock with what only version 2 may set. */
static void m_v1_slots(struct metro_sb_disk *sb) { sb->nr_slots = cpu_to_le32(2); }
static void m_v1_cluster(struct metro_sb_disk *sb) { sb->cluster_name[0] = 'c'; }
static void m_version0(struct metro_sb_disk *sb) { sb->version = cpu_to_le32(0); }
static void m_sb_size(struct metro_sb_disk *sb) { sb->sb_size = cpu_to_le32(512); }
static void m_sb_size_big(struct metro_sb_disk *sb) { sb->sb_size = cpu_to_le32(0xffffffff); }
static void m_flags(struct metro_sb_disk *sb) { sb->flags = cpu_to_le32(1U << 1); }
static void m_flags_high(struct metro_sb_disk *sb) { sb->flags = cpu_to_le32(0x80000001U); }
static void m_leg_state_a(struct metro_sb_disk *sb) { sb->legs[0].state = cpu_to_le32(1U << 3); }
static void m_leg_state_b(struct metro_sb_disk *sb) { sb->legs[1].state = cpu_to_le32(0x80000001U); }
static void m_both_stale(struct metro_sb_disk *sb)
{
	sb->legs[0].state = cpu_to_le32(METRO_LEG_F_STALE | METRO_LEG_F_ACTIVE);
	sb->legs[1].state = cpu_to_le32(METRO_LEG_F_STALE);
}
static void m_leg2(struct metro_sb_disk *sb) { sb->leg = cpu_to_le32(2); }
static void m_leg_ff(struct metro_sb_disk *sb) { sb->leg = cpu_to_le32(0xffffffffU); }
static void m_region0(struct metro_sb_disk *sb) { sb->region_sectors = 0; }
static void m_region_npot(struct metro_sb_disk *sb) { sb->region_sectors = cpu_to_le32(8192 + 8); }
static void m_region_small(struct metro_sb_disk *sb)
{
	/* 2 KiB regions, with a consistent region count. */
	sb->region_sectors = cpu_to_le32(4);
	sb->nr_regions = cpu_to_le64((le64_to_cpu(sb->data_size) + 3) / 4);
}
static void m_region_big(struct metro_sb_disk *sb)
{
	sb->region_sectors = cpu_to_le32(1U << 22);
	sb->nr_regions = cpu_to_le64(1);
}
static void m_nr_more(struct metro_sb_disk *sb) { sb->nr_regions = cpu_to_le64(le64_to_cpu(sb->nr_regions) + 1); }
static void m_nr_less(struct metro_sb_disk *sb) { sb->nr_regions = cpu_to_le64(le64_to_cpu(sb->nr_regions) - 1); }
static void m_data_size0(struct metro_sb_disk *sb)
{
	sb->data_size = 0;
	sb->nr_regions = 0;
}
static void m_data_off_misaligned(struct metro_sb_disk *sb) { sb->data_offset = cpu_to_le64(2049); }
static void m_data_off_overlap(struct metro_sb_disk *sb) { sb->data_offset = cpu_to_le64(16); }
static void m_data_off_zero(struct metro_sb_disk *sb) { sb->data_offset = 0; }
static void m_bitmap_off(struct metro_sb_disk *sb) { sb->bitmap_offset = cpu_to_le64(24); }
static void m_data_past_end(struct metro_sb_disk *sb)
{
	sb->data_size = cpu_to_le64(DEV_SECTORS);	/* + offset > device */
	sb->nr_regions = cpu_to_le64(DEV_SECTORS / 8192);
}
static void m_wrap(struct metro_sb_disk *sb) { sb->data_offset = cpu_to_le64(0xfffffffffffff000ULL); }
static void m_name_unterminated(struct metro_sb_disk *sb) { memset(sb->name, 'a', METRO_NAME_LEN); }
static void m_name_empty(struct metro_sb_disk *sb) { memset(sb->name, 0, METRO_NAME_LEN); }
static void m_name_slash(struct metro_sb_disk *sb) { strcpy(sb->name, "a/b"); }
static void m_name_ctrl(struct metro_sb_disk *sb) { strcpy(sb->name, "a\nb"); }
static void m_name_del(struct metro_sb_disk *sb) { strcpy(sb->name, "a\x7f"); }
static void m_name_high(struct metro_sb_disk *sb) { strcpy(sb->name, "caf\xc3\xa9"); }
static void m_name_space(struct metro_sb_disk *sb) { strcpy(sb->name, "a b"); }
static void m_own_gen0(struct metro_sb_disk *sb) { sb->legs[le32_to_cpu(sb->leg)].generation = 0; }

static void m_opt_flags(struct metro_sb_disk *sb) { sb->opt_flags = cpu_to_le32(METRO_SB_O_RECORDED | 1U << 1); }
static void m_opt_wm(struct metro_sb_disk *sb) { sb->opt_write_mostly = cpu_to_le32(3); }
static void m_opt_read_mode(struct metro_sb_disk *sb) { sb->opt_read_mode = cpu_to_le32(2); }
static void m_opt_failfast(struct metro_sb_disk *sb) { sb->opt_failfast = cpu_to_le32(4); }
static void m_opt_deadline(struct metro_sb_disk *sb) { sb->opt_io_deadline = cpu_to_le32(METRO_MIN_IO_DEADLINE_MS - 1); }
static void m_opt_clear(struct metro_sb_disk *sb) { sb->opt_clear_delay = 0; }
static void m_opt_rate(struct metro_sb_disk *sb) { sb->opt_resync_rate = cpu_to_le32(METRO_MAX_RESYNC_RATE + 1); }
static void m_check_flags(struct metro_sb_disk *sb) { sb->check_flags = cpu_to_le32(METRO_SB_C_RUNNING | 1U << 3); }
static void m_check_not_running(struct metro_sb_disk *sb) { sb->check_flags = cpu_to_le32(METRO_SB_C_REPAIR); }
static void m_check_from_b(struct metro_sb_disk *sb)
{
	sb->check_flags = cpu_to_le32(METRO_SB_C_RUNNING | METRO_SB_C_FROM_B);
}
static void m_check_pos(struct metro_sb_disk *sb)
{
	sb->check_flags = cpu_to_le32(METRO_SB_C_RUNNING);
	sb->check_pos = sb->nr_regions;
}

static const struct reject_case reject_cases[] = {
	{ "reject_bad_magic", m_magic, 1, 0, -ENODATA },
	{ "reject_all_zero", m_zero_all, 0, 0, -ENODATA },
	{ "reject_bad_checksum_payload", m_csum_flip, 0, 0, -EBADMSG },
	{ "reject_bad_checksum_field", m_csum_field, 0, 0, -EBADMSG },
	{ "reject_version_3", m_version3, 1, 0, -EPROTONOSUPPORT },
	{ "reject_v1_with_slots", m_v1_slots, 1, 0, -EINVAL },
	{ "reject_v1_with_cluster_name", m_v1_cluster, 1, 0, -EINVAL },
	{ "reject_version_0", m_version0, 1, 0, -EPROTONOSUPPORT },
	{ "reject_version_3_bad_csum_is_ebadmsg", m_version3, 0, 0, -EBADMSG },
	{ "reject_sb_size_512", m_sb_size, 1, 0, -EINVAL },
	{ "reject_sb_size_huge", m_sb_size_big, 1, 0, -EINVAL },
	{ "reject_unknown_flags", m_flags, 1, 0, -EINVAL },
	{ "reject_unknown_flags_high_bit", m_flags_high, 1, 0, -EINVAL },
	{ "reject_unknown_leg_state_a", m_leg_state_a, 1, 0, -EINVAL },
	{ "reject_unknown_leg_state_b", m_leg_state_b, 1, 0, -EINVAL },
	{ "reject_both_legs_stale", m_both_stale, 1, 0, -EINVAL },
	{ "reject_leg_index_2", m_leg2, 1, 0, -EINVAL },
	{ "reject_leg_index_ffffffff", m_leg_ff, 1, 0, -EINVAL },
	{ "reject_region_size_0", m_region0, 1, 0, -EINVAL },
	{ "reject_region_size_not_pow2", m_region_npot, 1, 0, -EINVAL },
	{ "reject_region_size_too_small", m_region_small, 1, 0, -EINVAL },
	{ "reject_region_size_too_big", m_region_big, 1, 0, -EINVAL },
	{ "reject_nr_regions_too_many", m_nr_more, 1, 0, -EINVAL },
	{ "reject_nr_regions_too_few", m_nr_less, 1, 0, -EINVAL },
	{ "reject_data_size_0", m_data_size0, 1, 0, -EINVAL },
	{ "reject_data_offset_misaligned", m_data_off_misaligned, 1, 0, -EINVAL },
	{ "reject_data_offset_overlaps_bitmap", m_data_off_overlap, 1, 0, -EINVAL },
	{ "reject_data_offset_zero", m_data_off_zero, 1, 0, -EINVAL },
	{ "reject_bitmap_offset", m_bitmap_off, 1, 0, -EINVAL },
	{ "reject_data_past_device_end", m_data_past_end, 1, 0, -EINVAL },
	{ "reject_device_smaller_than_recorded", NULL, 1, DEV_SECTORS - 1, -EINVAL },
	{ "reject_data_area_wraps", m_wrap, 1, 0, -EINVAL },
	{ "reject_name_unterminated", m_name_unterminated, 1, 0, -EINVAL },
	{ "reject_name_empty", m_name_empty, 1, 0, -EINVAL },
	{ "reject_name_slash", m_name_slash, 1, 0, -EINVAL },
	{ "reject_name_control_char", m_name_ctrl, 1, 0, -EINVAL },
	{ "reject_name_del", m_name_del, 1, 0, -EINVAL },
	{ "reject_name_non_ascii", m_name_high, 1, 0, -EINVAL },
	{ "reject_name_space", m_name_space, 1, 0, -EINVAL },
	{ "reject_own_generation_0", m_own_gen0, 1, 0, -EINVAL },
	{ "reject_unknown_option_flags", m_opt_flags, 1, 0, -EINVAL },
	{ "reject_option_write_mostly_3", m_opt_wm, 1, 0, -EINVAL },
	{ "reject_option_read_mode_2", m_opt_read_mode, 1, 0, -EINVAL },
	{ "reject_option_failfast_4", m_opt_failfast, 1, 0, -EINVAL },
	{ "reject_option_io_deadline_too_short", m_opt_deadline, 1, 0, -EINVAL },
	{ "reject_option_clear_delay_0", m_opt_clear, 1, 0, -EINVAL },
	{ "reject_option_resync_rate_too_high", m_opt_rate, 1, 0, -EINVAL },
	{ "reject_check_flags_unknown", m_check_flags, 1, 0, -EINVAL },
	{ "reject_check_flags_not_running", m_check_not_running, 1, 0, -EINVAL },
	{ "reject_check_from_b_without_repair", m_check_from_b, 1, 0, -EINVAL },
	{ "reject_check_pos_past_last_region", m_check_pos, 1, 0, -EINVAL },
};

static void test_reject(void **state)
{
	const struct reject_case *c = *state;
	struct metro_sb_disk *sb = guarded_alloc();
	struct metro_sb_info in, out;
	const char *err = NULL;

	valid_info(&in);
	metro_sb_encode(&in, sb);
	/* Sanity: the unmodified superblock is accepted. */
	assert_int_equal(metro_sb_decode(sb, DEV_SECTORS, &out, &err), 0);
	if (c->mutate)
		c->mutate(sb);
	if (c->fix_csum)
		recsum(sb);
	err = NULL;
	assert_int_equal(metro_sb_decode(sb, c->dev_sectors ? c->dev_sectors : DEV_SECTORS,
					 &out, &err), c->expect);
	assert_non_null(err);
	assert_true(strlen(err) > 0);
	guarded_free(sb);
}

/* Every single-bit flip of a valid superblock is caught by the checksum. */
static void test_reject_every_bit_flip(void **state)
{
	struct metro_sb_disk *sb = guarded_alloc();
	struct metro_sb_info in, out;
	const char *err;
	size_t bit;

	(void)state;
	valid_info(&in);
	metro_sb_encode(&in, sb);
	for (bit = 0; bit < 4096 * 8; bit++) {
		int r;

		((uint8_t *)sb)[bit / 8] ^= (uint8_t)(1U << (bit % 8));
		r = metro_sb_decode(sb, DEV_SECTORS, &out, &err);
		if (bit < 32)	/* the magic */
			assert_int_equal(r, -ENODATA);
		else
			assert_int_equal(r, -EBADMSG);
		((uint8_t *)sb)[bit / 8] ^= (uint8_t)(1U << (bit % 8));
	}
	assert_int_equal(metro_sb_decode(sb, DEV_SECTORS, &out, &err), 0);
	guarded_free(sb);
}

/*
 * Without METRO_SB_O_RECORDED the option fields mean nothing: the decoder
 * gives the defaults whatever they hold, and the encoder writes zeros.
 */
static void test_options_not_recorded(void **state)
{
	struct metro_sb_disk *sb = guarded_alloc();
	struct metro_sb_info in, out;
	const char *err;
	size_t i;

	(void)state;
	valid_info(&in);
	in.opt_flags = 0;
	metro_sb_encode(&in, sb);
	for (i = 200; i < 256; i++)
		assert_int_equal(((uint8_t *)sb)[i], 0);
	sb->opt_io_deadline = cpu_to_le32(7);
	sb->opt_write_mostly = cpu_to_le32(9);
	sb->opt_read_mode = cpu_to_le32(9);
	sb->opt_failfast = cpu_to_le32(9);
	recsum(sb);
	assert_int_equal(metro_sb_decode(sb, DEV_SECTORS, &out, &err), 0);
	assert_int_equal(out.opt_flags, 0);
	assert_int_equal(out.opts.io_deadline, METRO_DEFAULT_IO_DEADLINE_MS);
	assert_int_equal(out.opts.clear_delay, METRO_DEFAULT_CLEAR_DELAY_MS);
	assert_int_equal(out.opts.resync_rate, METRO_DEFAULT_RESYNC_RATE);
	assert_int_equal(out.opts.write_mostly, 0);
	assert_int_equal(out.opts.read_mode, METRO_READ_AUTO);
	assert_int_equal(out.opts.failfast, 0);
	guarded_free(sb);
}

/*
 * The check position (target 1.10): recorded only with METRO_SB_C_RUNNING,
 * round trips, and a superblock without it (every older one) decodes as
 * no check; the last region is a valid position.
 */
static void test_check_position(void **state)
{
	struct metro_sb_disk *sb = guarded_alloc();
	struct metro_sb_info in, out;
	const char *err;
	size_t i;

	(void)state;
	valid_info(&in);
	metro_sb_encode(&in, sb);
	for (i = 232; i < 256; i++)
		assert_int_equal(((uint8_t *)sb)[i], 0);
	assert_int_equal(metro_sb_decode(sb, DEV_SECTORS, &out, &err), 0);
	assert_int_equal(out.check_flags, 0);
	assert_int_equal(out.check_pos, 0);
	/* A position without the flag is not written. */
	in.check_pos = 5;
	metro_sb_encode(&in, sb);
	assert_int_equal(le64_to_cpu(sb->check_pos), 0);
	in.check_flags = METRO_SB_C_RUNNING | METRO_SB_C_REPAIR | METRO_SB_C_FROM_B;
	in.check_pos = in.nr_regions - 1;
	metro_sb_encode(&in, sb);
	assert_int_equal(le32_to_cpu(sb->check_flags), 7);
	assert_int_equal(metro_sb_decode(sb, DEV_SECTORS, &out, &err), 0);
	assert_int_equal(out.check_flags, in.check_flags);
	assert_int_equal(out.check_pos, in.nr_regions - 1);
	/* A position left in the field without the flag means nothing. */
	sb->check_flags = 0;
	recsum(sb);
	assert_int_equal(metro_sb_decode(sb, DEV_SECTORS, &out, &err), 0);
	assert_int_equal(out.check_pos, 0);
	guarded_free(sb);
}

/* Unknown device size (0) skips only the device-end check. */
static void test_decode_unknown_device_size(void **state)
{
	struct metro_sb_disk *sb = guarded_alloc();
	struct metro_sb_info in, out;
	const char *err;

	(void)state;
	valid_info(&in);
	metro_sb_encode(&in, sb);
	m_data_past_end(sb);
	recsum(sb);
	assert_int_equal(metro_sb_decode(sb, 0, &out, &err), 0);
	assert_int_equal(metro_sb_decode(sb, DEV_SECTORS, &out, &err), -EINVAL);
	guarded_free(sb);
}

/* ---------------------------------------------------------------------- */
/* Layout                                                                 */
/* ---------------------------------------------------------------------- */

static void check_layout_invariants(const struct metro_layout *l, uint64_t region)
{
	assert_int_equal(l->bitmap_offset, METRO_BITMAP_OFFSET);
	assert_int_equal(l->bitmap_bytes % METRO_BLOCK_SIZE, 0);
	assert_true(l->bitmap_bytes * 8 >= l->nr_regions);
	assert_true(l->bitmap_bytes * 8 < l->nr_regions + METRO_BLOCK_SIZE * 8);
	assert_int_equal(l->data_offset % METRO_DATA_ALIGN, 0);
	assert_true(l->data_offset >= l->bitmap_offset + l->bitmap_bytes / 512);
	/* No more than one alignment unit wasted. */
	assert_true(l->data_offset < l->bitmap_offset + l->bitmap_bytes / 512 + METRO_DATA_ALIGN);
	assert_int_equal(l->nr_regions, (l->data_size + region - 1) / region);
}

static void test_layout_compute_limits(void **state)
{
	struct metro_layout l;

	(void)state;
	assert_int_equal(metro_layout_compute(0, 8192, &l), -EINVAL);
	assert_int_equal(metro_layout_compute(1, 0, &l), -EINVAL);
	assert_int_equal(metro_layout_compute(1, 4, &l), -EINVAL);
	assert_int_equal(metro_layout_compute(1, 12, &l), -EINVAL);
	assert_int_equal(metro_layout_compute(1, 1U << 22, &l), -EINVAL);
	assert_int_equal(metro_layout_compute(1, 8, &l), 0);
	assert_int_equal(metro_layout_compute(1, 1U << 21, &l), 0);
	assert_int_equal(l.nr_regions, 1);
	assert_int_equal(l.data_offset, 2048);
	assert_int_equal(l.bitmap_bytes, 4096);
	/* The region count limit: exactly 2^31 regions fit, one more does not. */
	assert_int_equal(metro_layout_compute(METRO_MAX_REGIONS * 8, 8, &l), 0);
	assert_int_equal(l.nr_regions, METRO_MAX_REGIONS);
	check_layout_invariants(&l, 8);
	assert_int_equal(metro_layout_compute(METRO_MAX_REGIONS * 8 + 1, 8, &l), -EINVAL);
	assert_int_equal(metro_layout_compute(~0ULL, 1U << 21, &l), -EINVAL);
}

static void test_layout_compute_alignment(void **state)
{
	static const uint64_t sizes[] = {
		1, 7, 8, 9, 8192, 8193, 2097152, 32768ULL * 8 * 8,
		(32768ULL * 8 + 1) * 8, 8ULL * 8 * (2048 - 16) * 512,
		8ULL * (8 * (2048 - 16) * 512 + 1), 123456789, 1ULL << 40,
	};
	static const uint64_t regions[] = { 8, 64, 8192, 1U << 21 };
	struct metro_layout l;
	size_t i, j;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		for (j = 0; j < ARRAY_SIZE(regions); j++) {
			if (metro_layout_compute(sizes[i], regions[j], &l))
				continue;
			assert_int_equal(l.data_size, sizes[i]);
			check_layout_invariants(&l, regions[j]);
		}
	/* Bitmap exactly filling the sectors before the first 1 MiB boundary. */
	assert_int_equal(metro_layout_compute(8ULL * 8 * (2048 - 16) * 512, 8, &l), 0);
	assert_int_equal(l.data_offset, 2048);
	assert_int_equal(metro_layout_compute(8ULL * (8 * (2048 - 16) * 512 + 1), 8, &l), 0);
	assert_int_equal(l.data_offset, 4096);
}

static void test_layout_bitmap_padding(void **state)
{
	(void)state;
	assert_int_equal(metro_bitmap_bytes(0), 0);
	assert_int_equal(metro_bitmap_bytes(1), 4096);
	assert_int_equal(metro_bitmap_bytes(32768), 4096);
	assert_int_equal(metro_bitmap_bytes(32769), 8192);
	assert_int_equal(metro_bitmap_bytes(METRO_MAX_REGIONS), 1ULL << 28);
}

static void test_layout_for_device_tiny(void **state)
{
	struct metro_layout l;

	(void)state;
	assert_int_equal(metro_layout_for_device(0, 8192, &l), -ENOSPC);
	assert_int_equal(metro_layout_for_device(1, 8192, &l), -ENOSPC);
	assert_int_equal(metro_layout_for_device(2048, 8, &l), -ENOSPC);
	assert_int_equal(metro_layout_for_device(2048 + 8192 - 1, 8192, &l), -ENOSPC);
	assert_int_equal(metro_layout_for_device(2048 + 8192, 8192, &l), 0);
	assert_int_equal(l.nr_regions, 1);
	assert_int_equal(l.data_offset, 2048);
	assert_int_equal(l.data_size, 8192);
	assert_int_equal(metro_layout_for_device(2048 + 8, 8, &l), 0);
	assert_int_equal(l.data_size, 8);
	/* Bad region sizes are -EINVAL whatever the device size. */
	assert_int_equal(metro_layout_for_device(0, 0, &l), -EINVAL);
	assert_int_equal(metro_layout_for_device(1ULL << 30, 4, &l), -EINVAL);
	assert_int_equal(metro_layout_for_device(1ULL << 30, 24, &l), -EINVAL);
	assert_int_equal(metro_layout_for_device(1ULL << 30, 1U << 22, &l), -EINVAL);
}

static void test_layout_for_device_fits(void **state)
{
	static const uint64_t devs[] = {
		2048 + 8, 10240, 131072, 163840, 2097152, 2097152 + 7,
		(1ULL << 31) + 12345, 8ULL * (8 * (2048 - 16) * 512) + 2048,
		8ULL * (8 * (2048 - 16) * 512) + 2048 + 1, 1ULL << 44,
	};
	static const uint64_t regions[] = { 8, 8192, 1U << 21 };
	struct metro_layout l;
	size_t i, j;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(devs); i++)
		for (j = 0; j < ARRAY_SIZE(regions); j++) {
			int r = metro_layout_for_device(devs[i], regions[j], &l);

			if (r == -ENOSPC) {
				assert_true(devs[i] < 2048 + regions[j]);
				continue;
			}
			if (r == -EINVAL) {	/* too many regions */
				assert_true(devs[i] / regions[j] > METRO_MAX_REGIONS - 1);
				continue;
			}
			assert_int_equal(r, 0);
			check_layout_invariants(&l, regions[j]);
			assert_true(l.data_offset + l.data_size <= devs[i]);
			/*
			 * It uses the device after the metadata; near a bitmap
			 * size that needs one more 1 MiB of metadata, up to
			 * 1 MiB may stay unused at the end (the first guess of
			 * the metadata size is the larger one).
			 */
			assert_true(devs[i] - (l.data_offset + l.data_size) <= METRO_DATA_ALIGN);
		}
}

/* A superblock built from any layout decodes on a device of that size. */
static void test_layout_decodes(void **state)
{
	struct metro_sb_disk *sb = guarded_alloc();
	struct metro_sb_info in, out;
	struct metro_layout l;
	const char *err;
	uint64_t dev;

	(void)state;
	for (dev = 2048 + 8; dev < (1ULL << 40); dev = dev * 3 + 5) {
		valid_info(&in);
		in.region_sectors = 8;
		if (metro_layout_for_device(dev, 8, &l))
			continue;
		in.data_offset = l.data_offset;
		in.data_size = l.data_size;
		in.nr_regions = l.nr_regions;
		metro_sb_encode(&in, sb);
		assert_int_equal(metro_sb_decode(sb, dev, &out, &err), 0);
		assert_int_equal(metro_sb_decode(sb, dev - 1, &out, &err), -EINVAL);
	}
	guarded_free(sb);
}

/* ---------------------------------------------------------------------- */
/* Bitmap helpers                                                         */
/* ---------------------------------------------------------------------- */

/* ---------------------------------------------------------------------- */
/* Data generations                                                       */
/* ---------------------------------------------------------------------- */

/* Superblocks of both legs, mirrored in generation 10 with history 9, 8. */
static void gen_pair(struct metro_sb_info *a, struct metro_sb_info *b)
{
	valid_info(a);
	a->leg = METRO_LEG_A;
	memset(a->gen_history, 0, sizeof(a->gen_history));
	a->gen_history[0] = 9;
	a->gen_history[1] = 8;
	a->legs[0].generation = a->legs[1].generation = 10;
	*b = *a;
	b->leg = METRO_LEG_B;
}

static void test_gen_same(void **state)
{
	struct metro_sb_info a, b;

	(void)state;
	gen_pair(&a, &b);
	assert_int_equal(metro_gen_compare(&a, &b), METRO_GEN_SAME);
	/* What a leg records about the other leg plays no part. */
	a.legs[1].generation = 77;
	assert_int_equal(metro_gen_compare(&a, &b), METRO_GEN_SAME);
}

static void test_gen_push(void **state)
{
	struct metro_sb_info a, b;
	int i;

	(void)state;
	gen_pair(&a, &b);
	metro_gen_push(&a, 11);
	assert_int_equal(metro_own_gen(&a), 11);
	assert_int_equal(a.legs[1].generation, 10);	/* B untouched */
	assert_int_equal(a.gen_history[0], 10);
	assert_int_equal(a.gen_history[1], 9);
	assert_int_equal(a.gen_history[2], 8);
	assert_int_equal(a.gen_history[3], 0);
	/* A carried on alone: B missed writes. */
	assert_int_equal(metro_gen_compare(&a, &b), METRO_GEN_A_NEWER);
	/* The history keeps the newest METRO_GEN_HISTORY generations. */
	for (i = 0; i < 10; i++)
		metro_gen_push(&a, 100 + (uint64_t)i);
	assert_int_equal(a.gen_history[0], 108);
	assert_int_equal(a.gen_history[METRO_GEN_HISTORY - 1], 105);
}

static void test_gen_b_newer_and_adopt(void **state)
{
	struct metro_sb_info a, b;
	int i;

	(void)state;
	gen_pair(&a, &b);
	metro_gen_push(&b, 20);
	metro_gen_push(&b, 21);	/* B alone across two activations */
	assert_int_equal(metro_gen_compare(&a, &b), METRO_GEN_B_NEWER);
	/* After the resync A holds B's data: same generation and history. */
	metro_gen_adopt(&a, &b);
	assert_int_equal(metro_own_gen(&a), 21);
	assert_int_equal(a.legs[1].generation, 10);	/* A's record of B untouched */
	for (i = 0; i < METRO_GEN_HISTORY; i++)
		assert_int_equal(a.gen_history[i], b.gen_history[i]);
	assert_int_equal(metro_gen_compare(&a, &b), METRO_GEN_SAME);
}

static void test_gen_split(void **state)
{
	struct metro_sb_info a, b;

	(void)state;
	gen_pair(&a, &b);
	metro_gen_push(&a, 11);
	metro_gen_push(&b, 12);	/* both carried on alone */
	assert_int_equal(metro_gen_compare(&a, &b), METRO_GEN_SPLIT);
	assert_int_equal(metro_gen_compare(&b, &a), METRO_GEN_SPLIT);
	/* Resolving for A: B falls back to the common generation. */
	b.legs[1].generation = a.gen_history[0];
	assert_int_equal(metro_gen_compare(&a, &b), METRO_GEN_A_NEWER);
}

static void test_gen_stale_never_newer(void **state)
{
	struct metro_sb_info a, b;

	(void)state;
	/* B missed writes; whichever superblock is looked at first, A wins. */
	gen_pair(&a, &b);
	metro_gen_push(&a, 11);
	b.events = a.events + 100;	/* a newer event count does not help B */
	assert_int_equal(metro_gen_compare(&a, &b), METRO_GEN_A_NEWER);
	/* Zero is never a generation, even if a history slot is empty. */
	gen_pair(&a, &b);
	a.legs[0].generation = 0;
	assert_int_equal(metro_gen_compare(&a, &b), METRO_GEN_SPLIT);
}

static void test_bitmap_bits(void **state)
{
	uint8_t bm[16];
	uint64_t i;

	(void)state;
	memset(bm, 0, sizeof(bm));
	metro_bm_set(bm, 0);
	assert_int_equal(bm[0], 0x01);
	metro_bm_set(bm, 9);
	assert_int_equal(bm[1], 0x02);
	metro_bm_set(bm, 127);
	assert_int_equal(bm[15], 0x80);
	assert_true(metro_bm_test(bm, 0));
	assert_true(metro_bm_test(bm, 9));
	assert_false(metro_bm_test(bm, 8));
	assert_false(metro_bm_test(bm, 10));
	metro_bm_clear(bm, 9);
	assert_int_equal(bm[1], 0);
	assert_true(metro_bm_test(bm, 0));
	for (i = 0; i < 128; i++)
		metro_bm_set(bm, i);
	for (i = 0; i < 16; i++)
		assert_int_equal(bm[i], 0xff);
	for (i = 0; i < 128; i += 2)
		metro_bm_clear(bm, i);
	for (i = 0; i < 16; i++)
		assert_int_equal(bm[i], 0xaa);
}

static void test_bitmap_count(void **state)
{
	uint8_t bm[64];
	uint64_t i, n;

	(void)state;
	memset(bm, 0, sizeof(bm));
	assert_int_equal(bitmap_count(bm, 0, 512), 0);
	memset(bm, 0xff, sizeof(bm));
	assert_int_equal(bitmap_count(bm, 0, 512), 512);
	assert_int_equal(bitmap_count(bm, 3, 5), 5);
	assert_int_equal(bitmap_count(bm, 3, 100), 100);
	assert_int_equal(bitmap_count(bm, 0, 0), 0);
	memset(bm, 0, sizeof(bm));
	for (i = 0, n = 0; i < 512; i += 3, n++)
		metro_bm_set(bm, i);
	assert_int_equal(bitmap_count(bm, 0, 512), n);
	assert_int_equal(bitmap_count(bm, 1, 2), 0);
	assert_int_equal(bitmap_count(bm, 1, 3), 1);
	assert_int_equal(bitmap_count(bm, 0, 13), 5);	/* 0 3 6 9 12 */
}

int main(void)
{
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_crc32c_check_value),
		cmocka_unit_test(test_crc32c_rfc3720),
		cmocka_unit_test(test_crc32c_empty_and_chaining),
		cmocka_unit_test(test_struct_offsets),
		cmocka_unit_test(test_encode_decode_roundtrip),
		cmocka_unit_test(test_check_position),
		cmocka_unit_test(test_format_v2),
		cmocka_unit_test(test_encode_sets_checksum),
		cmocka_unit_test(test_read_mode_recorded),
		cmocka_unit_test(test_reject_every_bit_flip),
		cmocka_unit_test(test_decode_unknown_device_size),
		cmocka_unit_test(test_options_not_recorded),
		cmocka_unit_test(test_layout_compute_limits),
		cmocka_unit_test(test_layout_compute_alignment),
		cmocka_unit_test(test_layout_bitmap_padding),
		cmocka_unit_test(test_layout_for_device_tiny),
		cmocka_unit_test(test_layout_for_device_fits),
		cmocka_unit_test(test_layout_decodes),
		cmocka_unit_test(test_gen_same),
		cmocka_unit_test(test_gen_push),
		cmocka_unit_test(test_gen_b_newer_and_adopt),
		cmocka_unit_test(test_gen_split),
		cmocka_unit_test(test_gen_stale_never_newer),
		cmocka_unit_test(test_bitmap_bits),
		cmocka_unit_test(test_bitmap_count),
	};
	struct CMUnitTest tests[ARRAY_SIZE(fixed) + ARRAY_SIZE(reject_cases)];
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(fixed); i++)
		tests[n++] = fixed[i];
	for (i = 0; i < ARRAY_SIZE(reject_cases); i++) {
		struct CMUnitTest t = cmocka_unit_test_prestate(test_reject,
								(void *)&reject_cases[i]);

		t.name = reject_cases[i].name;
		tests[n++] = t;
	}
	return _cmocka_run_group_tests("format", tests, n, NULL, NULL);
}
