// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for metroctl convert (userspace/convert.c, cmd-convert.c)
 * and for examine of a version 2 leg (cmd-info.c), on regular files
 * standing in for the legs: both directions, the dirty bits of every slot
 * kept, the refusals, a pair left half converted, a second leg that fails
 * after the first was converted.  What needs a block device or
 * device-mapper (the exclusive open, the active-volume check) is the VM
 * case tests/cases/format_convert.sh; here those functions are stubs.
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
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "metroctl.h"

/* What metroctl.c and dm.c provide; p_err collects the messages. */
bool json_output, pretty_output;
int verbose;
const char *bin_name = "metroctl";
static char errs[16384];

void p_err(const char *fmt, ...)
{
	size_t n = strlen(errs);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errs + n, sizeof(errs) - n, fmt, ap);
	va_end(ap);
	n = strlen(errs);
	if (n + 1 < sizeof(errs)) {
		errs[n] = '\n';
		errs[n + 1] = '\0';
	}
}
void p_warn(const char *fmt, ...) { (void)fmt; }
void p_info(const char *fmt, ...) { (void)fmt; }
int usage_err(const char *cmd, const char *fmt, ...) { (void)cmd; (void)fmt; return EXIT_USAGE; }
int common_opt(const char *cmd, int opt, char **argv) { (void)cmd; (void)opt; (void)argv; return 2; }
void json_print(struct json_object *obj) { (void)obj; }
int metro_dm_uuid_active(const char *u, char *n, size_t l) { (void)u; (void)n; (void)l; return 0; }
const char *metro_dm_last_error(void) { return "stub"; }
int metro_lock(void) { return -1; }
void metro_unlock(int fd) { (void)fd; }
int metro_dm_get_table(const char *name, uint64_t *length, char *params, size_t len)
{
	(void)name; (void)length; (void)params; (void)len;
	return -1;
}
int metro_dm_list(const char *only, struct metro_dm_dev **out, int *count)
{
	(void)only; (void)out; (void)count;
	return -1;
}

/* ---------------------------------------------------------------------- */
/* Legs on files                                                          */
/* ---------------------------------------------------------------------- */

#define REGION		8U			/* 4 KiB regions */
#define NR		100ULL			/* regions: one bitmap block a slot */
#define DEV		(2048 + NR * REGION)	/* data offset 2048: room for 8 slots */

static const char *const names[2] = { "imgA", "imgB" };

/* A leg on an unlinked temporary file of @sectors sectors, read-write or not. */
static void file_leg(struct leg *l, const char *name, uint64_t sectors, int *keep_fd)
{
	char path[] = "/tmp/metro-test-convXXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)(sectors * 512)), 0);
	memset(l, 0, sizeof(*l));
	l->path = name;
	l->fd = fd;
	l->sectors = sectors;
	l->bytes = sectors * 512;
	if (keep_fd) {
		/* A second, read-only descriptor: a leg whose writes fail. */
		*keep_fd = open(path, O_RDONLY);
		assert_true(*keep_fd >= 0);
	}
	unlink(path);
}

/* The superblock create writes for leg @leg of a volume of @slots slots. */
static void create_info(struct metro_sb_info *in, uint64_t dev, uint32_t slots,
			const char *cluster, unsigned int leg)
{
	struct metro_layout lay = { 0 };
	int i;

	assert_int_equal(metro_layout_for_device_slots(dev, REGION, slots, &lay), 0);
	memset(in, 0, sizeof(*in));
	in->version = cluster ? METRO_FORMAT_V2 : METRO_FORMAT_V1;
	in->nr_slots = slots;
	if (cluster)
		strcpy(in->cluster_name, cluster);
	memset(in->vol_uuid, 0x5a, METRO_UUID_LEN);
	strcpy(in->name, "conv");
	in->leg = leg;
	in->flags = METRO_SB_F_CLEAN;
	in->region_sectors = REGION;
	in->data_offset = lay.data_offset;
	in->data_size = lay.data_size;
	in->bitmap_offset = lay.bitmap_offset;
	in->nr_regions = lay.nr_regions;
	in->events = 42;
	in->ctime = 1700000000;
	in->utime = 1700000100;
	in->opt_flags = METRO_SB_O_RECORDED;
	metro_table_opts_default(&in->opts);
	for (i = 0; i < 2; i++) {
		memset(in->legs[i].leg_uuid, 0x30 + i, METRO_UUID_LEN);
		in->legs[i].generation = 0xabcdef;
		in->legs[i].events = 42;
		in->legs[i].dev_sectors = dev;
		in->legs[i].state = METRO_LEG_F_ACTIVE;
	}
}

/*
 * Two legs formatted as create does, every byte of the metadata area
 * (and a stretch of the data area) first filled with @junk: what convert
 * must zero, and what it must leave alone.
 */
static void make_pair(struct leg legs[2], uint64_t dev, uint32_t slots, const char *cluster,
		      uint8_t junk)
{
	struct metro_sb_info in;
	struct metro_layout lay = { 0 };
	size_t area = (2048 + 64) * 512;
	uint8_t *b = malloc(area);
	int i;

	assert_non_null(b);
	memset(b, junk, area);
	assert_int_equal(metro_layout_for_device_slots(dev, REGION, slots, &lay), 0);
	for (i = 0; i < 2; i++) {
		file_leg(&legs[i], names[i], dev, NULL);
		assert_int_equal(pwrite(legs[i].fd, b, area, 0), (ssize_t)area);
		assert_int_equal(leg_write_bitmap(&legs[i], &lay, false), 0);
		create_info(&in, dev, slots, cluster, (unsigned int)i);
		assert_int_equal(leg_write_sb(&legs[i], &in), 0);
	}
	free(b);
}

static void close_pair(struct leg legs[2])
{
	close(legs[0].fd);
	close(legs[1].fd);
}

static void read_sb(struct leg *l, struct metro_sb_info *sb)
{
	assert_int_equal(leg_read_sb(l, sb, true), 0);
}

static void set_bit_at(struct leg *l, const struct metro_sb_info *sb, unsigned int slot,
		       uint64_t bit)
{
	off_t off = (off_t)(metro_slot_offset(sb, slot) * 512 + bit / 8);
	uint8_t byte;

	assert_int_equal(pread(l->fd, &byte, 1, off), 1);
	metro_bm_set(&byte, bit % 8);
	assert_int_equal(pwrite(l->fd, &byte, 1, off), 1);
}

/* The bits of slot @slot of @sb on @l, as a 128-bit set (NR <= 128). */
static void slot_bits(struct leg *l, const struct metro_sb_info *sb, unsigned int slot,
		      uint8_t out[16])
{
	assert_int_equal(pread(l->fd, out, 16, (off_t)(metro_slot_offset(sb, slot) * 512)), 16);
}

static void assert_bits(struct leg *l, const struct metro_sb_info *sb, unsigned int slot,
			const uint64_t *bits, size_t n)
{
	uint8_t got[16], want[16] = { 0 };
	size_t i;

	for (i = 0; i < n; i++)
		metro_bm_set(want, bits[i]);
	slot_bits(l, sb, slot, got);
	if (memcmp(got, want, sizeof(want))) {
		for (i = 0; i < 16; i++)
			print_message("# byte %zu: got %02x want %02x\n", i, got[i], want[i]);
		fail_msg("slot %u of %s", slot, l->path);
	}
}

/* Every byte of [@from, @to) sectors of @l is @v. */
static void assert_fill(struct leg *l, uint64_t from, uint64_t to, uint8_t v)
{
	size_t len = (size_t)((to - from) * 512), i;
	uint8_t *b = malloc(len);

	assert_non_null(b);
	assert_int_equal(pread(l->fd, b, len, (off_t)(from * 512)), (ssize_t)len);
	for (i = 0; i < len; i++)
		if (b[i] != v)
			fail_msg("%s: byte %llu is %02x, not %02x", l->path,
				 (unsigned long long)(from * 512 + i), b[i], v);
	free(b);
}

static struct convert_target target(uint32_t version, uint32_t slots, const char *name)
{
	struct convert_target t;

	memset(&t, 0, sizeof(t));
	t.version = version;
	t.nr_slots = slots;
	if (name)
		strcpy(t.cluster_name, name);
	return t;
}

/* stdout of the code under test, captured (the TAP lines go there too). */
static char out[16384];
static int saved_stdout = -1, cap_fd = -1;

static void capture(void)
{
	char path[] = "/tmp/metro-test-outXXXXXX";

	fflush(stdout);
	cap_fd = mkstemp(path);
	assert_true(cap_fd >= 0);
	unlink(path);
	saved_stdout = dup(1);
	dup2(cap_fd, 1);
	errs[0] = '\0';
}

static void release(void)
{
	ssize_t n;

	fflush(stdout);
	dup2(saved_stdout, 1);
	close(saved_stdout);
	n = pread(cap_fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(cap_fd);
}

static int convert(struct leg legs[2], const struct convert_target *t, bool dry)
{
	int r;

	capture();
	r = convert_pair(legs, t, dry);
	release();
	return r;
}

/* ---------------------------------------------------------------------- */
/* Version 1 -> 2 -> 1                                                    */
/* ---------------------------------------------------------------------- */

static void test_v1_to_v2(void **state)
{
	static const uint64_t bits_a[] = { 1, 5, 99 }, bits_b[] = { 5, 7 };
	struct convert_target t = target(METRO_FORMAT_V2, 3, "c1");
	struct metro_sb_info before, sb;
	struct leg legs[2];
	size_t i;

	(void)state;
	make_pair(legs, DEV, 1, NULL, 0xee);
	read_sb(&legs[0], &before);
	for (i = 0; i < ARRAY_SIZE(bits_a); i++)
		set_bit_at(&legs[0], &before, 0, bits_a[i]);
	for (i = 0; i < ARRAY_SIZE(bits_b); i++)
		set_bit_at(&legs[1], &before, 0, bits_b[i]);
	/* Slots 1 and 2 hold junk, as space version 1 never wrote. */
	assert_fill(&legs[0], 24, 40, 0xee);

	assert_int_equal(convert(legs, &t, false), EXIT_OK);
	assert_non_null(strstr(out, "converted volume 'conv' to format 2 (cluster c1, 3 bitmap slots)"));
	assert_non_null(strstr(out, "slot 0 kept, slots 1..2 (sectors 24..39, unused until now) zeroed"));
	for (i = 0; i < 2; i++) {
		read_sb(&legs[i], &sb);
		assert_int_equal(sb.version, METRO_FORMAT_V2);
		assert_int_equal(sb.nr_slots, 3);
		assert_string_equal(sb.cluster_name, "c1");
		assert_int_equal(sb.leg, i);
		/* Nothing else moves: geometry, identity, events, generation. */
		assert_int_equal(sb.data_offset, before.data_offset);
		assert_int_equal(sb.data_size, before.data_size);
		assert_int_equal(sb.nr_regions, before.nr_regions);
		assert_int_equal(sb.events, before.events);
		assert_memory_equal(sb.vol_uuid, before.vol_uuid, METRO_UUID_LEN);
		assert_memory_equal(sb.legs, before.legs, sizeof(sb.legs));
		assert_int_equal(metro_own_gen(&sb), 0xabcdef);
		assert_false(sb.flags & METRO_SB_F_CLEAN);
		/* Slots 1 and 2 zeroed; past them, and the data, untouched. */
		assert_bits(&legs[i], &sb, 1, NULL, 0);
		assert_bits(&legs[i], &sb, 2, NULL, 0);
		assert_fill(&legs[i], 24, 40, 0);
		assert_fill(&legs[i], 40, 2048, 0xee);
		assert_fill(&legs[i], 2048, 2048 + 64, 0xee);
	}
	/* Slot 0 is the version 1 bitmap, bit for bit. */
	assert_bits(&legs[0], &sb, 0, bits_a, ARRAY_SIZE(bits_a));
	assert_bits(&legs[1], &sb, 0, bits_b, ARRAY_SIZE(bits_b));
	close_pair(legs);
}

static void test_v2_to_v1_union(void **state)
{
	struct convert_target t = target(METRO_FORMAT_V1, 1, NULL);
	static const uint64_t want_a[] = { 1, 2, 50, 99 }, want_b[] = { 1, 3, 64 };
	struct metro_sb_disk raw;
	struct metro_sb_info sb, v2;
	struct leg legs[2];
	int i;

	(void)state;
	make_pair(legs, DEV, 3, "c1", 0);
	read_sb(&legs[0], &v2);
	/* Leg A: bits in every slot, one set in two of them. */
	set_bit_at(&legs[0], &v2, 0, 1);
	set_bit_at(&legs[0], &v2, 1, 2);
	set_bit_at(&legs[0], &v2, 1, 99);
	set_bit_at(&legs[0], &v2, 2, 50);
	set_bit_at(&legs[0], &v2, 2, 99);
	/* Leg B: its own bits (the target ORs the legs at activation). */
	set_bit_at(&legs[1], &v2, 0, 1);
	set_bit_at(&legs[1], &v2, 2, 3);
	set_bit_at(&legs[1], &v2, 2, 64);
	/* A padding bit past the last region is not a region: not merged. */
	set_bit_at(&legs[0], &v2, 2, NR + 3);

	assert_int_equal(convert(legs, &t, false), EXIT_OK);
	assert_non_null(strstr(out, "the bits of slots 1..2 OR-ed into slot 0"));
	assert_non_null(strstr(out, "convert sees only this host"));
	for (i = 0; i < 2; i++) {
		read_sb(&legs[i], &sb);
		assert_int_equal(sb.version, METRO_FORMAT_V1);
		assert_int_equal(sb.nr_slots, 1);
		assert_string_equal(sb.cluster_name, "");
		/* On disk: no slot count, no cluster name. */
		assert_int_equal(leg_read_raw_sb(&legs[i], &raw), 0);
		assert_int_equal(raw.nr_slots, 0);
		assert_int_equal(raw.cluster_name[0], 0);
		assert_int_equal(sb.data_offset, v2.data_offset);
		assert_int_equal(sb.events, v2.events);
	}
	assert_bits(&legs[0], &sb, 0, want_a, ARRAY_SIZE(want_a));
	assert_bits(&legs[1], &sb, 0, want_b, ARRAY_SIZE(want_b));
	assert_non_null(strstr(out, "leg A imgA: dirty regions 4"));
	assert_non_null(strstr(out, "leg B imgB: dirty regions 3"));
	close_pair(legs);
}

/* There and back: every bit where it was, the superblock as it was. */
static void test_round_trip(void **state)
{
	struct convert_target v2 = target(METRO_FORMAT_V2, 8, "metro.test-1"),
			      v1 = target(METRO_FORMAT_V1, 1, NULL);
	static const uint64_t bits[] = { 0, 63, 64, NR - 1 };
	struct metro_sb_info before, sb;
	struct leg legs[2];
	size_t i;

	(void)state;
	make_pair(legs, DEV, 1, NULL, 0);
	read_sb(&legs[1], &before);
	for (i = 0; i < ARRAY_SIZE(bits); i++)
		set_bit_at(&legs[1], &before, 0, bits[i]);
	assert_int_equal(convert(legs, &v2, false), EXIT_OK);
	/* Bits a cluster node set in its slot while the volume ran. */
	read_sb(&legs[1], &sb);
	set_bit_at(&legs[1], &sb, 7, 17);
	assert_int_equal(convert(legs, &v1, false), EXIT_OK);
	read_sb(&legs[1], &sb);
	{
		const uint64_t want[] = { 0, 17, 63, 64, NR - 1 };

		assert_bits(&legs[1], &sb, 0, want, ARRAY_SIZE(want));
	}
	sb.utime = before.utime;
	sb.flags = before.flags;	/* a clustered volume never records clean */
	assert_memory_equal(&sb, &before, sizeof(sb));
	close_pair(legs);
}

/* Fewer slots of a version 2 volume, and a new cluster name alone. */
static void test_v2_slots_and_name(void **state)
{
	struct convert_target t4 = target(METRO_FORMAT_V2, 4, "c1"),
			      t2 = target(METRO_FORMAT_V2, 2, "c2");
	static const uint64_t want0[] = { 9, 10 }, want1[] = { 11 };
	struct metro_sb_info sb;
	struct leg legs[2];

	(void)state;
	make_pair(legs, DEV, 3, "c1", 0xee);
	read_sb(&legs[0], &sb);
	assert_int_equal(convert(legs, &t4, false), EXIT_OK);
	assert_non_null(strstr(out, "slots 0..2 kept, slot 3 (sectors 40..47, unused until now) zeroed"));
	assert_fill(&legs[0], 40, 48, 0);
	assert_fill(&legs[0], 48, 2048, 0xee);
	read_sb(&legs[0], &sb);
	set_bit_at(&legs[0], &sb, 0, 9);
	set_bit_at(&legs[0], &sb, 1, 11);
	set_bit_at(&legs[0], &sb, 3, 10);
	assert_int_equal(convert(legs, &t2, false), EXIT_OK);
	read_sb(&legs[0], &sb);
	assert_int_equal(sb.nr_slots, 2);
	assert_string_equal(sb.cluster_name, "c2");
	assert_bits(&legs[0], &sb, 0, want0, ARRAY_SIZE(want0));
	assert_bits(&legs[0], &sb, 1, want1, ARRAY_SIZE(want1));
	/* The same again: nothing to do. */
	assert_int_equal(convert(legs, &t2, false), EXIT_OK);
	assert_non_null(strstr(out, "nothing to do"));
	close_pair(legs);
}

static void test_dry_run(void **state)
{
	struct convert_target t = target(METRO_FORMAT_V2, 2, "c1");
	size_t area = 2048 * 512;
	uint8_t *b0 = malloc(area), *b1 = malloc(area);
	struct leg legs[2];
	int i;

	(void)state;
	make_pair(legs, DEV, 1, NULL, 0xee);
	for (i = 0; i < 2; i++) {
		assert_int_equal(pread(legs[i].fd, b0, area, 0), (ssize_t)area);
		assert_int_equal(convert(legs, &t, true), EXIT_OK);
		assert_non_null(strstr(out, "would convert volume 'conv'"));
		assert_non_null(strstr(out, "dry run: nothing written"));
		assert_int_equal(pread(legs[i].fd, b1, area, 0), (ssize_t)area);
		assert_memory_equal(b0, b1, area);
	}
	free(b0);
	free(b1);
	close_pair(legs);
}

/* ---------------------------------------------------------------------- */
/* Refusals                                                               */
/* ---------------------------------------------------------------------- */

static void pair_info(struct metro_sb_info sb[2])
{
	create_info(&sb[0], DEV, 1, NULL, METRO_LEG_A);
	create_info(&sb[1], DEV, 1, NULL, METRO_LEG_B);
}

static void refused(const struct metro_sb_info sb[2], const struct convert_target *t,
		    const char *msg)
{
	char why[1024] = "";

	assert_int_equal(convert_check(sb, names, t, why, sizeof(why)), -EINVAL);
	if (!strstr(why, msg))
		fail_msg("\"%s\" does not say \"%s\"", why, msg);
}

static void test_check(void **state)
{
	struct convert_target t = target(METRO_FORMAT_V2, 2, "c1");
	struct metro_sb_info sb[2], sw[2];
	char why[1024];

	(void)state;
	pair_info(sb);
	assert_int_equal(convert_check(sb, names, &t, why, sizeof(why)), 0);
	/* Given B first: leg A is the second. */
	sw[0] = sb[1];
	sw[1] = sb[0];
	assert_int_equal(convert_check(sw, names, &t, why, sizeof(why)), 1);

	pair_info(sb);
	sb[1].vol_uuid[3] ^= 1;
	refused(sb, &t, "belong to different volumes");
	pair_info(sb);
	sb[1].leg = METRO_LEG_A;
	refused(sb, &t, "are both leg A");
	pair_info(sb);
	sb[1].region_sectors = 16;
	refused(sb, &t, "disagree on the geometry");
	pair_info(sb);
	sb[1].data_offset += 8;
	refused(sb, &t, "disagree on the geometry");
	pair_info(sb);
	sb[0].legs[1].leg_uuid[0] ^= 1;
	refused(sb, &t, "identity of leg B");
	pair_info(sb);
	sb[1].legs[1].generation = 0x77;
	refused(sb, &t, "generation 0000000000000077: one of them missed writes");
	pair_info(sb);
	sb[0].events++;
	refused(sb, &t, "were not written together");
	pair_info(sb);
	sb[0].legs[1].state |= METRO_LEG_F_STALE;
	refused(sb, &t, "leg B is stale (being resynced) according to the superblock of leg A (imgA): assemble the volume");
	pair_info(sb);
	sb[1].legs[0].state = METRO_LEG_F_FAILED;
	refused(sb, &t, "leg A is detached (failed) according to the superblock of leg B (imgB)");
	pair_info(sb);
	sb[1].legs[1].state = 0;
	refused(sb, &t, "leg B is not active");
	/* Targets convert never writes. */
	pair_info(sb);
	refused(sb, &(struct convert_target){ .version = 3, .nr_slots = 1 }, "invalid target");
	refused(sb, &(struct convert_target){ .version = 2, .nr_slots = 9, .cluster_name = "x" },
		"invalid target");
	refused(sb, &(struct convert_target){ .version = 2, .nr_slots = 2, .cluster_name = "a b" },
		"invalid target");
	refused(sb, &(struct convert_target){ .version = 1, .nr_slots = 2 }, "invalid target");

	/* Legs in different formats (a conversion cut short) are a pair. */
	pair_info(sb);
	sb[1].version = METRO_FORMAT_V2;
	sb[1].nr_slots = 2;
	strcpy(sb[1].cluster_name, "c1");
	assert_int_equal(convert_check(sb, names, &t, why, sizeof(why)), 0);
	assert_int_equal(convert_check(sb, names, &(struct convert_target){ .version = 1, .nr_slots = 1 },
				       why, sizeof(why)), 0);
	assert_false(convert_in_format(&sb[0], &t));
	assert_true(convert_in_format(&sb[1], &t));
}

/*
 * No room for the slots below the data offset: 2^20 regions of 4 KiB,
 * 256 sectors of bitmap a slot, data at sector 2048: 7 slots fit.
 */
static void test_no_room(void **state)
{
	uint64_t dev = 2048 + (1ULL << 23);
	struct convert_target t8 = target(METRO_FORMAT_V2, 8, "c1"), t7 = target(METRO_FORMAT_V2, 7, "c1");
	struct metro_sb_info sb[2];
	struct leg legs[2];

	(void)state;
	create_info(&sb[0], dev, 1, NULL, METRO_LEG_A);
	create_info(&sb[1], dev, 1, NULL, METRO_LEG_B);
	assert_int_equal(sb[0].nr_regions, 1ULL << 20);
	assert_int_equal(sb[0].data_offset, 2048);
	assert_int_equal(convert_slots_fit(&sb[0]), 7);
	refused(sb, &t8, "room for 7 bitmap slots between sector 16 and its data offset (sector 2048), not 8: the data offset cannot move; use --nodes 7 or fewer");

	/* The same on the legs: nothing written, then 7 slots do fit. */
	make_pair(legs, dev, 1, NULL, 0);
	assert_int_equal(convert(legs, &t8, false), EXIT_ERR);
	assert_non_null(strstr(errs, "use --nodes 7 or fewer"));
	read_sb(&legs[0], &sb[0]);
	assert_int_equal(sb[0].version, METRO_FORMAT_V1);
	assert_int_equal(convert(legs, &t7, false), EXIT_OK);
	read_sb(&legs[1], &sb[1]);
	assert_int_equal(sb[1].nr_slots, 7);
	assert_int_equal(sb[1].data_offset, 2048);
	assert_true(metro_slot_offset(&sb[1], 7) <= sb[1].data_offset);
	close_pair(legs);

	/* A bitmap that fills the space to the data offset: one slot only. */
	create_info(&sb[0], 2048 + 8323072ULL * 8, 1, NULL, METRO_LEG_A);
	create_info(&sb[1], 2048 + 8323072ULL * 8, 1, NULL, METRO_LEG_B);
	assert_int_equal(sb[0].data_offset, 2048);
	assert_int_equal(convert_slots_fit(&sb[0]), 1);
	t8 = target(METRO_FORMAT_V2, 2, "c1");
	refused(sb, &t8, "cannot be clustered in place");
}

static void test_mismatched_uuid_writes_nothing(void **state)
{
	struct convert_target t = target(METRO_FORMAT_V2, 2, "c1");
	struct metro_sb_info sb;
	struct leg legs[2];

	(void)state;
	make_pair(legs, DEV, 1, NULL, 0xee);
	read_sb(&legs[1], &sb);
	sb.vol_uuid[0] ^= 0xff;
	assert_int_equal(leg_write_sb(&legs[1], &sb), 0);
	assert_int_equal(convert(legs, &t, false), EXIT_ERR);
	assert_non_null(strstr(errs, "imgA and imgB belong to different volumes"));
	assert_fill(&legs[0], 24, 2048, 0xee);
	assert_fill(&legs[1], 24, 2048, 0xee);
	read_sb(&legs[0], &sb);
	assert_int_equal(sb.version, METRO_FORMAT_V1);
	close_pair(legs);
}

/* ---------------------------------------------------------------------- */
/* Cut short                                                              */
/* ---------------------------------------------------------------------- */

/*
 * A crash between the two superblock writes: leg A converted, leg B still
 * version 1 (its new slots already zeroed).  Both decode; convert finishes
 * the job, or undoes it.
 */
static void test_half_converted(void **state)
{
	struct convert_target v2 = target(METRO_FORMAT_V2, 2, "c1"), v1 = target(METRO_FORMAT_V1, 1, NULL);
	static const uint64_t bits_b[] = { 33 };
	struct metro_sb_disk old_b;
	struct metro_sb_info sb;
	struct leg legs[2];

	(void)state;
	make_pair(legs, DEV, 1, NULL, 0xee);
	read_sb(&legs[1], &sb);
	set_bit_at(&legs[1], &sb, 0, 33);
	assert_int_equal(leg_read_raw_sb(&legs[1], &old_b), 0);
	assert_int_equal(convert(legs, &v2, false), EXIT_OK);
	assert_int_equal(pwrite(legs[1].fd, &old_b, sizeof(old_b), 4096), (ssize_t)sizeof(old_b));
	read_sb(&legs[0], &sb);
	assert_int_equal(sb.version, METRO_FORMAT_V2);
	read_sb(&legs[1], &sb);
	assert_int_equal(sb.version, METRO_FORMAT_V1);

	/* Run again: leg A is left alone, leg B converted. */
	assert_int_equal(convert(legs, &v2, false), EXIT_OK);
	assert_non_null(strstr(out, "leg A imgA: already in format 2 (cluster c1, 2 bitmap slots), left as it is"));
	assert_non_null(strstr(out, "leg B imgB: from format 1 (single host)"));
	assert_non_null(strstr(out, "\n  leg A imgA: dirty regions 0 0 (slots 0..1), 0 in all\n"
			       "  leg B imgB: dirty regions 1 0 (slots 0..1), 1 in all\n"));
	read_sb(&legs[1], &sb);
	assert_int_equal(sb.version, METRO_FORMAT_V2);
	assert_bits(&legs[1], &sb, 0, bits_b, 1);

	/* Cut short the other way, and gone back. */
	assert_int_equal(pwrite(legs[1].fd, &old_b, sizeof(old_b), 4096), (ssize_t)sizeof(old_b));
	assert_int_equal(convert(legs, &v1, false), EXIT_OK);
	assert_non_null(strstr(out, "leg B imgB: already in format 1 (single host), left as it is"));
	read_sb(&legs[0], &sb);
	assert_int_equal(sb.version, METRO_FORMAT_V1);
	read_sb(&legs[1], &sb);
	assert_bits(&legs[1], &sb, 0, bits_b, 1);
	close_pair(legs);
}

/*
 * Leg B's writes fail after leg A's superblock was written (version 2 ->
 * 1 with nothing to merge on leg B: its first write is its superblock).
 */
static void test_second_leg_fails(void **state)
{
	struct convert_target v1 = target(METRO_FORMAT_V1, 1, NULL);
	struct metro_sb_info sb;
	struct leg legs[2];
	int ro, rw;

	(void)state;
	make_pair(legs, DEV, 2, "c1", 0);
	close(legs[1].fd);
	file_leg(&legs[1], names[1], DEV, &ro);
	{
		/* The same pair, leg B on a file of its own with a read-only fd. */
		struct metro_sb_info in;
		struct metro_layout lay = { 0 };

		assert_int_equal(metro_layout_for_device_slots(DEV, REGION, 2, &lay), 0);
		assert_int_equal(leg_write_bitmap(&legs[1], &lay, false), 0);
		create_info(&in, DEV, 2, "c1", METRO_LEG_B);
		assert_int_equal(leg_write_sb(&legs[1], &in), 0);
	}
	read_sb(&legs[0], &sb);
	set_bit_at(&legs[0], &sb, 1, 8);
	rw = legs[1].fd;
	legs[1].fd = ro;
	assert_int_equal(convert(legs, &v1, false), EXIT_ERR);
	assert_non_null(strstr(errs, "cannot write the superblock of imgB"));
	assert_non_null(strstr(errs, "leg A (imgA): converted, format 1 (single host)"));
	assert_non_null(strstr(errs, "leg B (imgB): not converted, still format 2 (cluster c1, 2 bitmap slots)"));
	assert_non_null(strstr(errs, "run 'metroctl convert imgA imgB --single-host' again to finish"));
	assert_non_null(strstr(errs, "'metroctl convert imgA imgB --cluster c1 --nodes 2' to go back"));

	/* Leg B writable again: the same command finishes. */
	legs[1].fd = rw;
	close(ro);
	assert_int_equal(convert(legs, &v1, false), EXIT_OK);
	read_sb(&legs[1], &sb);
	assert_int_equal(sb.version, METRO_FORMAT_V1);
	read_sb(&legs[0], &sb);
	{
		const uint64_t want[] = { 8 };

		assert_bits(&legs[0], &sb, 0, want, 1);
	}
	close_pair(legs);
}

/* Leg B fails in step 1 (its new slots): no superblock written at all. */
static void test_bitmap_write_fails(void **state)
{
	struct convert_target v2 = target(METRO_FORMAT_V2, 2, "c1");
	struct metro_sb_info in, sb;
	struct leg legs[2];
	int ro, rw, i;

	(void)state;
	make_pair(legs, DEV, 1, NULL, 0xee);
	close(legs[1].fd);
	file_leg(&legs[1], names[1], DEV, &ro);
	assert_int_equal(leg_write_bitmap(&legs[1], &(struct metro_layout){
		.nr_regions = NR, .bitmap_offset = 16, .bitmap_bytes = 4096, .nr_slots = 1 }, false), 0);
	create_info(&in, DEV, 1, NULL, METRO_LEG_B);
	assert_int_equal(leg_write_sb(&legs[1], &in), 0);
	rw = legs[1].fd;
	legs[1].fd = ro;
	assert_int_equal(convert(legs, &v2, false), EXIT_ERR);
	assert_non_null(strstr(errs, "nothing was converted: the volume can be assembled as before"));
	for (i = 0; i < 2; i++) {
		read_sb(&legs[i], &sb);
		assert_int_equal(sb.version, METRO_FORMAT_V1);
	}
	legs[1].fd = rw;
	close(ro);
	close_pair(legs);
}

/* ---------------------------------------------------------------------- */
/* examine                                                                */
/* ---------------------------------------------------------------------- */

static void test_count_slots(void **state)
{
	uint64_t c[METRO_MAX_SLOTS], u, d;
	struct metro_sb_info sb;
	struct leg legs[2];

	(void)state;
	make_pair(legs, DEV, 3, "c1", 0);
	read_sb(&legs[0], &sb);
	set_bit_at(&legs[0], &sb, 0, 4);
	set_bit_at(&legs[0], &sb, 1, 4);
	set_bit_at(&legs[0], &sb, 1, 5);
	set_bit_at(&legs[0], &sb, 2, NR - 1);
	set_bit_at(&legs[0], &sb, 2, NR);	/* padding: not a region */
	assert_int_equal(leg_count_dirty_slots(&legs[0], &sb, c, &u), 0);
	assert_int_equal(c[0], 1);
	assert_int_equal(c[1], 2);
	assert_int_equal(c[2], 1);
	assert_int_equal(u, 3);
	close_pair(legs);

	/* Version 1: the same count as leg_count_dirty(), padding left out. */
	make_pair(legs, DEV, 1, NULL, 0);
	read_sb(&legs[1], &sb);
	set_bit_at(&legs[1], &sb, 0, 0);
	set_bit_at(&legs[1], &sb, 0, NR - 1);
	set_bit_at(&legs[1], &sb, 0, NR + 2);
	assert_int_equal(leg_count_dirty_slots(&legs[1], &sb, c, &u), 0);
	assert_int_equal(leg_count_dirty(&legs[1], &sb, &d), 0);
	assert_int_equal(u, 2);
	assert_int_equal(c[0], 2);
	assert_int_equal(d, 2);
	close_pair(legs);
}

/* More than one 1 MiB chunk a slot: the merge and the counts go chunk by chunk. */
static void test_large_bitmaps(void **state)
{
	uint64_t nr = 12582912 + 5, data = nr * REGION, c[METRO_MAX_SLOTS], u, d;
	struct convert_target v1 = target(METRO_FORMAT_V1, 1, NULL);
	struct metro_sb_info sb;
	struct metro_layout l;
	struct leg legs[2];
	uint8_t byte;

	(void)state;
	assert_int_equal(metro_layout_compute_slots(data, REGION, 2, &l), 0);
	make_pair(legs, l.data_offset + data, 2, "big", 0);
	read_sb(&legs[0], &sb);
	assert_int_equal(sb.nr_regions, nr);
	set_bit_at(&legs[0], &sb, 0, 3);
	set_bit_at(&legs[0], &sb, 1, 9000000);
	set_bit_at(&legs[0], &sb, 1, nr - 1);
	set_bit_at(&legs[0], &sb, 1, nr);	/* padding */
	assert_int_equal(leg_count_dirty_slots(&legs[0], &sb, c, &u), 0);
	assert_int_equal(c[0], 1);
	assert_int_equal(c[1], 2);
	assert_int_equal(u, 3);
	assert_int_equal(convert(legs, &v1, false), EXIT_OK);
	read_sb(&legs[0], &sb);
	assert_int_equal(leg_count_dirty(&legs[0], &sb, &d), 0);
	assert_int_equal(d, 3);
	assert_int_equal(pread(legs[0].fd, &byte, 1, (off_t)(16 * 512 + 9000000 / 8)), 1);
	assert_true(metro_bm_test(&byte, 9000000 % 8));
	assert_int_equal(pread(legs[0].fd, &byte, 1, (off_t)(16 * 512 + nr / 8)), 1);
	assert_int_equal(byte, 1U << ((nr - 1) % 8));	/* no padding bit merged */
	close_pair(legs);
}

static void test_examine_v2(void **state)
{
	struct examine_counts c = { 0 };
	struct metro_sb_info sb;
	struct json_object *o, *cl, *slots, *v;
	struct leg legs[2];

	(void)state;
	make_pair(legs, DEV, 3, "prod-1", 0);
	read_sb(&legs[1], &sb);
	set_bit_at(&legs[1], &sb, 0, 1);
	set_bit_at(&legs[1], &sb, 2, 1);
	set_bit_at(&legs[1], &sb, 2, 2);
	assert_int_equal(leg_count_dirty_slots(&legs[1], &sb, c.slot, &c.dirty), 0);

	capture();
	examine_text("imgB", &sb, &c);
	release();
	assert_non_null(strstr(out, "\n       version: 2\n       cluster: prod-1\n  bitmap slots: 3\n"));
	assert_non_null(strstr(out, "\n dirty regions: 2 (bits set in any slot's bitmap)\n"
			       "  slot 0 dirty: 1 (bitmap at sector 16)\n"
			       "  slot 1 dirty: 0 (bitmap at sector 24)\n"
			       "  slot 2 dirty: 2 (bitmap at sector 32)\n        events: 42\n"));

	o = examine_json("imgB", &sb, &c);
	assert_true(json_object_object_get_ex(o, "dirty_regions", &v));
	assert_int_equal(json_object_get_uint64(v), 2);
	assert_true(json_object_object_get_ex(o, "cluster", &cl));
	assert_true(json_object_object_get_ex(cl, "name", &v));
	assert_string_equal(json_object_get_string(v), "prod-1");
	assert_true(json_object_object_get_ex(cl, "nr_slots", &v));
	assert_int_equal(json_object_get_int(v), 3);
	assert_true(json_object_object_get_ex(cl, "slots", &slots));
	assert_int_equal(json_object_array_length(slots), 3);
	assert_string_equal(json_object_to_json_string_ext(json_object_array_get_idx(slots, 2),
							   JSON_C_TO_STRING_PLAIN),
			    "{\"slot\":2,\"bitmap_offset_sectors\":32,\"dirty_regions\":2}");
	json_object_put(o);
	close_pair(legs);
}

/* Version 1: examine prints what it printed before version 2 existed. */
static void test_examine_v1_unchanged(void **state)
{
	static const char *const keys[] = {
		"device", "uuid", "name", "leg", "version", "flags", "region_size_sectors",
		"bitmap_offset_sectors", "data_offset_sectors", "data_size_sectors", "nr_regions",
		"events", "ctime", "utime", "gen_history", "dirty_regions", "table_options", "legs",
	};
	struct examine_counts c = { 0 };
	struct metro_sb_info sb;
	struct leg legs[2];
	size_t i = 0;

	(void)state;
	make_pair(legs, DEV, 1, NULL, 0);
	read_sb(&legs[0], &sb);
	set_bit_at(&legs[0], &sb, 0, 7);
	assert_int_equal(leg_count_dirty_slots(&legs[0], &sb, c.slot, &c.dirty), 0);
	capture();
	examine_text("imgA", &sb, &c);
	release();
	assert_string_equal(out,
		"imgA:\n"
		"          uuid: 5a5a5a5a-5a5a-5a5a-5a5a-5a5a5a5a5a5a\n"
		"          name: conv\n"
		"           leg: A\n"
		"       version: 1\n"
		"         flags: clean\n"
		"   region size: 8 sectors (4 KiB)\n"
		" bitmap offset: 16 sectors\n"
		"   data offset: 2048 sectors\n"
		"     data size: 800 sectors (400 KiB)\n"
		"       regions: 100\n"
		" dirty regions: 1 (bits set in the bitmap)\n"
		"        events: 42\n"
		"       created: 2023-11-14 22:13:20 UTC\n"
		"       updated: 2023-11-14 22:15:00 UTC\n"
		" table options: io_deadline 5000 ms, write_mostly none, read_mode auto, failfast none, resync_rate unbounded, clear_delay 5000 ms\n"
		"   gen history: 0000000000000000 0000000000000000 0000000000000000 0000000000000000\n"
		"  leg A record (this leg):\n"
		"      leg uuid: 30303030-3030-3030-3030-303030303030\n"
		"    generation: 0000000000abcdef\n"
		"        events: 42\n"
		"   device size: 2848 sectors\n"
		"         state: active\n"
		"  leg B record:\n"
		"      leg uuid: 31313131-3131-3131-3131-313131313131\n"
		"    generation: 0000000000abcdef\n"
		"        events: 42\n"
		"   device size: 2848 sectors\n"
		"         state: active\n");
	{
		struct json_object *o = examine_json("imgA", &sb, &c);

		json_object_object_foreach(o, k, v) {
			(void)v;
			assert_true(i < ARRAY_SIZE(keys));
			assert_string_equal(k, keys[i]);
			i++;
		}
		assert_int_equal(i, ARRAY_SIZE(keys));
		json_object_put(o);
	}
	close_pair(legs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_to_v2),
		cmocka_unit_test(test_v2_to_v1_union),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_v2_slots_and_name),
		cmocka_unit_test(test_dry_run),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_no_room),
		cmocka_unit_test(test_mismatched_uuid_writes_nothing),
		cmocka_unit_test(test_half_converted),
		cmocka_unit_test(test_second_leg_fails),
		cmocka_unit_test(test_bitmap_write_fails),
		cmocka_unit_test(test_count_slots),
		cmocka_unit_test(test_large_bitmaps),
		cmocka_unit_test(test_examine_v2),
		cmocka_unit_test(test_examine_v1_unchanged),
	};

	return cmocka_run_group_tests_name("convert", tests, NULL, NULL);
}
