// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for the table line's optional arguments
 * (dm-metro/metro-table.h): the parser the kernel constructor runs, built
 * here for userspace.  Every class of bad line is refused with the message
 * the constructor puts in the kernel log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "metro-table.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_WORDS 32

/* Split @line on spaces and parse the words, as the kernel gets them. */
static int parse_line(const char *line, struct metro_table_opts *o, const char **err)
{
	char *copy = strdup(line), *argv[MAX_WORDS], *w, *save = NULL;
	unsigned int argc = 0;
	int r;

	assert_non_null(copy);
	for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		assert_true(argc < MAX_WORDS);
		argv[argc++] = w;
	}
	r = metro_table_parse_opts(argc, argv, o, err);
	free(copy);
	return r;
}

/* ---------------------------------------------------------------------- */
/* metro_table_parse_uint                                                 */
/* ---------------------------------------------------------------------- */

static void test_parse_uint(void **state)
{
	static const struct {
		const char *s;
		int r;
		unsigned int v;
	} cases[] = {
		{ "0", 0, 0 }, { "7", 0, 7 }, { "007", 0, 7 }, { "100", 0, 100 },
		{ "2147483648", 0, 2147483648U }, { "4294967295", 0, 4294967295U },
		{ "00000000000000000004294967295", 0, 4294967295U },
		{ "4294967296", -ERANGE, 0 }, { "4294967300", -ERANGE, 0 },
		{ "10000000000", -ERANGE, 0 }, { "99999999999999999999999", -ERANGE, 0 },
		{ "", -EINVAL, 0 }, { "+1", -EINVAL, 0 }, { "-1", -EINVAL, 0 },
		{ "-0", -EINVAL, 0 }, { " 1", -EINVAL, 0 }, { "1 ", -EINVAL, 0 },
		{ "1\n", -EINVAL, 0 }, { "0x10", -EINVAL, 0 }, { "12abc", -EINVAL, 0 },
		{ "abc", -EINVAL, 0 }, { "1.5", -EINVAL, 0 }, { "1e3", -EINVAL, 0 },
		/* not a number, however many digits come first (found by fuzz_table) */
		{ "99999999999x", -EINVAL, 0 }, { "4294967296-", -EINVAL, 0 },
	};
	unsigned int v;
	size_t i;

	(void)state;
	assert_int_equal(metro_table_parse_uint(NULL, &v), -EINVAL);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		v = 12345;
		if (metro_table_parse_uint(cases[i].s, &v) != cases[i].r)
			print_message("# parse_uint(\"%s\")\n", cases[i].s);
		assert_int_equal(metro_table_parse_uint(cases[i].s, &v), cases[i].r);
		assert_int_equal(v, cases[i].r ? 12345 : cases[i].v);
	}
}

/* ---------------------------------------------------------------------- */
/* Good lines                                                             */
/* ---------------------------------------------------------------------- */

#define DEF_RATE	METRO_DEFAULT_RESYNC_RATE
#define DEF_CLEAR	METRO_DEFAULT_CLEAR_DELAY_MS
#define DEF_DL		METRO_DEFAULT_IO_DEADLINE_MS

static const struct {
	const char *line;
	struct metro_table_opts o;
} good[] = {
	{ "", { DEF_RATE, DEF_CLEAR, DEF_DL, 0, 0, 0, 0 } },
	{ "0", { DEF_RATE, DEF_CLEAR, DEF_DL, 0, 0, 0, 0 } },
	{ "2 resync_rate 1000", { 1000, DEF_CLEAR, DEF_DL, 0, 0, 0, 0 } },
	{ "2 resync_rate 0", { 0, DEF_CLEAR, DEF_DL, 0, 0, 0, 0 } },
	{ "2 resync_rate 2147483648", { 2147483648U, DEF_CLEAR, DEF_DL, 0, 0, 0, 0 } },
	{ "2 clear_delay 100", { DEF_RATE, 100, DEF_DL, 0, 0, 0, 0 } },
	{ "2 clear_delay 600000", { DEF_RATE, 600000, DEF_DL, 0, 0, 0, 0 } },
	{ "2 io_deadline 0", { DEF_RATE, DEF_CLEAR, 0, 0, 0, 0, 0 } },
	{ "2 io_deadline 100", { DEF_RATE, DEF_CLEAR, 100, 0, 0, 0, 0 } },
	{ "2 io_deadline 600000", { DEF_RATE, DEF_CLEAR, 600000, 0, 0, 0, 0 } },
	{ "2 io_deadline 100000", { DEF_RATE, DEF_CLEAR, 100000, 0, 0, 0, 0 } },
	{ "4 clear_delay 100 resync_rate 0", { 0, 100, DEF_DL, 0, 0, 0, 0 } },
	{ "6 clear_delay 100 resync_rate 0 io_deadline 0", { 0, 100, 0, 0, 0, 0, 0 } },
	{ "6 io_deadline 250 clear_delay 1000 resync_rate 102400", { 102400, 1000, 250, 0, 0, 0, 0 } },
	/* keys in any case, as strcasecmp() did */
	{ "2 RESYNC_RATE 5", { 5, DEF_CLEAR, DEF_DL, 0, 0, 0, 0 } },
	{ "4 Clear_Delay 200 IO_DEADLINE 300", { DEF_RATE, 200, 300, 0, 0, 0, 0 } },
	/* a repeated key: the last one counts */
	{ "4 clear_delay 1000 clear_delay 2000", { DEF_RATE, 2000, DEF_DL, 0, 0, 0, 0 } },
	/* leading zeros are decimal, not octal */
	{ "02 resync_rate 010", { 10, DEF_CLEAR, DEF_DL, 0, 0, 0, 0 } },
	{ "2 write_mostly B", { DEF_RATE, DEF_CLEAR, DEF_DL, 'B', 0, 0, 0 } },
	{ "2 write_mostly a", { DEF_RATE, DEF_CLEAR, DEF_DL, 'A', 0, 0, 0 } },
	{ "4 write_mostly A Write_Mostly b", { DEF_RATE, DEF_CLEAR, DEF_DL, 'B', 0, 0, 0 } },
	{ "8 resync_rate 1 clear_delay 100 io_deadline 0 write_mostly B", { 1, 100, 0, 'B', 0, 0, 0 } },
	{ "2 read_mode direct", { DEF_RATE, DEF_CLEAR, DEF_DL, 0, METRO_READ_DIRECT, 0, 0 } },
	{ "2 read_mode bounce", { DEF_RATE, DEF_CLEAR, DEF_DL, 0, METRO_READ_BOUNCE, 0, METRO_LEGS_AB } },
	{ "4 Read_Mode DIRECT read_mode bounce", { DEF_RATE, DEF_CLEAR, DEF_DL, 0, METRO_READ_BOUNCE, 0, METRO_LEGS_AB } },
	{ "10 resync_rate 1 clear_delay 100 io_deadline 0 write_mostly B read_mode direct",
	  { 1, 100, 0, 'B', METRO_READ_DIRECT, 0, 0 } },
	{ "2 read_mode auto", { DEF_RATE, DEF_CLEAR, DEF_DL, 0, METRO_READ_AUTO, 0, 0 } },
	{ "2 read_mode Auto:b", { DEF_RATE, DEF_CLEAR, DEF_DL, 0, METRO_READ_AUTO, 0, METRO_LEGS_B } },
	{ "2 read_mode auto:AB", { DEF_RATE, DEF_CLEAR, DEF_DL, 0, METRO_READ_AUTO, 0, METRO_LEGS_AB } },
	{ "2 read_mode bounce:A", { DEF_RATE, DEF_CLEAR, DEF_DL, 0, METRO_READ_BOUNCE, 0, METRO_LEGS_A } },
	{ "2 read_mode BOUNCE:ab", { DEF_RATE, DEF_CLEAR, DEF_DL, 0, METRO_READ_BOUNCE, 0, METRO_LEGS_AB } },
	/* a repeated read_mode replaces the legs too */
	{ "4 read_mode bounce:B read_mode auto", { DEF_RATE, DEF_CLEAR, DEF_DL, 0, METRO_READ_AUTO, 0, 0 } },
	{ "4 read_mode auto:A read_mode direct", { DEF_RATE, DEF_CLEAR, DEF_DL, 0, METRO_READ_DIRECT, 0, 0 } },
	{ "2 failfast B", { DEF_RATE, DEF_CLEAR, DEF_DL, 0, 0, METRO_FAILFAST_B, 0 } },
	{ "2 failfast a", { DEF_RATE, DEF_CLEAR, DEF_DL, 0, 0, METRO_FAILFAST_A, 0 } },
	{ "2 FailFast aB", { DEF_RATE, DEF_CLEAR, DEF_DL, 0, 0, METRO_FAILFAST_ALL, 0 } },
	{ "4 failfast AB failfast A", { DEF_RATE, DEF_CLEAR, DEF_DL, 0, 0, METRO_FAILFAST_A, 0 } },
	{ "12 resync_rate 1 clear_delay 100 io_deadline 0 write_mostly A read_mode direct failfast B",
	  { 1, 100, 0, 'A', METRO_READ_DIRECT, METRO_FAILFAST_B, 0 } },
};

static void test_good_lines(void **state)
{
	struct metro_table_opts o;
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		err = "not touched";
		memset(&o, 0xa5, sizeof(o));
		if (parse_line(good[i].line, &o, &err))
			print_message("# \"%s\": %s\n", good[i].line, err);
		assert_int_equal(parse_line(good[i].line, &o, &err), 0);
		assert_null(err);
		assert_int_equal(o.resync_rate, good[i].o.resync_rate);
		assert_int_equal(o.clear_delay, good[i].o.clear_delay);
		assert_int_equal(o.io_deadline, good[i].o.io_deadline);
		assert_int_equal(o.write_mostly, good[i].o.write_mostly);
		assert_int_equal(o.read_mode, good[i].o.read_mode);
		assert_int_equal(o.failfast, good[i].o.failfast);
		assert_int_equal(o.read_legs, good[i].o.read_legs);
	}
}

static void test_defaults(void **state)
{
	struct metro_table_opts o;
	const char *err = "x";

	(void)state;
	memset(&o, 0xff, sizeof(o));
	assert_int_equal(metro_table_parse_opts(0, NULL, &o, &err), 0);
	assert_null(err);
	assert_int_equal(o.resync_rate, 0);
	assert_int_equal(o.clear_delay, 5000);
	assert_int_equal(o.io_deadline, 5000);
	assert_int_equal(o.write_mostly, 0);
	assert_int_equal(o.read_mode, METRO_READ_AUTO);
	assert_int_equal(o.read_legs, 0);
	assert_int_equal(o.failfast, 0);
}

/* ---------------------------------------------------------------------- */
/* Bad lines, one test per class, with the constructor's message          */
/* ---------------------------------------------------------------------- */

#define E_COUNT	"Invalid number of optional arguments"
#define E_VALUE	"Optional argument is missing its value"
#define E_KEY	"Unknown optional argument: expected resync_rate, clear_delay, io_deadline, write_mostly, read_mode or failfast"
#define E_RATE	"Invalid resync_rate: expected KiB/s between 0 and 2147483648"
#define E_CLEAR	"Invalid clear_delay: expected milliseconds between 100 and 600000"
#define E_DL	"Invalid io_deadline: expected 0 (none) or milliseconds between 100 and 600000"
#define E_WM	"Invalid write_mostly: expected A or B, the leg that serves reads only when the other cannot"
#define E_RM	"Invalid read_mode: expected auto, direct (no copy, waited for) or bounce (abandoned at the I/O deadline), bounce and auto optionally with :A, :B or :AB"
#define E_FF	"Invalid failfast: expected A, B or AB, the legs whose reads the transport should not retry"
#define E_EXTRA	"Unexpected arguments after the optional arguments"

struct bad_case {
	const char *name;
	const char *lines[12];
	const char *err;
};

static const struct bad_case bad[] = {
	{ "odd_count", { "1 resync_rate", "1 resync_rate 10",
			 "3 resync_rate 10 clear_delay", "5 resync_rate 1 clear_delay 100 io_deadline" },
	  E_VALUE },
	{ "count_beyond_words", { "1", "2", "2 resync_rate", "3 resync_rate 10",
				  "4 clear_delay 1000 clear_delay", "6 resync_rate 1 clear_delay 100" },
	  E_COUNT },
	{ "count_not_a_number", { "x resync_rate 10", "two resync_rate 10", "2x resync_rate 10",
				  "0x2 resync_rate 10", "garbage words here" },
	  E_COUNT },
	{ "count_signed", { "-2 resync_rate 10", "+2 resync_rate 10", "-0" }, E_COUNT },
	{ "count_overflow", { "4294967298 resync_rate 10", "99999999999999999999 resync_rate 10" },
	  E_COUNT },
	{ "too_many_args", { "14 resync_rate 1 clear_delay 1000 io_deadline 1000 write_mostly A read_mode direct failfast A bogus 1",
			     "14 resync_rate 1 resync_rate 2 resync_rate 3 resync_rate 4 resync_rate 5 resync_rate 6 resync_rate 7",
			     "13 resync_rate 1 clear_delay 1000 io_deadline 1000 write_mostly A read_mode direct failfast A x" },
	  E_COUNT },
	{ "write_mostly_bad", { "2 write_mostly C", "2 write_mostly 0", "2 write_mostly 1",
				"2 write_mostly AB", "2 write_mostly -", "2 write_mostly leg_a" },
	  E_WM },
	{ "read_mode_bad", { "2 read_mode 0", "2 read_mode 1", "2 read_mode copy", "2 read_mode directx",
			     "2 read_mode -", "2 read_mode dire" },
	  E_RM },
	{ "read_mode_legs_bad", { "2 read_mode direct:A", "2 read_mode bounce:", "2 read_mode auto:C",
				  "2 read_mode bounce:AA", "2 read_mode :B", "2 read_mode autoauto",
				  "2 read_mode bounce:BA", "2 read_mode auto;B", "2 read_mode auto:",
				  "2 read_mode bounce:A:B" },
	  E_RM },
	{ "failfast_bad", { "2 failfast C", "2 failfast 0", "2 failfast 3", "2 failfast BA",
			    "2 failfast -", "2 failfast none", "2 failfast ABC", "2 failfast leg_b" },
	  E_FF },
	{ "unknown_key", { "2 bogus 1", "2 resync 1", "2 resync_rate_ 1", "2 resync_rat 1",
			   "4 resync_rate 1 io-deadline 100", "3 bogus 1 clear_delay" },
	  E_KEY },
	{ "rate_out_of_range", { "2 resync_rate 2147483649", "2 resync_rate 4294967295" }, E_RATE },
	{ "rate_not_a_number", { "2 resync_rate abc", "2 resync_rate 12abc", "2 resync_rate 1.5",
				 "2 resync_rate 0x10", "4 clear_delay 100 resync_rate x" },
	  E_RATE },
	{ "rate_signed", { "2 resync_rate -5", "2 resync_rate +5", "2 resync_rate -0" }, E_RATE },
	{ "rate_overflow", { "2 resync_rate 99999999999999999999999", "2 resync_rate 4294967296" },
	  E_RATE },
	{ "clear_out_of_range", { "2 clear_delay 99", "2 clear_delay 0", "2 clear_delay 600001",
				  "2 clear_delay 4294967295",
				  /* a bad value is refused even when the key comes again (dm_hostile) */
				  "8 clear_delay 2147483649 clear_delay 101 resync_rate 600001 clear_delay 5000",
				  "4 clear_delay 99 clear_delay 100" },
	  E_CLEAR },
	{ "clear_not_a_number", { "2 clear_delay abc", "2 clear_delay 1000ms" }, E_CLEAR },
	{ "clear_signed", { "2 clear_delay +1000", "2 clear_delay -1000" }, E_CLEAR },
	{ "clear_overflow", { "2 clear_delay 4294968296" }, E_CLEAR },
	{ "deadline_out_of_range", { "2 io_deadline 99", "2 io_deadline 1", "2 io_deadline 600001" },
	  E_DL },
	{ "deadline_not_a_number", { "2 io_deadline abc", "2 io_deadline 5s" }, E_DL },
	{ "deadline_signed", { "2 io_deadline -1", "2 io_deadline +100" }, E_DL },
	{ "deadline_overflow", { "2 io_deadline 4294967296" }, E_DL },
	{ "extra_words", { "0 extra", "2 resync_rate 10 extra", "2 resync_rate 10 clear_delay 100",
			   "6 resync_rate 1 clear_delay 100 io_deadline 0 1" },
	  E_EXTRA },
};

static void test_bad(void **state)
{
	const struct bad_case *c = *state;
	struct metro_table_opts o;
	const char *err;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(c->lines) && c->lines[i]; i++) {
		err = NULL;
		if (parse_line(c->lines[i], &o, &err) != -EINVAL)
			print_message("# \"%s\" accepted\n", c->lines[i]);
		assert_int_equal(parse_line(c->lines[i], &o, &err), -EINVAL);
		assert_non_null(err);
		if (strcmp(err, c->err))
			print_message("# \"%s\": %s\n", c->lines[i], err);
		assert_string_equal(err, c->err);
	}
}

/* An empty word (the kernel never splits one out, but the parser is total). */
static void test_empty_words(void **state)
{
	char e[] = "", two[] = "2", key[] = "resync_rate";
	char *w1[] = { e };
	char *w2[] = { two, key, e };
	char *w3[] = { two, e, two };
	struct metro_table_opts o;
	const char *err;

	(void)state;
	assert_int_equal(metro_table_parse_opts(1, w1, &o, &err), -EINVAL);
	assert_string_equal(err, E_COUNT);
	assert_int_equal(metro_table_parse_opts(3, w2, &o, &err), -EINVAL);
	assert_string_equal(err, E_RATE);
	assert_int_equal(metro_table_parse_opts(3, w3, &o, &err), -EINVAL);
	assert_string_equal(err, E_KEY);
}

/* ---------------------------------------------------------------------- */
/* metro_table_opts_check and metro_table_opts_format                     */
/* ---------------------------------------------------------------------- */

static void test_check(void **state)
{
	static const struct {
		struct metro_table_opts o;
		const char *err;
	} cases[] = {
		{ { 0, 5000, 5000, 0, 0, 0, 0 }, NULL },
		{ { 2147483648U, 100, 0, 'A', 0, 0, 0 }, NULL },
		{ { 1, 600000, 600000, 'B', 0, 0, 0 }, NULL },
		{ { 2147483649U, 5000, 5000, 0, 0, 0, 0 }, E_RATE },
		{ { 0, 99, 5000, 0, 0, 0, 0 }, E_CLEAR },
		{ { 0, 600001, 5000, 0, 0, 0, 0 }, E_CLEAR },
		{ { 0, 5000, 99, 0, 0, 0, 0 }, E_DL },
		{ { 0, 5000, 600001, 0, 0, 0, 0 }, E_DL },
		{ { 0, 5000, 5000, 'C', 0, 0, 0 }, E_WM },
		{ { 0, 5000, 5000, 'a', 0, 0, 0 }, E_WM },
		{ { 0, 5000, 5000, 0, METRO_READ_DIRECT, 0, 0 }, NULL },
		{ { 0, 5000, 5000, 0, METRO_READ_BOUNCE, 0, 0 }, E_RM },
		{ { 0, 5000, 5000, 0, METRO_READ_BOUNCE, 0, METRO_LEGS_A }, NULL },
		{ { 0, 5000, 5000, 0, METRO_READ_BOUNCE, 0, 4 }, E_RM },
		{ { 0, 5000, 5000, 0, METRO_READ_DIRECT, 0, METRO_LEGS_B }, E_RM },
		{ { 0, 5000, 5000, 0, METRO_READ_AUTO, 0, METRO_LEGS_AB }, NULL },
		{ { 0, 5000, 5000, 0, 3, 0, 0 }, E_RM },
		{ { 0, 5000, 5000, 0, 0xffffffffU, 0, 0 }, E_RM },
		{ { 0, 5000, 5000, 0, 0, METRO_FAILFAST_ALL, 0 }, NULL },
		{ { 0, 5000, 5000, 0, 0, 4, 0 }, E_FF },
		{ { 0, 5000, 5000, 0, 0, 0xffffffffU, 0 }, E_FF },
	};
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		err = "not touched";
		assert_int_equal(metro_table_opts_check(&cases[i].o, &err), cases[i].err ? -EINVAL : 0);
		if (cases[i].err)
			assert_string_equal(err, cases[i].err);
		else
			assert_null(err);
	}
}

/* Formatting gives the STATUSTYPE_TABLE words, which parse back the same. */
static void test_format(void **state)
{
	struct metro_table_opts o, back;
	char buf[METRO_TABLE_OPTS_LEN];
	const char *err;
	size_t i;

	(void)state;
	metro_table_opts_default(&o);
	metro_table_opts_format(&o, buf);
	assert_string_equal(buf, "");
	o.io_deadline = 0;
	o.write_mostly = 'B';
	metro_table_opts_format(&o, buf);
	assert_string_equal(buf, "4 io_deadline 0 write_mostly B");
	o = (struct metro_table_opts){ METRO_MAX_RESYNC_RATE, METRO_MAX_CLEAR_DELAY_MS,
				       METRO_MAX_IO_DEADLINE_MS, 'A', METRO_READ_BOUNCE,
				       METRO_FAILFAST_ALL, METRO_LEGS_B };
	metro_table_opts_format(&o, buf);
	assert_string_equal(buf, "12 resync_rate 2147483648 clear_delay 600000 io_deadline 600000 write_mostly A read_mode bounce:B failfast AB");
	assert_true(strlen(buf) < sizeof(buf));
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		/* Same padding in both, so that the bytes compare equal. */
		memset(&o, 0, sizeof(o));
		memset(&back, 0, sizeof(back));
		assert_int_equal(parse_line(good[i].line, &o, &err), 0);
		metro_table_opts_format(&o, buf);
		assert_int_equal(parse_line(buf, &back, &err), 0);
		assert_memory_equal(&o, &back, sizeof(o));
	}
}

int main(void)
{
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_good_lines),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_words),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_format),
	};
	struct CMUnitTest tests[ARRAY_SIZE(fixed) + ARRAY_SIZE(bad)];
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(fixed); i++)
		tests[n++] = fixed[i];
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct CMUnitTest t = cmocka_unit_test_prestate(test_bad, (void *)&bad[i]);

		t.name = bad[i].name;
		tests[n++] = t;
	}
	return _cmocka_run_group_tests("table", tests, n, NULL, NULL);
}
