/* SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later */
/*
 * dm-metro table line: the optional arguments after the two legs,
 *
 *   <#opt_args> [resync_rate <KiB/s>] [clear_delay <ms>] [io_deadline <ms>]
 *               [write_mostly <A|B>] [read_mode <auto|direct|bounce>[:<A|B|AB>]]
 *               [failfast <A|B|AB>]
 *
 * their defaults and limits, and the parser the constructor runs on them.
 * Shared by the kernel target and by userspace (metroctl, the unit tests
 * and the fuzzers) like metro-format.h: no kernel-only types, no
 * allocation, no I/O.  Documentation/dm-metro.rst describes the table line.
 */
#ifndef METRO_TABLE_H
#define METRO_TABLE_H

#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/stddef.h>
#else
/* userspace: errno values, NULL */
#include "metro-format-user.h"
#endif

#define METRO_DEFAULT_IO_DEADLINE_MS	5000U
#define METRO_MIN_IO_DEADLINE_MS	100U
#define METRO_MAX_IO_DEADLINE_MS	600000U

#define METRO_DEFAULT_CLEAR_DELAY_MS	5000U
#define METRO_MIN_CLEAR_DELAY_MS	100U
#define METRO_MAX_CLEAR_DELAY_MS	600000U

#define METRO_DEFAULT_RESYNC_RATE	0U	/* no fixed bound */
#define METRO_MAX_RESYNC_RATE		(1U << 31)

/* At most one "key value" pair of each option. */
#define METRO_MAX_OPT_ARGS		12U

/*
 * read_mode: how reads use the caller's pages under an I/O deadline.  A
 * read sent to a leg whose reads are bounced goes through bounce pages
 * and is abandoned at the deadline if the leg stalls; one sent to any
 * other leg fills the caller's pages and is waited for.  Bouncing costs a
 * copy, so it is for the legs that can stall: those at another site.
 *
 *   auto[:LEGS]    the default: bounce the reads of the write_mostly leg,
 *                  of the failfast legs and of LEGS, which metroctl names
 *                  from the legs' transports (NVMe/TCP, iSCSI, NBD...:
 *                  what it found, not a setting; not recorded)
 *   direct         bounce no read
 *   bounce[:LEGS]  bounce the reads of LEGS (default both)
 *
 * The values are those recorded in the superblock (with the legs of
 * bounce, see metro-format.h); 0 was "bounce" before auto existed, when
 * it was the default.
 */
#define METRO_READ_AUTO			0U
#define METRO_READ_DIRECT		1U
#define METRO_READ_BOUNCE		2U

/*
 * A set of legs, for failfast and read_mode: the legs whose reads ask the
 * transport not to retry (REQ_FAILFAST_TRANSPORT) while the other leg can
 * serve them, the legs whose reads are bounced.  As recorded in the
 * superblock.
 */
#define METRO_LEGS_A			1U
#define METRO_LEGS_B			2U
#define METRO_LEGS_AB			(METRO_LEGS_A | METRO_LEGS_B)
#define METRO_FAILFAST_A		METRO_LEGS_A
#define METRO_FAILFAST_B		METRO_LEGS_B
#define METRO_FAILFAST_ALL		METRO_LEGS_AB

struct metro_table_opts {
	unsigned int resync_rate;	/* KiB/s, 0 = no fixed bound */
	unsigned int clear_delay;	/* ms */
	unsigned int io_deadline;	/* ms, 0 = none */
	/* 'A' or 'B': that leg reads only when the other cannot; 0: none */
	char write_mostly;
	unsigned int read_mode;		/* METRO_READ_* */
	unsigned int failfast;		/* METRO_FAILFAST_* mask, 0: none */
	/* METRO_LEGS_*: bounce: the legs bounced; auto: the legs found remote */
	unsigned int read_legs;
};

/*
 * A decimal unsigned int, strictly: one or more digits and nothing else
 * (no sign, no space, no base prefix).  0, -EINVAL, or -ERANGE when the
 * digits are a value that does not fit.
 */
static inline int metro_table_parse_uint(const char *s, unsigned int *val)
{
	unsigned int v = 0, d;
	int r = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		/* Too large, but a later non-digit still makes it -EINVAL. */
		d = (unsigned int)(*s - '0');
		if (r || v > (~0U - d) / 10)
			r = -ERANGE;
		else
			v = v * 10 + d;
	}
	if (!r)
		*val = v;
	return r;
}

/* @word equals the lower-case @key, ignoring the case of ASCII letters. */
static inline int metro_table_key_is(const char *word, const char *key)
{
	char c;

	for (; *key; word++, key++) {
		c = *word;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != *key)
			return 0;
	}
	return !*word;
}

/* What the constructor reports for a bad value of each option. */
#define METRO_ERR_RESYNC_RATE	"Invalid resync_rate: expected KiB/s between 0 and 2147483648"
#define METRO_ERR_CLEAR_DELAY	"Invalid clear_delay: expected milliseconds between 100 and 600000"
#define METRO_ERR_IO_DEADLINE	"Invalid io_deadline: expected 0 (none) or milliseconds between 100 and 600000"
#define METRO_ERR_WRITE_MOSTLY	"Invalid write_mostly: expected A or B, the leg that serves reads only when the other cannot"
#define METRO_ERR_READ_MODE	"Invalid read_mode: expected auto, direct (no copy, waited for) or bounce (abandoned at the I/O deadline), bounce and auto optionally with :A, :B or :AB"
#define METRO_ERR_FAILFAST	"Invalid failfast: expected A, B or AB, the legs whose reads the transport should not retry"

/* "A", "B" or "AB" for a non-empty set of legs, as the table line has it. */
static inline const char *metro_legs_name(unsigned int mask)
{
	return mask == METRO_LEGS_AB ? "AB" : mask == METRO_LEGS_A ? "A" : "B";
}

static inline const char *metro_failfast_name(unsigned int mask)
{
	return metro_legs_name(mask);
}

/* "auto", "direct" or "bounce", as the table line has it. */
static inline const char *metro_read_mode_name(unsigned int mode)
{
	return mode == METRO_READ_DIRECT ? "direct" : mode == METRO_READ_BOUNCE ? "bounce" : "auto";
}

/*
 * Does the table line print the read_legs of @o after the mode?  Not for
 * bounce of both legs (that is "bounce"), nor when there are none.
 */
static inline int metro_read_legs_shown(const struct metro_table_opts *o)
{
	return o->read_legs && !(o->read_mode == METRO_READ_BOUNCE && o->read_legs == METRO_LEGS_AB);
}

/*
 * The legs whose reads are bounced under @o (METRO_LEGS_*): none without
 * an I/O deadline.  The target reads by it, and metroctl shows it.
 */
static inline unsigned int metro_read_bounce_legs(const struct metro_table_opts *o)
{
	unsigned int legs;

	if (!o->io_deadline || o->read_mode == METRO_READ_DIRECT)
		return 0;
	if (o->read_mode == METRO_READ_BOUNCE)
		return o->read_legs;
	legs = o->read_legs | o->failfast;
	if (o->write_mostly == 'A')
		legs |= METRO_LEGS_A;
	else if (o->write_mostly == 'B')
		legs |= METRO_LEGS_B;
	return legs;
}

/*
 * Parse the set of legs in @s ("A", "B" or "AB", any case): 0 and *@legs
 * set, or -EINVAL.
 */
static inline int metro_table_parse_legs(const char *s, unsigned int *legs)
{
	if (metro_table_key_is(s, "a"))
		*legs = METRO_LEGS_A;
	else if (metro_table_key_is(s, "b"))
		*legs = METRO_LEGS_B;
	else if (metro_table_key_is(s, "ab"))
		*legs = METRO_LEGS_AB;
	else
		return -EINVAL;
	return 0;
}

/*
 * Parse a read_mode value, MODE[:LEGS] (see METRO_READ_AUTO above) into
 * @o: 0, or -EINVAL with @o unchanged.
 */
static inline int metro_table_parse_read_mode(const char *s, struct metro_table_opts *o)
{
	char word[8];
	unsigned int i, mode, legs = 0;

	for (i = 0; s[i] && s[i] != ':'; i++) {
		if (i == sizeof(word) - 1)
			return -EINVAL;
		word[i] = s[i];
	}
	word[i] = '\0';
	if (metro_table_key_is(word, "auto"))
		mode = METRO_READ_AUTO;
	else if (metro_table_key_is(word, "direct"))
		mode = METRO_READ_DIRECT;
	else if (metro_table_key_is(word, "bounce"))
		mode = METRO_READ_BOUNCE;
	else
		return -EINVAL;
	if (s[i] == ':') {
		if (mode == METRO_READ_DIRECT || metro_table_parse_legs(s + i + 1, &legs))
			return -EINVAL;
	} else if (mode == METRO_READ_BOUNCE) {
		legs = METRO_LEGS_AB;
	}
	o->read_mode = mode;
	o->read_legs = legs;
	return 0;
}

/* Every option at its default. */
static inline void metro_table_opts_default(struct metro_table_opts *o)
{
	o->resync_rate = METRO_DEFAULT_RESYNC_RATE;
	o->clear_delay = METRO_DEFAULT_CLEAR_DELAY_MS;
	o->io_deadline = METRO_DEFAULT_IO_DEADLINE_MS;
	o->write_mostly = 0;
	o->read_mode = METRO_READ_AUTO;
	o->failfast = 0;
	o->read_legs = 0;
}

/*
 * Are the values of @o within their limits?  0, or -EINVAL with @err set
 * to the message of the first one that is not.  The parser below and the
 * superblock decoder (options recorded on disk) both check with it.
 */
static inline int metro_table_opts_check(const struct metro_table_opts *o,
					 const char **err)
{
	*err = NULL;
	if (o->resync_rate > METRO_MAX_RESYNC_RATE)
		*err = METRO_ERR_RESYNC_RATE;
	else if (o->clear_delay < METRO_MIN_CLEAR_DELAY_MS ||
		 o->clear_delay > METRO_MAX_CLEAR_DELAY_MS)
		*err = METRO_ERR_CLEAR_DELAY;
	else if (o->io_deadline && (o->io_deadline < METRO_MIN_IO_DEADLINE_MS ||
				    o->io_deadline > METRO_MAX_IO_DEADLINE_MS))
		*err = METRO_ERR_IO_DEADLINE;
	else if (o->write_mostly && o->write_mostly != 'A' && o->write_mostly != 'B')
		*err = METRO_ERR_WRITE_MOSTLY;
	else if (o->read_mode > METRO_READ_BOUNCE || (o->read_legs & ~METRO_LEGS_AB) ||
		 (o->read_mode == METRO_READ_DIRECT && o->read_legs) ||
		 (o->read_mode == METRO_READ_BOUNCE && !o->read_legs))
		*err = METRO_ERR_READ_MODE;
	else if (o->failfast & ~METRO_FAILFAST_ALL)
		*err = METRO_ERR_FAILFAST;
	return *err ? -EINVAL : 0;
}

/*
 * Parse the @argc words @argv that follow the two legs of a table line
 * (none at all is fine: every option keeps its default).  The first word is
 * the number of words that follow, at most METRO_MAX_OPT_ARGS; then come
 * "key value" pairs in any order, keys in any case, the last of a repeated
 * key counting.  Every word must be used.
 *
 * Returns 0 with @o filled in (defaults for what is not given) and @err set
 * to NULL, or -EINVAL with @err set to the reason the constructor reports;
 * @o is then unspecified.
 */
static inline int metro_table_parse_opts(unsigned int argc, char *const *argv,
					 struct metro_table_opts *o,
					 const char **err)
{
	unsigned int n, *val;
	const char *key, *bad = NULL;

	metro_table_opts_default(o);
	*err = NULL;
	if (!argc)
		return 0;
	if (metro_table_parse_uint(argv[0], &n) || n > METRO_MAX_OPT_ARGS ||
	    n > argc - 1) {
		*err = "Invalid number of optional arguments";
		return -EINVAL;
	}
	argv++;
	argc--;

	while (n) {
		key = argv[0];
		if (n == 1) {
			*err = "Optional argument is missing its value";
			return -EINVAL;
		}
		val = NULL;
		if (metro_table_key_is(key, "resync_rate")) {
			val = &o->resync_rate;
			bad = METRO_ERR_RESYNC_RATE;
		} else if (metro_table_key_is(key, "clear_delay")) {
			val = &o->clear_delay;
			bad = METRO_ERR_CLEAR_DELAY;
		} else if (metro_table_key_is(key, "io_deadline")) {
			val = &o->io_deadline;
			bad = METRO_ERR_IO_DEADLINE;
		} else if (metro_table_key_is(key, "write_mostly")) {
			if (metro_table_key_is(argv[1], "a")) {
				o->write_mostly = 'A';
			} else if (metro_table_key_is(argv[1], "b")) {
				o->write_mostly = 'B';
			} else {
				*err = METRO_ERR_WRITE_MOSTLY;
				return -EINVAL;
			}
		} else if (metro_table_key_is(key, "read_mode")) {
			if (metro_table_parse_read_mode(argv[1], o)) {
				*err = METRO_ERR_READ_MODE;
				return -EINVAL;
			}
		} else if (metro_table_key_is(key, "failfast")) {
			if (metro_table_parse_legs(argv[1], &o->failfast)) {
				*err = METRO_ERR_FAILFAST;
				return -EINVAL;
			}
		} else {
			*err = "Unknown optional argument: expected resync_rate, clear_delay, io_deadline, write_mostly, read_mode or failfast";
			return -EINVAL;
		}
		if (val && metro_table_parse_uint(argv[1], val)) {
			*err = bad;
			return -EINVAL;
		}
		/*
		 * Every value must be valid, also one that a repeated key
		 * replaces later: the others were checked as they came, so
		 * this finds the new one.
		 */
		if (metro_table_opts_check(o, err))
			return -EINVAL;
		argv += 2;
		argc -= 2;
		n -= 2;
	}
	if (argc) {
		*err = "Unexpected arguments after the optional arguments";
		return -EINVAL;
	}
	return 0;
}

/*
 * metro_table_opts_format - the optional arguments of a table line for @o,
 * the way STATUSTYPE_TABLE prints them: only what differs from the
 * defaults, "" when nothing does.  metroctl builds its table lines with it.
 */
#ifndef __KERNEL__
#include <stdio.h>

/* Bytes that hold any formatted set of options, with the NUL. */
#define METRO_TABLE_OPTS_LEN	128

static inline void metro_table_opts_format(const struct metro_table_opts *o,
					   char buf[METRO_TABLE_OPTS_LEN])
{
	const size_t len = METRO_TABLE_OPTS_LEN;
	unsigned int nr = 0;
	size_t off = 0;

	nr += o->resync_rate != METRO_DEFAULT_RESYNC_RATE ? 2 : 0;
	nr += o->clear_delay != METRO_DEFAULT_CLEAR_DELAY_MS ? 2 : 0;
	nr += o->io_deadline != METRO_DEFAULT_IO_DEADLINE_MS ? 2 : 0;
	nr += o->write_mostly ? 2 : 0;
	nr += o->read_mode != METRO_READ_AUTO || o->read_legs ? 2 : 0;
	nr += o->failfast ? 2 : 0;
	buf[0] = '\0';
	if (!nr)
		return;
	/*
	 * At most 110 characters: 10 digits, 6 digits, 6 digits, a letter,
	 * bounce:AB, two letters.
	 */
	off += (size_t)snprintf(buf + off, len - off, "%u", nr);
	if (o->resync_rate != METRO_DEFAULT_RESYNC_RATE)
		off += (size_t)snprintf(buf + off, len - off, " resync_rate %u", o->resync_rate);
	if (o->clear_delay != METRO_DEFAULT_CLEAR_DELAY_MS)
		off += (size_t)snprintf(buf + off, len - off, " clear_delay %u", o->clear_delay);
	if (o->io_deadline != METRO_DEFAULT_IO_DEADLINE_MS)
		off += (size_t)snprintf(buf + off, len - off, " io_deadline %u", o->io_deadline);
	if (o->write_mostly)
		off += (size_t)snprintf(buf + off, len - off, " write_mostly %c", o->write_mostly);
	if (o->read_mode != METRO_READ_AUTO || o->read_legs)
		off += (size_t)snprintf(buf + off, len - off, " read_mode %s%s%s",
					metro_read_mode_name(o->read_mode),
					metro_read_legs_shown(o) ? ":" : "",
					metro_read_legs_shown(o) ? metro_legs_name(o->read_legs) : "");
	if (o->failfast)
		snprintf(buf + off, len - off, " failfast %s", metro_failfast_name(o->failfast));
}
#endif

#endif /* METRO_TABLE_H */
