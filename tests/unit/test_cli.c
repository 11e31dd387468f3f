// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for metroctl's pure helpers (size parsing, name validation,
 * status line parsing, formatting) and for the command-line rejection
 * paths of the real binary ($METROCTL), which need no block device.
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
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "metroctl.h"

/* ---------------------------------------------------------------------- */
/* parse_size                                                             */
/* ---------------------------------------------------------------------- */

static const struct {
	const char *s;
	uint64_t bytes;
} good_sizes[] = {
	{ "0", 0 }, { "4", 4 }, { "4096", 4096 }, { "4B", 4 }, { "4b", 4 },
	{ "4K", 4096 }, { "4k", 4096 }, { "4KiB", 4096 }, { "4KB", 4096 },
	{ "4kib", 4096 }, { "1M", 1 << 20 }, { "1MiB", 1 << 20 }, { "4M", 4 << 20 },
	{ "1G", 1ULL << 30 }, { "1GiB", 1ULL << 30 }, { "2T", 2ULL << 40 },
	{ "8s", 4096 }, { "8S", 4096 }, { "2097152s", 1ULL << 30 },
	{ "18446744073709551615", UINT64_MAX },
	{ "16777215T", 16777215ULL << 40 },
	{ "007K", 7 << 10 },
};

static const char *const bad_sizes[] = {
	"", "K", "s", "-1", "+1", " 4", "4 ", "1.5M", "1,5M", "4X", "4KK", "4Ki",
	"4iB", "4KiBs", "4sK", "4ss", "0x10", "4e3", "4BB", "4KBi", "M4", "4 K",
};

static const char *const range_sizes[] = {
	"18446744073709551616", "99999999999999999999T", "99999999999999999999",
	"16777216T", "17179869184G", "36028797018963968s",
};

static void test_parse_size_good(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good_sizes); i++) {
		uint64_t v = 0xdeadbeef;

		if (parse_size(good_sizes[i].s, &v) != 0 || v != good_sizes[i].bytes)
			print_message("# parse_size(\"%s\")\n", good_sizes[i].s);
		assert_int_equal(parse_size(good_sizes[i].s, &v), 0);
		assert_int_equal(v, good_sizes[i].bytes);
	}
}

static void test_parse_size_bad(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
		uint64_t v = 0xdeadbeef;

		assert_int_equal(parse_size(bad_sizes[i], &v), -EINVAL);
		assert_int_equal(v, 0xdeadbeef);	/* untouched */
	}
	assert_int_equal(parse_size(NULL, &(uint64_t){ 0 }), -EINVAL);
}

static void test_parse_size_overflow(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(range_sizes); i++) {
		uint64_t v = 0xdeadbeef;

		assert_int_equal(parse_size(range_sizes[i], &v), -ERANGE);
		assert_int_equal(v, 0xdeadbeef);
	}
}

/* ---------------------------------------------------------------------- */
/* validate_name                                                          */
/* ---------------------------------------------------------------------- */

static void test_name_good(void **state)
{
	static const char *const good[] = {
		"a", "vol0", "metro.db-1", "A_B+c:d@e=f", "0",
		"123456789012345678901234567890123456789012345678901234567890123",
	};
	const char *why = "unset";
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		assert_int_equal(validate_name(good[i], &why), 0);
		assert_null(why);
	}
}

static void test_name_bad(void **state)
{
	static const char *const bad[] = {
		"", "a/b", "/", "..", ".", "-vol", "a b", "a\tb", "a\nb", "caf\xc3\xa9",
		"a\x7f", "a'b", "a\"b", "a$b", "a;b", "a*b", "a\\b", "a|b",
		"1234567890123456789012345678901234567890123456789012345678901234",
	};
	const char *why;
	size_t i;

	(void)state;
	assert_int_equal(validate_name(NULL, &why), -EINVAL);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		why = NULL;
		assert_int_equal(validate_name(bad[i], &why), -EINVAL);
		assert_non_null(why);
	}
}

/* Every name metroctl accepts, the superblock decoder accepts too. */
static void test_name_accepted_by_decoder(void **state)
{
	struct metro_sb_disk sb;
	struct metro_sb_info in, out;
	struct metro_layout l;
	const char *why, *err;
	char name[2] = "x";
	int c;

	(void)state;
	memset(&in, 0, sizeof(in));
	assert_int_equal(metro_layout_for_device(1 << 20, 8192, &l), 0);
	in.region_sectors = 8192;
	in.data_offset = l.data_offset;
	in.data_size = l.data_size;
	in.nr_regions = l.nr_regions;
	in.bitmap_offset = l.bitmap_offset;
	in.legs[0].generation = 1;
	for (c = 1; c < 256; c++) {
		name[0] = (char)c;
		if (validate_name(name, &why))
			continue;
		strcpy(in.name, name);
		metro_sb_encode(&in, &sb);
		assert_int_equal(metro_sb_decode(&sb, 1 << 20, &out, &err), 0);
	}
}

/* ---------------------------------------------------------------------- */
/* Status line                                                            */
/* ---------------------------------------------------------------------- */

static void test_status_parse_good(void **state)
{
	struct metro_status st;
	const char *why = "unset";

	(void)state;
	assert_int_equal(parse_status_line("2 7:0 259:3 Aa 12/16 resync 4 8192 33 100 0",
					   &st, &why), 0);
	assert_null(why);
	assert_int_equal(st.nr_legs, 2);
	assert_int_equal(st.dev[0], makedev(7, 0));
	assert_int_equal(st.dev[1], makedev(259, 3));
	assert_int_equal(st.health[0], 'A');
	assert_int_equal(st.health[1], 'a');
	assert_int_equal(st.in_sync, 12);
	assert_int_equal(st.total, 16);
	assert_string_equal(st.sync_action, "resync");
	assert_int_equal(st.dirty, 4);
	assert_int_equal(st.region_sectors, 8192);
	assert_int_equal(st.md_writes, 33);
	assert_int_equal(st.reads[0], 100);
	assert_int_equal(st.reads[1], 0);
	assert_int_equal(st.eta, -1);	/* a 1.0 module prints no ETA */
	assert_false(st.late_known);	/* nor late I/Os */
	assert_false(st.absent[0]);
	assert_false(st.absent[1]);
	/* Extra trailing fields (appended by newer modules) are ignored. */
	assert_int_equal(parse_status_line("2 7:0 7:1 DA 0/1 idle 0 8 0 5 18446744073709551615 - 0 0 y 9",
					   &st, &why), 0);
	assert_int_equal(st.reads[1], UINT64_MAX);
	assert_int_equal(st.health[0], 'D');
	assert_int_equal(st.eta, -1);
	assert_true(st.late_known);
	assert_false(st.clustered);
	/* A clustered volume (1.8): slot, owned regions, state; then suspended. */
	assert_int_equal(parse_status_line("2 7:0 7:1 AA 1/1 idle 0 8 0 5 0 0 0 0 cluster 1 42 held extra",
					   &st, &why), 0);
	assert_true(st.clustered);
	assert_int_equal(st.slot, 1);
	assert_int_equal(st.owned, 42);
	assert_string_equal(st.cluster_state, "held");
	assert_int_equal(parse_status_line("2 7:0 7:1 AA 1/1 idle 0 8 0 5 0 0 0 0 cluster - - -",
					   &st, &why), 0);
	assert_int_equal(st.slot, -1);
	assert_int_equal(st.owned, -1);
	assert_int_equal(parse_status_line("2 7:0 7:1 AA 1/1 idle 0 8 0 5 0 0 0 0 cluster 1 42",
					   &st, &why), -EINVAL);
	assert_int_equal(parse_status_line("2 7:0 7:1 AA 1/1 idle 0 8 0 5 0 0 0 0 cluster 8 0 running",
					   &st, &why), -EINVAL);
	assert_int_equal(parse_status_line("2 7:0 7:1 AA 1/1 idle 0 8 0 5 0 0 0 0 cluster x 0 running",
					   &st, &why), -EINVAL);
	/* A degraded activation: leg A absent; an ETA. */
	assert_int_equal(parse_status_line("2 - 7:1 DA 3/4 degraded 1 8 0 0 6 120",
					   &st, &why), 0);
	assert_true(st.absent[0]);
	assert_false(st.absent[1]);
	assert_int_equal(st.dev[0], 0);
	assert_int_equal(st.dev[1], makedev(7, 1));
	assert_string_equal(st.sync_action, "degraded");
	assert_int_equal(st.eta, 120);
	assert_false(st.late_known);	/* a 1.1 to 1.6 module: 12 fields */
	assert_int_equal(st.late[0], 0);
	assert_int_equal(st.late[1], 0);
}

/* Target 1.7: <late_a> <late_b> after <eta>. */
static void test_status_parse_late(void **state)
{
	struct metro_status st;
	const char *why = "unset";

	(void)state;
	assert_int_equal(parse_status_line("2 7:0 43:16 AD 30/32 degraded 2 8192 9 100 40 - 0 12",
					   &st, &why), 0);
	assert_null(why);
	assert_true(st.late_known);
	assert_int_equal(st.late[0], 0);
	assert_int_equal(st.late[1], 12);
	assert_int_equal(st.eta, -1);
	assert_int_equal(st.reads[1], 40);
	assert_int_equal(st.dev[1], makedev(43, 16));
	/* With an ETA, both legs holding some, and the limits. */
	assert_int_equal(parse_status_line("2 7:0 7:1 Aa 1/2 resync 1 8 0 0 0 75 3 18446744073709551615",
					   &st, &why), 0);
	assert_int_equal(st.eta, 75);
	assert_int_equal(st.late[0], 3);
	assert_int_equal(st.late[1], UINT64_MAX);
	/* A degraded volume: the absent leg holds none. */
	assert_int_equal(parse_status_line("2 - 7:1 DA 3/4 degraded 1 8 0 0 6 - 0 0",
					   &st, &why), 0);
	assert_true(st.late_known);
	assert_int_equal(st.late[0] + st.late[1], 0);
}

/* Target 1.10: "check <state> <pos>/<total> <mismatches> <eta> <regions>". */
static void test_status_parse_check(void **state)
{
	static const char *const bad[] = {
		"2 7:0 7:1 AA 9/9 check 0 8 0 0 0 0 0 0 check check 3/9 0",	/* truncated */
		"2 7:0 7:1 AA 9/9 idle 0 8 0 0 0 0 0 0 check done 10/9 0 0 -",	/* past the end */
		"2 7:0 7:1 AA 9/9 idle 0 8 0 0 0 0 0 0 check done 9 0 0 -",
		"2 7:0 7:1 AA 9/9 idle 0 8 0 0 0 0 0 0 check done 9/9 x 0 -",
		"2 7:0 7:1 AA 9/9 idle 0 8 0 0 0 0 0 0 check done 9/9 1 x 3",
		"2 7:0 7:1 AA 9/9 idle 0 8 0 0 0 0 0 0 check done 9/9 1 0 3,",
		"2 7:0 7:1 AA 9/9 idle 0 8 0 0 0 0 0 0 check done 9/9 1 0 ,3",
		"2 7:0 7:1 AA 9/9 idle 0 8 0 0 0 0 0 0 check done 9/9 1 0 3,4",	/* listed > counted */
		"2 7:0 7:1 AA 9/9 idle 0 8 0 0 0 0 0 0 check done 9/9 9 0 0,1,2,3,4,5,6,7,8",
		"2 7:0 7:1 AA 9/9 idle 0 8 0 0 0 0 0 0 check abcdefghijklmnopq 9/9 0 0 -",
	};
	struct metro_status st;
	const char *why = "unset";
	unsigned int i;

	(void)state;
	/* Older targets: no check field. */
	assert_int_equal(parse_status_line("2 7:0 7:1 AA 1/1 idle 0 8 0 5 0 0 0 0", &st, &why), 0);
	assert_false(st.check_known);
	assert_int_equal(parse_status_line("2 7:0 7:1 AA 9/9 check 0 8 0 0 0 0 0 0 check check 3/9 0 12 -",
					   &st, &why), 0);
	assert_null(why);
	assert_true(st.check_known);
	assert_string_equal(st.check_state, "check");
	assert_int_equal(st.check_pos, 3);
	assert_int_equal(st.check_total, 9);
	assert_int_equal(st.check_mismatches, 0);
	assert_int_equal(st.check_eta, 12);
	assert_int_equal(st.check_nr_list, 0);
	/* More mismatches than listed; unknown ETA; trailing fields ignored. */
	assert_int_equal(parse_status_line("2 7:0 7:1 AA 9/9 idle 0 8 0 0 0 0 0 0 check failed 7/9 12 - 1,5,6 more",
					   &st, &why), 0);
	assert_string_equal(st.check_state, "failed");
	assert_int_equal(st.check_mismatches, 12);
	assert_int_equal(st.check_eta, -1);
	assert_int_equal(st.check_nr_list, 3);
	assert_int_equal(st.check_list[0], 1);
	assert_int_equal(st.check_list[2], 6);
	/* After the cluster fields of a clustered volume. */
	assert_int_equal(parse_status_line("2 7:0 7:1 AA 9/9 idle 0 8 0 0 0 0 0 0 cluster 1 4 running check idle 0/9 0 - -",
					   &st, &why), 0);
	assert_true(st.clustered);
	assert_true(st.check_known);
	assert_string_equal(st.check_state, "idle");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(parse_status_line(bad[i], &st, &why), -EINVAL);
		assert_non_null(why);
	}
}

/* convert drops a recorded check when it makes a volume clustered. */
static void test_convert_drops_check(void **state)
{
	struct convert_target v2 = { .version = METRO_FORMAT_V2, .nr_slots = 2 }, v1 = {
		.version = METRO_FORMAT_V1, .nr_slots = 1 };
	struct metro_sb_info in, out;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.version = METRO_FORMAT_V1;
	in.nr_slots = 1;
	in.nr_regions = 100;
	in.check_flags = METRO_SB_C_RUNNING | METRO_SB_C_REPAIR;
	in.check_pos = 42;
	strcpy(v2.cluster_name, "c1");
	convert_sb(&in, &v2, 1, &out);
	assert_int_equal(out.check_flags, 0);
	assert_int_equal(out.check_pos, 0);
	convert_sb(&in, &v1, 1, &out);
	assert_int_equal(out.check_flags, in.check_flags);
	assert_int_equal(out.check_pos, 42);
}

static void test_status_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"2 7:0 7:1 AA 16/16 idle 0 8192 1 2",		/* 10 fields */
		"2",
		"3 7:0 7:1 AA 16/16 idle 0 8192 1 2 3",		/* leg count */
		"2 7-0 7:1 AA 16/16 idle 0 8192 1 2 3",
		"2 7:0 7: AA 16/16 idle 0 8192 1 2 3",
		"2 7:0 7:1 AX 16/16 idle 0 8192 1 2 3",
		"2 7:0 7:1 AAA 16/16 idle 0 8192 1 2 3",
		"2 7:0 7:1 AA 16 idle 0 8192 1 2 3",
		"2 7:0 7:1 AA 17/16 idle 0 8192 1 2 3",		/* in_sync > total */
		"2 7:0 7:1 AA 16/16 idle -1 8192 1 2 3",
		"2 7:0 7:1 AA 16/16 idle 0 8192 1 2 3x",
		"2 7:0 7:1 AA 16/16 idle 0 8192 1 2 99999999999999999999",
		"2 - - DD 16/16 idle 0 8192 1 2 3",		/* both absent */
		"2 -- 7:1 DA 16/16 idle 0 8192 1 2 3",
		"2 0:0 7:1 DA 16/16 idle 0 8192 1 2 3",		/* 0:0 is no device */
		"2 7:0 7:1 AA 16/16 idle 0 8192 1 2 3 x",	/* ETA */
		"2 7:0 7:1 AA 16/16 idle 0 8192 1 2 3 -5",
		"2 7:0 7:1 AA 16/16 idle 0 8192 1 2 3 - 0",	/* late_a alone */
		"2 7:0 7:1 AA 16/16 idle 0 8192 1 2 3 7 5",
		"2 7:0 7:1 AA 16/16 idle 0 8192 1 2 3 - x 0",	/* late I/Os */
		"2 7:0 7:1 AA 16/16 idle 0 8192 1 2 3 - 0 -1",
		"2 7:0 7:1 AA 16/16 idle 0 8192 1 2 3 - - -",
		"2 7:0 7:1 AA 16/16 idle 0 8192 1 2 3 - 0 18446744073709551616",
		"2 7:0 7:1 AA 16/16 idle 0 8192 1 2 3 x 0 0",	/* ETA, 14 fields */
	};
	struct metro_status st;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		why = NULL;
		assert_int_equal(parse_status_line(bad[i], &st, &why), -EINVAL);
		assert_non_null(why);
	}
	assert_int_equal(parse_status_line(NULL, &st, &why), -EINVAL);
}

static void test_leg_dev(void **state)
{
	static const char *const bad[] = {
		"", ":", "7", "7:", ":0", "7:0:1", "7-0", " 7:0", "7:0 ", "+7:0", "7:-1",
		"0x7:0", "1048576:0", "0:1048576", "0:0", "--", "99999999999999999999:1",
	};
	char buf[32];
	dev_t d;
	size_t i;

	(void)state;
	assert_int_equal(parse_leg_dev("-", &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(parse_leg_dev("259:3", &d), 0);
	assert_int_equal(d, makedev(259, 3));
	assert_int_equal(parse_leg_dev("0:1", &d), 0);
	assert_int_equal(d, makedev(0, 1));
	assert_int_equal(parse_leg_dev("1048575:1048575", &d), 0);
	assert_int_equal(major(d), 1048575);
	assert_int_equal(minor(d), 1048575);
	/* What format_leg_dev writes, parse_leg_dev reads back. */
	format_leg_dev(makedev(8, 17), buf, sizeof(buf));
	assert_string_equal(buf, "8:17");
	assert_int_equal(parse_leg_dev(buf, &d), 0);
	assert_int_equal(d, makedev(8, 17));
	format_leg_dev(0, buf, sizeof(buf));
	assert_int_equal(parse_leg_dev(buf, &d), 0);
	assert_int_equal(d, 0);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		d = 12345;
		assert_int_equal(parse_leg_dev(bad[i], &d), -EINVAL);
	}
}

static void test_health_words(void **state)
{
	(void)state;
	assert_string_equal(leg_health_word('A', "idle"), "in_sync");
	assert_string_equal(leg_health_word('A', "resync"), "in_sync");
	assert_string_equal(leg_health_word('a', "resync"), "resyncing");
	assert_string_equal(leg_health_word('a', "frozen"), "out_of_sync");
	assert_string_equal(leg_health_word('a', "idle"), "out_of_sync");
	assert_string_equal(leg_health_word('D', "resync"), "failed");
}

/* ---------------------------------------------------------------------- */
/* Formatting                                                             */
/* ---------------------------------------------------------------------- */

static void test_uuid_format(void **state)
{
	const uint8_t u[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
				0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10 };
	char s[37], h[33], d[64];

	(void)state;
	uuid_unparse(u, s);
	assert_string_equal(s, "01234567-89ab-cdef-fedc-ba9876543210");
	uuid_hex(u, h);
	assert_string_equal(h, "0123456789abcdeffedcba9876543210");
	metro_dm_uuid(u, d);
	assert_string_equal(d, "METRO-0123456789abcdeffedcba9876543210");
}

static void test_state_words(void **state)
{
	char b[64];
	struct json_object *a;

	(void)state;
	assert_string_equal(leg_state_words(0, b, sizeof(b)), "none");
	assert_string_equal(leg_state_words(METRO_LEG_F_ACTIVE, b, sizeof(b)), "active");
	assert_string_equal(leg_state_words(METRO_LEG_F_ACTIVE | METRO_LEG_F_STALE, b, sizeof(b)),
			    "active,stale");
	assert_string_equal(leg_state_words(METRO_LEG_F_ALL, b, sizeof(b)), "active,failed,stale");
	a = leg_state_json(METRO_LEG_F_FAILED | METRO_LEG_F_STALE);
	assert_string_equal(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN),
			    "[\"failed\",\"stale\"]");
	json_object_put(a);
}

static void test_shell_quote(void **state)
{
	char b[300];

	(void)state;
	shell_quote("vol0", b, sizeof(b));
	assert_string_equal(b, "vol0");
	shell_quote("a b", b, sizeof(b));
	assert_string_equal(b, "'a b'");
	shell_quote("it's", b, sizeof(b));
	assert_string_equal(b, "'it'\\''s'");
	shell_quote("$(reboot)", b, sizeof(b));
	assert_string_equal(b, "'$(reboot)'");
	shell_quote("", b, sizeof(b));
	assert_string_equal(b, "''");
}

static void test_format_bytes(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(format_bytes(0, b, sizeof(b)), "0 B");
	assert_string_equal(format_bytes(1023, b, sizeof(b)), "1023 B");
	assert_string_equal(format_bytes(4096, b, sizeof(b)), "4 KiB");
	assert_string_equal(format_bytes(4 << 20, b, sizeof(b)), "4 MiB");
	assert_string_equal(format_bytes(1536 << 20, b, sizeof(b)), "1.5 GiB");
	assert_string_equal(format_bytes(1ULL << 40, b, sizeof(b)), "1 TiB");
}

/* ---------------------------------------------------------------------- */
/* The binary: bad command lines and missing devices                      */
/* ---------------------------------------------------------------------- */

struct run_result {
	int status;
	char err[4096];
	char out[4096];
};

static void slurp(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < len && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
}

static void run(struct run_result *res, const char *const *args)
{
	const char *bin = getenv("METROCTL");
	char *argv[16];
	int out[2], err[2], st, n = 0;
	pid_t pid;

	if (!bin)
		bin = "../../userspace/metroctl";
	if (access(bin, X_OK))
		skip();
	argv[n++] = (char *)bin;
	while (*args && n < 15)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(err), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		execv(bin, argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	slurp(out[0], res->out, sizeof(res->out));
	slurp(err[0], res->err, sizeof(res->err));
	close(out[0]);
	close(err[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	res->status = WEXITSTATUS(st);
}

static const struct cli_case {
	const char *args[10];
	int status;
	const char *msg;	/* expected in stderr */
} cli_cases[] = {
	{ { NULL }, 2, "no command" },
	{ { "frobnicate", NULL }, 2, "unknown command 'frobnicate'" },
	{ { "--frobnicate", NULL }, 2, "unknown option" },
	{ { "-Z", "status", NULL }, 2, "unknown option '-Z'" },
	{ { "create", NULL }, 2, "expected NAME LEG_A LEG_B" },
	{ { "create", "v", "/dev/null", NULL }, 2, "expected NAME LEG_A LEG_B" },
	{ { "create", "v", "/dev/null", "/dev/zero", "/dev/full", NULL }, 2, "expected NAME LEG_A LEG_B" },
	{ { "create", "a/b", "/nonexistent-a", "/nonexistent-b", NULL }, 2, "must not contain '/'" },
	{ { "create", "", "/nonexistent-a", "/nonexistent-b", NULL }, 2, "empty" },
	{ { "create", "a b", "/nonexistent-a", "/nonexistent-b", NULL }, 2, "invalid volume name" },
	{ { "create", "1234567890123456789012345678901234567890123456789012345678901234",
	    "/nonexistent-a", "/nonexistent-b", NULL }, 2, "longer than 63" },
	{ { "create", "v", "/nonexistent-a", "/nonexistent-b", "--region-size", "3K", NULL }, 2,
	  "power of two" },
	{ { "create", "v", "/nonexistent-a", "/nonexistent-b", "--region-size", "2G", NULL }, 2,
	  "power of two" },
	{ { "create", "v", "/nonexistent-a", "/nonexistent-b", "--region-size", "4s", NULL }, 2,
	  "power of two" },
	{ { "create", "v", "/nonexistent-a", "/nonexistent-b", "--region-size", "1.5M", NULL }, 2,
	  "invalid region size" },
	{ { "create", "v", "/nonexistent-a", "/nonexistent-b", "--region-size", "-1", NULL }, 2,
	  "invalid region size" },
	{ { "create", "v", "/nonexistent-a", "/nonexistent-b", "--region-size",
	    "99999999999999999999T", NULL }, 2, "too large" },
	{ { "create", "v", "/nonexistent-a", "/nonexistent-b", "--region-size", NULL }, 2,
	  "needs a value" },
	{ { "create", "v", "/nonexistent-a", "/nonexistent-b", "--bogus", NULL }, 2, "unknown option" },
	{ { "create", "v", "/nonexistent-a", "/nonexistent-b", NULL }, 1,
	  "/nonexistent-a: No such file or directory" },
	{ { "create", "v", "/dev/null", "/dev/zero", NULL }, 1, "/dev/null is not a block device" },
	{ { "assemble", "v", NULL }, 2, "expected NAME LEG_A LEG_B" },
	{ { "assemble", "-x", "a", "b", NULL }, 2, "unknown option" },
	{ { "assemble", "v", "/nonexistent-a", "/nonexistent-b", NULL }, 1, "No such file" },
	{ { "assemble", "v", "/dev/null", "/dev/zero", NULL }, 1, "not a block device" },
	{ { "stop", NULL }, 2, "expected NAME" },
	{ { "stop", "a", "b", NULL }, 2, "expected NAME" },
	{ { "status", "a", "b", NULL }, 2, "at most one NAME" },
	{ { "assemble", "--degraded", "v", NULL }, 2, "expected NAME LEG" },
	{ { "assemble", "--degraded", "v", "/dev/a", "/dev/b", NULL }, 2, "expected NAME LEG" },
	{ { "assemble", "v", "/dev/a", NULL }, 2, "needs --degraded" },
	{ { "resolve", "v", NULL }, 2, "--winner DEV is required" },
	{ { "resolve", "--winner", NULL }, 2, "needs a value" },
	{ { "resolve", "--winner", "/dev/a", NULL }, 2, "expected NAME" },
	{ { "resolve", "--winner", "/dev/a", "v", "/dev/b", "/dev/c", NULL }, 2, "expected NAME" },
	{ { "resolve", "--winner", "/dev/a", "bad/name", NULL }, 2, "invalid volume name" },
	{ { "restore", "v", "A", "/dev/x", "extra", NULL }, 2, "expected NAME LEG [DEV]" },
	{ { "monitor", "a", "b", NULL }, 2, "at most one NAME" },
	{ { "monitor", "--interval", "0", NULL }, 2, "invalid interval" },
	{ { "monitor", "--interval", "abc", NULL }, 2, "invalid interval" },
	{ { "monitor", "--interval", "99999", NULL }, 2, "invalid interval" },
	{ { "monitor", "--count", "0", NULL }, 2, "invalid count" },
	{ { "monitor", "--count", "-1", NULL }, 2, "invalid count" },
	{ { "monitor", "--exec", "", NULL }, 2, "needs a program" },
	{ { "status", "--bogus", NULL }, 2, "unknown option" },
	{ { "examine", NULL }, 2, "expected one DEV" },
	{ { "examine", "a", "b", NULL }, 2, "expected one DEV" },
	{ { "examine", "--json", "--export", "/dev/null", NULL }, 2, "exclude each other" },
	{ { "examine", "/nonexistent", NULL }, 1, "/nonexistent: No such file or directory" },
	{ { "examine", "/dev/null", NULL }, 1, "/dev/null is not a block device" },
	{ { "examine", "--export", "/nonexistent", NULL }, 1, "" },
	{ { "incremental", NULL }, 2, "expected one DEV" },
	{ { "incremental", "/dev/null", NULL }, 1, "not a block device" },
	{ { "help", "frobnicate", NULL }, 2, "unknown command" },
	{ { "create", "v", "/dev/a", "/dev/b", "--io-deadline", "50", NULL }, 2,
	  "invalid '50' for --io-deadline" },
	{ { "create", "v", "/dev/a", "/dev/b", "--write-mostly", "C", NULL }, 2,
	  "invalid 'C' for --write-mostly" },
	{ { "assemble", "v", "/dev/a", "/dev/b", "--resync-rate", "-1", NULL }, 2,
	  "invalid '-1' for --resync-rate" },
	{ { "assemble", "--degraded", "v", "/dev/a", "--clear-delay", "99", NULL }, 2,
	  "invalid '99' for --clear-delay" },
	{ { "set", NULL }, 2, "expected NAME" },
	{ { "set", "v", NULL }, 2, "nothing to set" },
	{ { "set", "v", "w", "--io-deadline", "0", NULL }, 2, "expected NAME" },
	{ { "set", "v", "--io-deadline", "600001", NULL }, 2, "invalid '600001' for --io-deadline" },
	{ { "set", "v", "--write-mostly", NULL }, 2, "needs a value" },
	{ { "set", "v", "--read-mode", "copy", NULL }, 2, "invalid 'copy' for --read-mode" },
	{ { "create", "v", "/dev/a", "/dev/b", "--read-mode", "", NULL }, 2,
	  "invalid '' for --read-mode" },
	{ { "set", "v", "--failfast", "BA", NULL }, 2, "invalid 'BA' for --failfast" },
	{ { "assemble", "v", "/dev/a", "/dev/b", "--failfast", "C", NULL }, 2,
	  "invalid 'C' for --failfast" },
	{ { "set", "v", "--region-size", "4M", NULL }, 2, "unknown option" },
	{ { "convert", NULL }, 2, "expected DEV_A DEV_B" },
	{ { "convert", "/dev/a", "--single-host", NULL }, 2, "expected DEV_A DEV_B" },
	{ { "convert", "/dev/a", "/dev/b", NULL }, 2, "give the format: --cluster NAME" },
	{ { "convert", "/dev/a", "/dev/b", "--single-host", "--cluster", "c", NULL }, 2,
	  "exclude each other" },
	{ { "convert", "/dev/a", "/dev/b", "--nodes", "3", NULL }, 2, "--nodes needs --cluster" },
	{ { "convert", "/dev/a", "/dev/b", "--cluster", "a b", NULL }, 2, "invalid cluster name 'a b'" },
	{ { "convert", "/dev/a", "/dev/b", "--cluster", "", NULL }, 2, "invalid cluster name ''" },
	{ { "convert", "/dev/a", "/dev/b", "--cluster", "c", "--nodes", "1", NULL }, 2,
	  "invalid --nodes '1'" },
	{ { "convert", "/dev/a", "/dev/b", "--cluster", "c", "--nodes", "9", NULL }, 2,
	  "invalid --nodes '9'" },
	{ { "convert", "/dev/a", "/dev/b", "--single-host", "--bogus", NULL }, 2, "unknown option" },
	{ { "convert", "/nonexistent-a", "/nonexistent-b", "--single-host", NULL }, 1,
	  "/nonexistent-a: No such file or directory" },
	{ { "convert", "/dev/null", "/dev/zero", "--cluster", "c", "--dry-run", NULL }, 1,
	  "/dev/null is not a block device" },
};

static void test_cli_case(void **state)
{
	const struct cli_case *c = *state;
	struct run_result res;

	run(&res, c->args);
	if (res.status != c->status || !strstr(res.err, c->msg) || res.out[0]) {
		char *line, *save = NULL;

		print_message("# exit status %d, stderr:\n", res.status);
		for (line = strtok_r(res.err, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			print_message("#   %s\n", line);
		run(&res, c->args);
	}
	assert_int_equal(res.status, c->status);
	if (c->msg[0]) {
		assert_true(strncmp(res.err, "metroctl: ", 10) == 0);
		assert_non_null(strstr(res.err, c->msg));
		/* Exactly one line. */
		assert_ptr_equal(strchr(res.err, '\n'), res.err + strlen(res.err) - 1);
	} else {
		assert_string_equal(res.err, "");	/* --export: silent */
	}
	assert_string_equal(res.out, "");	/* nothing on stdout */
}

static void test_cli_help_version(void **state)
{
	struct run_result res;

	(void)state;
	run(&res, (const char *[]){ "--help", NULL });
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.out, "Usage: metroctl"));
	assert_non_null(strstr(res.out, "create"));
	assert_non_null(strstr(res.out, "incremental"));
	run(&res, (const char *[]){ "-V", NULL });
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.out, "metroctl"));
	run(&res, (const char *[]){ "create", "--help", NULL });
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.out, "--region-size"));
	run(&res, (const char *[]){ "help", "status", NULL });
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.out, "status"));
}

/* ---------------------------------------------------------------------- */
/* Table options on the command line and in a live table                  */
/* ---------------------------------------------------------------------- */

static void test_table_opt_args(void **state)
{
	struct table_opt_args a = { 0 };
	struct metro_table_opts o;
	const char *why;

	(void)state;
	assert_int_equal(table_opt_arg(&a, OPT_IO_DEADLINE, "0", &why), 0);
	assert_int_equal(table_opt_arg(&a, OPT_WRITE_MOSTLY, "b", &why), 0);
	assert_int_equal(a.given, TABLE_OPT_IO_DEADLINE | TABLE_OPT_WRITE_MOSTLY);
	assert_int_equal(table_opt_arg(&a, OPT_IO_DEADLINE, "99", &why), -EINVAL);
	assert_non_null(strstr(why, "--io-deadline"));
	assert_int_equal(table_opt_arg(&a, OPT_RESYNC_RATE, "1k", &why), -EINVAL);
	assert_int_equal(table_opt_arg(&a, OPT_CLEAR_DELAY, "600001", &why), -EINVAL);
	assert_int_equal(table_opt_arg(&a, OPT_WRITE_MOSTLY, "AB", &why), -EINVAL);
	assert_int_equal(table_opt_arg(&a, 'x', "1", &why), -EINVAL);

	/* What was given replaces, the rest stays. */
	o = (struct metro_table_opts){ 100, 1000, 30000, 'A', METRO_READ_BOUNCE, 0, METRO_LEGS_AB };
	a = (struct table_opt_args){ 0 };
	assert_int_equal(table_opt_arg(&a, OPT_IO_DEADLINE, "0", &why), 0);
	table_opts_apply(&a, &o);
	assert_int_equal(o.io_deadline, 0);
	assert_int_equal(o.resync_rate, 100);
	assert_int_equal(o.clear_delay, 1000);
	assert_int_equal(o.write_mostly, 'A');
	assert_int_equal(table_opt_arg(&a, OPT_WRITE_MOSTLY, "none", &why), 0);
	table_opts_apply(&a, &o);
	assert_int_equal(o.write_mostly, 0);
	assert_int_equal(o.read_mode, METRO_READ_BOUNCE);
	assert_int_equal(table_opt_arg(&a, OPT_READ_MODE, "Direct", &why), 0);
	assert_true(a.given & TABLE_OPT_READ_MODE);
	table_opts_apply(&a, &o);
	assert_int_equal(o.read_mode, METRO_READ_DIRECT);
	assert_int_equal(table_opt_arg(&a, OPT_READ_MODE, "direc", &why), -EINVAL);
	assert_non_null(strstr(why, "--read-mode"));
	assert_int_equal(table_opt_arg(&a, OPT_READ_MODE, "bounce", &why), 0);
	table_opts_apply(&a, &o);
	assert_int_equal(o.read_mode, METRO_READ_BOUNCE);
	assert_int_equal(o.read_legs, METRO_LEGS_AB);
	assert_int_equal(table_opt_arg(&a, OPT_READ_MODE, "bounce:b", &why), 0);
	table_opts_apply(&a, &o);
	assert_int_equal(o.read_mode, METRO_READ_BOUNCE);
	assert_int_equal(o.read_legs, METRO_LEGS_B);
	/* auto's legs are found by metroctl, not given */
	assert_int_equal(table_opt_arg(&a, OPT_READ_MODE, "auto:B", &why), -EINVAL);
	assert_non_null(strstr(why, "--read-mode"));
	assert_int_equal(table_opt_arg(&a, OPT_READ_MODE, "direct:A", &why), -EINVAL);
	assert_int_equal(table_opt_arg(&a, OPT_READ_MODE, "AUTO", &why), 0);
	table_opts_apply(&a, &o);
	assert_int_equal(o.read_mode, METRO_READ_AUTO);
	assert_int_equal(o.read_legs, 0);
	assert_int_equal(table_opt_arg(&a, OPT_READ_MODE, "bounce", &why), 0);
	table_opts_apply(&a, &o);
	assert_int_equal(o.failfast, 0);
	assert_int_equal(table_opt_arg(&a, OPT_FAILFAST, "ab", &why), 0);
	assert_true(a.given & TABLE_OPT_FAILFAST);
	table_opts_apply(&a, &o);
	assert_int_equal(o.failfast, METRO_FAILFAST_ALL);
	assert_int_equal(table_opt_arg(&a, OPT_FAILFAST, "C", &why), -EINVAL);
	assert_non_null(strstr(why, "--failfast"));
	assert_int_equal(o.failfast, METRO_FAILFAST_ALL);
	assert_int_equal(table_opt_arg(&a, OPT_FAILFAST, "B", &why), 0);
	table_opts_apply(&a, &o);
	assert_int_equal(o.failfast, METRO_FAILFAST_B);
	assert_int_equal(table_opt_arg(&a, OPT_FAILFAST, "none", &why), 0);
	table_opts_apply(&a, &o);
	assert_int_equal(o.failfast, 0);
	assert_int_equal(o.read_mode, METRO_READ_BOUNCE);
}

static void test_parse_table_opts(void **state)
{
	struct metro_table_opts o;
	const char *why;
	char big[300];

	(void)state;
	assert_int_equal(parse_table_opts("", &o, &why), 0);
	assert_int_equal(o.io_deadline, METRO_DEFAULT_IO_DEADLINE_MS);
	assert_int_equal(parse_table_opts("4 io_deadline 0 write_mostly B\n", &o, &why), 0);
	assert_int_equal(o.io_deadline, 0);
	assert_int_equal(o.write_mostly, 'B');
	assert_int_equal(parse_table_opts("6 io_deadline 100 write_mostly B read_mode direct", &o, &why), 0);
	assert_int_equal(o.read_mode, METRO_READ_DIRECT);
	assert_int_equal(o.failfast, 0);
	assert_int_equal(parse_table_opts("4 read_mode direct failfast B", &o, &why), 0);
	assert_int_equal(o.failfast, METRO_FAILFAST_B);
	assert_int_equal(parse_table_opts("2 io_deadline", &o, &why), -EINVAL);
	assert_int_equal(parse_table_opts("1 2 3 4 5 6 7 8 9 10 11", &o, &why), -EINVAL);
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(parse_table_opts(big, &o, &why), -EINVAL);
}

static char cli_names[ARRAY_SIZE(cli_cases)][160];

int main(void)
{
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_parse_size_good),
		cmocka_unit_test(test_parse_size_bad),
		cmocka_unit_test(test_parse_size_overflow),
		cmocka_unit_test(test_name_good),
		cmocka_unit_test(test_name_bad),
		cmocka_unit_test(test_name_accepted_by_decoder),
		cmocka_unit_test(test_status_parse_good),
		cmocka_unit_test(test_status_parse_late),
		cmocka_unit_test(test_status_parse_check),
		cmocka_unit_test(test_convert_drops_check),
		cmocka_unit_test(test_status_parse_bad),
		cmocka_unit_test(test_leg_dev),
		cmocka_unit_test(test_health_words),
		cmocka_unit_test(test_uuid_format),
		cmocka_unit_test(test_state_words),
		cmocka_unit_test(test_shell_quote),
		cmocka_unit_test(test_format_bytes),
		cmocka_unit_test(test_table_opt_args),
		cmocka_unit_test(test_parse_table_opts),
		cmocka_unit_test(test_cli_help_version),
	};
	struct CMUnitTest tests[ARRAY_SIZE(fixed) + ARRAY_SIZE(cli_cases)];
	size_t i, j, n = 0;

	for (i = 0; i < ARRAY_SIZE(fixed); i++)
		tests[n++] = fixed[i];
	for (i = 0; i < ARRAY_SIZE(cli_cases); i++) {
		struct CMUnitTest t = cmocka_unit_test_prestate(test_cli_case,
								(void *)&cli_cases[i]);
		size_t len = (size_t)snprintf(cli_names[i], sizeof(cli_names[i]), "cli:");

		for (j = 0; cli_cases[i].args[j] && len < sizeof(cli_names[i]) - 1; j++)
			len += (size_t)snprintf(cli_names[i] + len, sizeof(cli_names[i]) - len,
						" %.20s", cli_cases[i].args[j][0] ? cli_cases[i].args[j] : "''");
		if (!cli_cases[i].args[0])
			snprintf(cli_names[i] + len, sizeof(cli_names[i]) - len, " (no arguments)");
		t.name = cli_names[i];
		tests[n++] = t;
	}
	return _cmocka_run_group_tests("cli", tests, n, NULL, NULL);
}
