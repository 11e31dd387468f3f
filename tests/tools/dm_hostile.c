// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm_hostile - thousands of random table lines or messages for the metro
 * target, from one process through libdevmapper (a dmsetup process per
 * line manages a few per second under TCG).  Run by
 * tests/cases/hostile_input.sh in the test VM.
 *
 *   dm_hostile [-t SECS] [-H SECS] [-x DEV]... [-p] [-n] tables NAME N SEED LEGA LEGB SECTORS
 *   dm_hostile [-t SECS] [-H SECS] [-p] [-n] messages NAME N SEED
 *
 * tables: creates NAME with no table, loads N random "metro" tables into
 * its inactive slot (a table that happens to be valid is cleared again,
 * never resumed, so nothing is written to the legs), removes NAME, and
 * checks that both legs can be opened exclusively again (no reference
 * left behind).  LEGA and LEGB carry a stopped volume whose data area is
 * SECTORS long.
 * messages: sends N random messages to the active metro device NAME.
 *
 * Every line is also judged by a reference model of the documented
 * grammar (Documentation/dm-metro.rst; how dm core resolves a device name
 * is modelled on Linux 6.1): valid, invalid, or unknown (not judged).
 * The exit status is non-zero when the kernel accepted a line the model
 * says is invalid or refused one it says is valid; when a refusal came
 * with an errno other than the expected ones or without a line in the
 * kernel log (the "clear error"); when the kernel log shows a warning,
 * BUG or oops (/dev/kmsg is read after every ioctl, so a flood of refusal
 * messages cannot push one out of the ring buffer); or when the cleanup
 * fails.  An ioctl that has not returned after -H seconds (default 60) is
 * reported as a hang: the blocked tasks are dumped (sysrq w) and the exit
 * status is 3.
 *
 *   -t SECS  stop after SECS seconds even if fewer than N were tried
 *   -H SECS  an ioctl running longer than this is a hang (default 60)
 *   -x DEV   another block device for the leg words (tables; up to 8), one
 *            that carries no dm-metro superblock
 *   -p       print every line before it is sent (to reproduce with a SEED)
 *   -n       dry run: generate and judge the lines, no device-mapper at all
 * METRO_BAD_KMSG replaces the extended regular expression of kernel log
 * lines that count as a failure.
 *
 * SEED 0 picks one from the clock; the seed is printed either way, and the
 * same seed and arguments give the same lines.  The last line is
 *   tables: N tried, K accepted, R refused (...)
 * or "messages: ..." likewise.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <libdevmapper.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The patterns tests/vm/guest-run.sh fails a case on (BAD_DMESG there). */
#define BAD_KMSG "WARNING:|BUG:|Oops|Call Trace|general protection fault|kernel BUG|" \
	"UBSAN|KASAN|list_add corruption|list_del corruption|refcount_t:|" \
	"INFO: task .* blocked|stack-protector|double fault|Kernel panic"

#define SAMPLES 4		/* refusals printed in full */
#define MAX_REPORT 20		/* lines printed per kind of failure */

static bool dry_run, print_all;
static double time_limit;	/* seconds, 0 = none */
static unsigned int hang_secs = 60;
static int failures;

/* ------------------------------------------------------------------ */
/* Output */

/* Print @s escaped (\xNN for non-printables), at most @max bytes of it. */
static void put_escaped(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	for (i = 0; i < n && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\')
			fputs("\\\\", stdout);
		else if (c >= 0x20 && c < 0x7f)
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	if (n > max)
		printf("... (%zu bytes)", n);
}

static void say_line(const char *prefix, uint64_t start, uint64_t len,
		     const char *params, const char *extra)
{
	printf("%s'%" PRIu64 " %" PRIu64 " metro ", prefix, start, len);
	put_escaped(params, 300);
	printf("'%s\n", extra ? extra : "");
}

/* ------------------------------------------------------------------ */
/* PRNG: splitmix64 */

static uint64_t rng_state;

static uint64_t rnd64(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned int rnd(unsigned int n)
{
	return n ? (unsigned int)(rnd64() % n) : 0;
}

/* true one time in @n */
static bool one_in(unsigned int n)
{
	return rnd(n) == 0;
}

/* ------------------------------------------------------------------ */
/* Growable strings */

struct str {
	char *p;
	size_t len, cap;
};

static void s_addn(struct str *s, const char *w, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 256;

		while (s->len + n + 1 > cap)
			cap *= 2;
		s->p = realloc(s->p, cap);
		if (!s->p) {
			perror("dm_hostile: realloc");
			exit(2);
		}
		s->cap = cap;
	}
	memcpy(s->p + s->len, w, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void s_add(struct str *s, const char *w)
{
	s_addn(s, w, strlen(w));
}

static void s_addc(struct str *s, char c)
{
	s_addn(s, &c, 1);
}

/* append @w as a word (a space before it unless @s is empty) */
static void s_word(struct str *s, const char *w)
{
	if (s->len)
		s_addc(s, ' ');
	s_add(s, w);
}

static void s_clear(struct str *s)
{
	s->len = 0;
	if (s->p)
		s->p[0] = '\0';
	else
		s_addn(s, "", 0);
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		perror("dm_hostile: strdup");
		exit(2);
	}
	return d;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0) {
		perror("dm_hostile: vasprintf");
		exit(2);
	}
	va_end(ap);
	return p;
}

/* ------------------------------------------------------------------ */
/* Vocabulary */

struct vocab {
	const char **w;
	unsigned int n, cap;
};

static void v_add(struct vocab *v, const char *w)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? 2 * v->cap : 32;
		v->w = realloc(v->w, v->cap * sizeof(*v->w));
		if (!v->w) {
			perror("dm_hostile: realloc");
			exit(2);
		}
	}
	v->w[v->n++] = w;
}

static const char *v_pick(const struct vocab *v)
{
	return v->w[rnd(v->n)];
}

static struct vocab legs_v, nums_v, keys_v, junk_v, long_v, verbs_v;

static const char *const numbers[] = {
	"0", "1", "2", "3", "4", "5", "6", "7", "8", "12", "13", "99", "100",
	"101", "5000", "102400", "599999", "600000", "600001", "2147483647",
	"2147483648", "2147483649", "4294967295", "4294967296", "4294967298",
	"9223372036854775807", "18446744073709551615", "18446744073709551616",
	"99999999999999999999999", "-1", "-0", "+5", "+0", "++5",
	"0x10", "0X10", "010", "0b1", "1.5", "5k", "5e5", "NaN", "inf", "",
	"\\", "\\0", "0\\", "5\\ 5", "\xd9\xa3", "0000000000000000000000000005",
	"\xa0" "5", "5\x0b", "2\x0c", "1\r",
};

/* option names and near misses; the real ones get a random case too */
static const char *const keys[] = {
	"resync_rate", "clear_delay", "io_deadline", "write_mostly",
	"resync_rate", "clear_delay", "io_deadline", "write_mostly",
	"write-mostly", "write_most", "resync-rate", "resyncrate", "resync_rat", "resync_rate_", "resync_rate=5",
	"clear_delay\\", "io_deadlin", "io", "_", "rate", "io_deadline\xc2\xa0",
};

static const char *const junk[] = {
	"metro", "x", "abc", "-", "--", "---", "\\", "\\\\", "a\\ b", "%s%n%p",
	"'", "\"", "\x7f", "\x01", "\xff", "\xc3\xa9", "\xf0\x9f\x98\x80", "\t",
	"pause_resync", "resume_resync", "status", "#", ";", "$(id)", "..",
	"PARTUUID=00000000-01", "PARTLABEL=x", "nfs", "/dev/nfs", "/dev/cifs",
	"@cancel_deferred_remove",
};

static const char *const verbs[] = {
	"resync_rate", "pause_resync", "resume_resync",
	"resync_rate", "pause_resync", "resume_resync",
	"resync_rate_", "pause_resync\\", "pause", "resume", "resync",
	"clear_delay", "io_deadline", "resync_rate=5", "PAUSE_RESYNCX",
	"pause_resync\x01", "resume_resync\xc2\xa0", "status", "resync_rate\\ 5",
};

static char *long_token(char c, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);
	char *s = malloc(p + n + 1);

	if (!s) {
		perror("dm_hostile: malloc");
		exit(2);
	}
	memcpy(s, prefix, p);
	memset(s + p, c, n);
	s[p + n] = '\0';
	return s;
}

static char *random_token(size_t n)
{
	char *s = malloc(n + 1);
	size_t i;

	if (!s) {
		perror("dm_hostile: malloc");
		exit(2);
	}
	for (i = 0; i < n; i++)
		s[i] = (char)('!' + rnd(94));	/* printable, no space */
	s[n] = '\0';
	return s;
}

static void build_common_vocab(void)
{
	struct str rr = { 0 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(numbers); i++)
		v_add(&nums_v, numbers[i]);
	for (i = 0; i < ARRAY_SIZE(keys); i++)
		v_add(&keys_v, keys[i]);
	for (i = 0; i < ARRAY_SIZE(junk); i++)
		v_add(&junk_v, junk[i]);
	for (i = 0; i < ARRAY_SIZE(verbs); i++)
		v_add(&verbs_v, verbs[i]);
	v_add(&long_v, long_token('A', 3000, ""));
	v_add(&long_v, long_token('9', 4096, ""));
	v_add(&long_v, long_token('0', 4000, "0"));	/* a long 0 */
	v_add(&long_v, long_token('x', 4090, "/dev/"));
	v_add(&long_v, long_token('/', 4000, ""));
	v_add(&long_v, random_token(2048 + rnd(4000)));
	s_clear(&rr);
	for (i = 0; i < 300; i++)
		s_add(&rr, "resync_rate");
	v_add(&long_v, rr.p);
}

/* @w in a random mix of cases half of the time */
static const char *random_case(const char *w, struct str *buf)
{
	const char *p;

	if (one_in(2))
		return w;
	s_clear(buf);
	for (p = w; *p; p++)
		s_addc(buf, (char)(one_in(2) ? toupper((unsigned char)*p) : *p));
	return buf->p;
}

/* ------------------------------------------------------------------ */
/* A reference model of what the kernel must accept */

enum verdict { V_INVALID, V_VALID, V_UNKNOWN };
static const char *const verdict_name[] = { "invalid", "valid", "unknown" };

/* isspace() of the kernel's lib/ctype.c: 9-13, 32 and 160 */
static bool k_isspace(unsigned char c)
{
	return (c >= 9 && c <= 13) || c == ' ' || c == 0xa0;
}

static bool k_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Split @in into words like dm_split_args(): runs of kernel white space
 * separate words; with @escapes, a backslash quotes the next character
 * (libdevmapper doubles every backslash of a table line, so a table's
 * words reach the target with their backslashes; a message is sent as
 * it is).  Returns argc; the words stay valid until the next call.
 */
static unsigned int k_split(const char *in, bool escapes, char ***argvp)
{
	static char *buf;
	static char **argv;
	static size_t bufcap, argvcap;
	size_t n = strlen(in) + 1, argc = 0;
	char *out, *start;
	const char *p = in;

	if (n > bufcap) {
		free(buf);
		bufcap = n * 2;
		buf = malloc(bufcap);
	}
	if (n + 1 > argvcap) {
		free(argv);
		argvcap = (n + 1) * 2;
		argv = malloc(argvcap * sizeof(*argv));
	}
	if (!buf || !argv) {
		perror("dm_hostile: malloc");
		exit(2);
	}
	out = buf;
	for (;;) {
		while (*p && k_isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		start = out;
		while (*p) {
			if (escapes && *p == '\\' && p[1]) {
				*out++ = p[1];
				p += 2;
				continue;
			}
			if (k_isspace((unsigned char)*p))
				break;
			*out++ = *p++;
		}
		*out++ = '\0';
		argv[argc++] = start;
	}
	*argvp = argv;
	return (unsigned int)argc;
}

/* ASCII-only case-insensitive equality */
static bool word_is(const char *w, const char *key)
{
	for (; *key; w++, key++) {
		char c = *w;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != *key)
			return false;
	}
	return !*w;
}

/* The documented number syntax: decimal digits only, at most @max. */
static bool doc_uint(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t x = 0, d;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (!k_isdigit(*s))
			return false;
		d = (uint64_t)(*s - '0');
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
		if (x > max)
			return false;
	}
	*v = x;
	return true;
}

/* <#opt_args> <opt_args>... as Documentation/dm-metro.rst describes them */
static bool opts_valid(unsigned int argc, char **argv)
{
	uint64_t n, v;
	unsigned int i;

	if (!argc)
		return true;
	if (!doc_uint(argv[0], 8, &n) || n != argc - 1 || n % 2)
		return false;
	for (i = 1; i < argc; i += 2) {
		if (word_is(argv[i], "write_mostly")) {
			if (!word_is(argv[i + 1], "a") && !word_is(argv[i + 1], "b"))
				return false;
			continue;
		}
		if (!doc_uint(argv[i + 1], UINT32_MAX, &v))
			return false;
		if (word_is(argv[i], "resync_rate")) {
			if (v > (1U << 31))
				return false;
		} else if (word_is(argv[i], "clear_delay")) {
			if (v < 100 || v > 600000)
				return false;
		} else if (word_is(argv[i], "io_deadline")) {
			if (v && (v < 100 || v > 600000))
				return false;
		} else {
			return false;
		}
	}
	return true;
}

/*
 * The kernel's sscanf() %u: white space skipped, then at least one
 * decimal digit; the value wraps (simple_strntoull) and is truncated to
 * 32 bits.  Advances *s; false when there is no digit.
 */
static bool k_scan_u(const char **s, unsigned int *v)
{
	uint64_t x = 0;
	const char *p = *s;

	while (*p && k_isspace((unsigned char)*p))
		p++;
	if (!k_isdigit(*p))
		return false;
	while (k_isdigit(*p))
		x = x * 10 + (uint64_t)(*p++ - '0');
	*v = (unsigned int)x;
	*s = p;
	return true;
}

/* sscanf(s, "%u:%u%c") == 2 in the kernel */
static bool k_majmin(const char *s, unsigned int *maj, unsigned int *min)
{
	if (!k_scan_u(&s, maj) || *s++ != ':' || !k_scan_u(&s, min))
		return false;
	return !*s;
}

/* sscanf(s, "%u:%u:%u:%c") == 3 in the kernel */
static bool k_majminoff(const char *s, unsigned int *maj, unsigned int *min)
{
	unsigned int off;

	if (!k_scan_u(&s, maj) || *s++ != ':' || !k_scan_u(&s, min) ||
	    *s++ != ':' || !k_scan_u(&s, &off))
		return false;
	return *s != ':' || !s[1];
}

enum leg_kind { LEG_BAD, LEG_A, LEG_B, LEG_ABSENT, LEG_UNKNOWN };

static unsigned int dev_a_maj, dev_a_min, dev_b_maj, dev_b_min;

/* -x: other block devices, with no dm-metro superblock at all */
#define MAX_EXTRA 8
static const char *extra[MAX_EXTRA];
static unsigned int extra_maj[MAX_EXTRA], extra_min[MAX_EXTRA], nextra;

static enum leg_kind leg_match(unsigned int maj, unsigned int min)
{
	if (maj == dev_a_maj && min == dev_a_min)
		return LEG_A;
	if (maj == dev_b_maj && min == dev_b_min)
		return LEG_B;
	/* no other device carries a superblock of this volume */
	return LEG_BAD;
}

/* read "MAJ:MIN" from a sysfs file */
static bool sysfs_devno(const char *path, unsigned int *maj, unsigned int *min)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fscanf(f, "%u:%u", maj, min) == 2;
	fclose(f);
	return ok;
}

static bool sysfs_uint(const char *path, unsigned int *v)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fscanf(f, "%u", v) == 1;
	fclose(f);
	return ok;
}

/* blk_lookup_devt(name, part): a whole disk of that name */
static int lookup_disk(const char *name, unsigned int part, unsigned int *maj,
		       unsigned int *min)
{
	char path[PATH_MAX];
	unsigned int range;
	struct stat st;

	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	snprintf(path, sizeof(path), "/sys/class/block/%s/partition", name);
	if (!stat(path, &st))
		return -1;		/* a partition: not modelled */
	snprintf(path, sizeof(path), "/sys/class/block/%s/dev", name);
	if (!sysfs_devno(path, maj, min))
		return 0;
	snprintf(path, sizeof(path), "/sys/class/block/%s/range", name);
	if (!sysfs_uint(path, &range))
		return -1;
	if (part >= range)
		return 0;
	*min += part;
	return 1;
}

/* devt_from_devname() of init/do_mounts.c (the name after "/dev/") */
static enum leg_kind leg_devname(const char *name)
{
	unsigned int maj, min, part;
	char s[32], *p;
	int r;

	if (strlen(name) > 31)
		return LEG_BAD;
	strcpy(s, name);
	for (p = s; *p; p++)
		if (*p == '/')
			*p = '!';
	r = lookup_disk(s, 0, &maj, &min);
	if (r)
		return r > 0 ? leg_match(maj, min) : LEG_UNKNOWN;
	while (p > s && k_isdigit(p[-1]))
		p--;
	if (p == s || !*p || *p == '0')
		return LEG_BAD;
	part = (unsigned int)strtoul(p, NULL, 10);
	*p = '\0';
	r = lookup_disk(s, part, &maj, &min);
	if (r)
		return r > 0 ? leg_match(maj, min) : LEG_UNKNOWN;
	if (p < s + 2 || !k_isdigit(p[-2]) || p[-1] != 'p')
		return LEG_BAD;
	p[-1] = '\0';
	r = lookup_disk(s, part, &maj, &min);
	if (r)
		return r > 0 ? leg_match(maj, min) : LEG_UNKNOWN;
	return LEG_BAD;
}

/*
 * Which leg dm_get_device() would open for @w: "major:minor", else the
 * path (lookup_bdev), else name_to_dev_t() (Linux 6.1: "/dev/<disk>",
 * a bare hexadecimal device number, ...).
 */
static enum leg_kind classify_leg(const char *w)
{
	unsigned int maj, min;
	struct stat st;
	uint64_t x = 0;
	const char *p;

	if (!strcmp(w, "-"))
		return LEG_ABSENT;
	if (k_majmin(w, &maj, &min))
		return maj >= 4096 || min >= (1U << 20) ? LEG_BAD : leg_match(maj, min);
	if (!stat(w, &st) && S_ISBLK(st.st_mode))
		return leg_match(major(st.st_rdev), minor(st.st_rdev));
	if (!strcmp(w, "/dev/nfs") || !strcmp(w, "/dev/cifs"))
		return LEG_BAD;
	if (!strcmp(w, "/dev/ram"))
		return leg_match(1, 0);
	if (!strncmp(w, "PARTUUID=", 9) || !strncmp(w, "PARTLABEL=", 10))
		return LEG_UNKNOWN;
	if (!strncmp(w, "/dev/", 5))
		return leg_devname(w + 5);
	/* devt_from_devnum() */
	if (k_majminoff(w, &maj, &min))
		return maj >= 4096 || min >= (1U << 20) ? LEG_BAD : leg_match(maj, min);
	p = w;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	for (; isxdigit((unsigned char)*p); p++)
		x = x * 16 + (uint64_t)(k_isdigit(*p) ? *p - '0' : (*p | 0x20) - 'a' + 10);
	if (*p)
		return LEG_BAD;
	/* new_decode_dev() of the low 32 bits; 0 is no device */
	x &= 0xffffffffULL;
	if (!x)
		return LEG_BAD;
	maj = (unsigned int)((x & 0xfff00) >> 8);
	min = (unsigned int)((x & 0xff) | ((x >> 12) & 0xfff00));
	return leg_match(maj, min);
}

static uint64_t data_sectors;

static enum verdict judge_table(uint64_t start, uint64_t len, const char *params,
				bool alone)
{
	enum leg_kind a, b;
	unsigned int argc;
	char **argv;

	if (!alone)
		return V_UNKNOWN;
	if (!len || start || len > data_sectors)
		return V_INVALID;
	argc = k_split(params, false, &argv);
	if (argc < 2 || !opts_valid(argc - 2, argv + 2))
		return V_INVALID;
	a = classify_leg(argv[0]);
	b = classify_leg(argv[1]);
	if (a == LEG_UNKNOWN && b == LEG_UNKNOWN)
		return V_UNKNOWN;
	/* one leg not modelled: the other may still rule the line out */
	if (a == LEG_UNKNOWN)
		return b == LEG_B || b == LEG_ABSENT ? V_UNKNOWN : V_INVALID;
	if (b == LEG_UNKNOWN)
		return a == LEG_A || a == LEG_ABSENT ? V_UNKNOWN : V_INVALID;
	if ((a == LEG_A && b == LEG_B) || (a == LEG_A && b == LEG_ABSENT) ||
	    (a == LEG_ABSENT && b == LEG_B))
		return V_VALID;
	return V_INVALID;
}

static uint64_t device_sectors;	/* messages: the device's length */

static enum verdict judge_message(uint64_t sector, const char *msg)
{
	unsigned int argc;
	char **argv;
	uint64_t v;

	if (sector >= device_sectors)
		return V_INVALID;
	argc = k_split(msg, true, &argv);
	if (argc == 1 && (word_is(argv[0], "pause_resync") ||
			  word_is(argv[0], "resume_resync")))
		return V_VALID;
	if (argc == 2 && word_is(argv[0], "resync_rate") &&
	    doc_uint(argv[1], 1ULL << 31, &v))
		return V_VALID;
	return V_INVALID;
}

/* ------------------------------------------------------------------ */
/* Generators */

static const char *leg_a, *leg_b;		/* the legs' paths ... */
static const char *leg_a_num, *leg_b_num;	/* ... and "major:minor" */

/*
 * A word of any kind, numbers and option names most often; option names
 * in a random case in @cbuf, unless @cbuf is NULL.
 */
static const char *any_word(struct str *cbuf)
{
	unsigned int r = rnd(100);

	if (r < 25)
		return v_pick(&legs_v);
	if (r < 55)
		return v_pick(&nums_v);
	if (r < 75)
		return cbuf ? random_case(v_pick(&keys_v), cbuf) : v_pick(&keys_v);
	if (r < 97)
		return v_pick(&junk_v);
	return v_pick(&long_v);
}

static const char *valid_value(const char *key)
{
	static const char *const rate[] = { "0", "1", "100", "102400", "2147483648" };
	static const char *const clear[] = { "100", "5000", "600000", "101" };
	static const char *const deadline[] = { "0", "100", "5000", "600000" };
	static const char *const leg[] = { "A", "B", "a", "b" };

	if (word_is(key, "resync_rate"))
		return rate[rnd(ARRAY_SIZE(rate))];
	if (word_is(key, "clear_delay"))
		return clear[rnd(ARRAY_SIZE(clear))];
	if (word_is(key, "write_mostly"))
		return leg[rnd(ARRAY_SIZE(leg))];
	return deadline[rnd(ARRAY_SIZE(deadline))];
}

static void random_bytes(struct str *out, size_t n, bool printable)
{
	size_t i;

	for (i = 0; i < n; i++)
		s_addc(out, (char)(printable ? ' ' + rnd(95) : 1 + rnd(255)));
}

/* the leg words: what the leg positions get most of the time */
static const char *leg_word(unsigned int pos)
{
	if (rnd(100) < 65)
		return pos ? (one_in(4) ? leg_b_num : leg_b) :
			     (one_in(4) ? leg_a_num : leg_a);
	return v_pick(&legs_v);
}

static void gen_table_params(struct str *out, struct str *cbuf)
{
	unsigned int r = rnd(100), n, i;

	s_clear(out);
	if (r < 35) {				/* words of any kind */
		n = rnd(13);
		for (i = 0; i < n; i++)
			s_word(out, any_word(cbuf));
	} else if (r < 75) {			/* legs, then options */
		static const char *const opt_keys[] = { "resync_rate", "clear_delay", "io_deadline",
							"write_mostly" };
		unsigned int npairs = rnd(5);
		char num[16];
		const char *key, *count = num;

		s_word(out, leg_word(0));
		s_word(out, leg_word(1));
		if (!one_in(5)) {
			if (rnd(100) < 70)	/* right */
				snprintf(num, sizeof(num), "%u", 2 * npairs);
			else if (one_in(2))	/* one off (0 - 1 wraps) */
				snprintf(num, sizeof(num), "%u", 2 * npairs + 1 - 2 * rnd(2));
			else
				count = v_pick(&nums_v);
			s_word(out, count);
			for (i = 0; i < npairs; i++) {
				key = rnd(100) < 85 ?
				      random_case(opt_keys[rnd(ARRAY_SIZE(opt_keys))], cbuf) :
						      any_word(cbuf);
				s_word(out, key);
				s_word(out, rnd(100) < 60 ? valid_value(key) : v_pick(&nums_v));
			}
		}
		if (one_in(6))
			for (n = 1 + rnd(3), i = 0; i < n; i++)
				s_word(out, any_word(cbuf));
	} else if (r < 88) {			/* a valid line, mutated */
		const char *w[16];
		unsigned int nw = 0, k, m, j;

		w[nw++] = leg_a;
		w[nw++] = leg_b;
		if (one_in(2)) {
			static const char *const opt_keys[] = { "resync_rate", "clear_delay", "io_deadline",
							"write_mostly" };
			unsigned int np = 1 + rnd(ARRAY_SIZE(opt_keys));
			static char cnt[4];

			snprintf(cnt, sizeof(cnt), "%u", 2 * np);
			w[nw++] = cnt;
			for (k = 0; k < np; k++) {
				w[nw++] = opt_keys[k];
				w[nw++] = valid_value(opt_keys[k]);
			}
		}
		for (m = 1 + rnd(3); m; m--) {
			k = rnd(nw);
			switch (rnd(5)) {
			case 0:			/* replace a word */
				w[k] = any_word(NULL);
				break;
			case 1:			/* drop a word */
				if (nw > 1) {
					for (j = k; j + 1 < nw; j++)
						w[j] = w[j + 1];
					nw--;
				}
				break;
			case 2:			/* repeat a word */
				if (nw < ARRAY_SIZE(w)) {
					for (j = nw; j > k; j--)
						w[j] = w[j - 1];
					nw++;
				}
				break;
			case 3: {		/* swap two words */
				const char *t = w[k];

				j = rnd(nw);
				w[k] = w[j];
				w[j] = t;
				break;
			}
			default:		/* insert a word */
				if (nw < ARRAY_SIZE(w)) {
					for (j = nw; j > k; j--)
						w[j] = w[j - 1];
					w[k] = any_word(NULL);
					nw++;
				}
				break;
			}
		}
		for (k = 0; k < nw; k++)
			s_word(out, w[k]);
	} else if (r < 98) {			/* random bytes */
		n = one_in(10) ? 1000 + rnd(5000) : 1 + rnd(200);
		random_bytes(out, n, rnd(100) < 70);
	} else if (one_in(2)) {
		/* nothing at all, or only white space */
	} else {
		s_add(out, " \t ");
	}
}

static uint64_t gen_length(void)
{
	switch (rnd(20)) {
	case 10: return 0;
	case 11: return data_sectors + 1;
	case 12: return data_sectors - 1;
	case 13: return 1;
	case 14: return 8;
	case 15: return INT64_MAX;
	case 16: return UINT64_MAX;
	case 17: return 1ULL << 32;
	case 18: return (uint64_t)LLONG_MAX >> 9;
	case 19: return rnd64();
	default: return data_sectors;
	}
}

static void gen_message(struct str *out, struct str *cbuf)
{
	static const char *const real[] = { "pause_resync", "resume_resync", "resync_rate" };
	unsigned int r = rnd(100), n, i, k;
	char **argv;

	for (;;) {
		s_clear(out);
		if (r < 15) {			/* a valid message */
			k = rnd(3);
			s_add(out, random_case(real[k], cbuf));
			if (k == 2)
				s_word(out, valid_value("resync_rate"));
		} else if (r < 35) {		/* a real one with a bad argument */
			k = rnd(3);
			s_add(out, random_case(real[k], cbuf));
			if (k == 2 || one_in(2))
				s_word(out, v_pick(&nums_v));
			if (one_in(4))
				s_word(out, any_word(cbuf));
		} else if (r < 70) {		/* words */
			s_add(out, rnd(100) < 60 ? random_case(v_pick(&verbs_v), cbuf) :
						   any_word(cbuf));
			for (n = rnd(7), i = 0; i < n; i++)
				s_word(out, rnd(100) < 50 ? v_pick(&nums_v) : any_word(cbuf));
		} else if (r < 80) {		/* empty or white space only */
			static const char *const blank[] = { "", " ", "\t", "   ", "\xa0" };

			s_add(out, blank[rnd(ARRAY_SIZE(blank))]);
		} else {			/* random bytes */
			n = one_in(10) ? 1000 + rnd(5000) : 1 + rnd(100);
			random_bytes(out, n, rnd(100) < 70);
		}
		/* a first word starting with '@' is for dm core, not the target */
		if (!k_split(out->p, true, &argv) || argv[0][0] != '@')
			return;
		r = rnd(100);
	}
}

static uint64_t gen_sector(void)
{
	static const uint64_t odd[] = { 1, 7, 8, UINT64_MAX, 1ULL << 40, INT64_MAX, 0 };

	if (rnd(100) < 90)
		return 0;
	return odd[rnd(ARRAY_SIZE(odd))] ?: rnd64();
}

/* ------------------------------------------------------------------ */
/* libdevmapper and the kernel log */

static char dm_msg[512];

static void quiet_log(int level, const char *file, int line, int dm_errno_or_class,
		      const char *f, ...) __attribute__((format(printf, 5, 6)));
static void quiet_log(int level, const char *file, int line, int dm_errno_or_class,
		      const char *f, ...)
{
	va_list ap;

	(void)file;
	(void)line;
	(void)dm_errno_or_class;
	if ((level & 7) > 3)		/* keep errors only */
		return;
	va_start(ap, f);
	vsnprintf(dm_msg, sizeof(dm_msg), f, ap);
	va_end(ap);
}

static int kmsg_fd = -1;
static regex_t bad_re;
static unsigned long kmsg_lost;

/* kernel log lines seen during one operation */
struct kcap {
	unsigned int n;
	char first[400];
};

static void kmsg_open(void)
{
	int r = regcomp(&bad_re, getenv("METRO_BAD_KMSG") ?: BAD_KMSG,
			REG_EXTENDED | REG_NOSUB);

	if (r) {
		fprintf(stderr, "dm_hostile: bad METRO_BAD_KMSG pattern\n");
		exit(2);
	}
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd < 0) {
		printf("dm_hostile: cannot read /dev/kmsg (%s): the kernel log is not checked\n",
		       strerror(errno));
		return;
	}
	lseek(kmsg_fd, 0, SEEK_END);
}

static const char *cur_what = "setup";
static unsigned long cur_i;

/* Read what the kernel logged since the last call. */
static void kmsg_drain(struct kcap *c)
{
	static unsigned int nbad;
	char rec[8192];
	ssize_t n;
	char *msg, *nl;

	if (c) {
		c->n = 0;
		c->first[0] = '\0';
	}
	if (kmsg_fd < 0)
		return;
	for (;;) {
		n = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE) {	/* overwritten before we read it */
				kmsg_lost++;
				continue;
			}
			break;
		}
		rec[n] = '\0';
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = '\0';
		if (!regexec(&bad_re, msg, 0, NULL, 0)) {
			failures++;
			if (nbad++ < 40)
				printf("KERNEL LOG (during %s #%lu): %s\n", cur_what, cur_i, msg);
		}
		if (c && !c->n++)
			snprintf(c->first, sizeof(c->first), "%s", msg);
	}
}

/* The watchdog: an ioctl that does not return is a hang. */
static pthread_mutex_t wd_lock = PTHREAD_MUTEX_INITIALIZER;
static double wd_since;		/* 0: no operation running */
static const char *wd_line;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *watchdog(void *arg)
{
	int fd;

	(void)arg;
	for (;;) {
		sleep(1);
		pthread_mutex_lock(&wd_lock);
		if (wd_since && now() - wd_since > hang_secs) {
			printf("HANG: %s #%lu has not returned after %u s: ", cur_what, cur_i,
			       hang_secs);
			put_escaped(wd_line ? wd_line : "", 300);
			printf("\nHANG: blocked tasks follow in the kernel log (sysrq w)\n");
			fflush(stdout);
			fd = open("/proc/sysrq-trigger", O_WRONLY);
			if (fd >= 0) {
				if (write(fd, "w", 1) < 0)
					perror("dm_hostile: sysrq");
				close(fd);
			}
			_exit(3);
		}
		pthread_mutex_unlock(&wd_lock);
	}
	return NULL;
}

static void wd_start(const char *line)
{
	pthread_mutex_lock(&wd_lock);
	wd_line = line;
	wd_since = now();
	pthread_mutex_unlock(&wd_lock);
}

static void wd_stop(void)
{
	pthread_mutex_lock(&wd_lock);
	wd_since = 0;
	wd_line = NULL;
	pthread_mutex_unlock(&wd_lock);
}

static double slowest;		/* the longest ioctl so far, seconds */
static const char *slowest_what = "";
static unsigned long slowest_i;

/* Run @dmt; 0 or the errno of the failed ioctl (-1: failed before it). */
static int run(struct dm_task *dmt, const char *line, struct kcap *c)
{
	double t;
	int ok, err;

	dm_msg[0] = '\0';
	wd_start(line);
	t = now();
	ok = dm_task_run(dmt);
	t = now() - t;
	wd_stop();
	if (t > slowest) {
		slowest = t;
		slowest_what = cur_what;
		slowest_i = cur_i;
	}
	err = ok ? 0 : dm_task_get_errno(dmt);
	if (!ok && !err)
		err = -1;
	kmsg_drain(c);
	return err;
}

static const char *errname(int e)
{
	static char buf[32];

	switch (e) {
	case -1: return "not sent (libdevmapper)";
	case EINVAL: return "EINVAL";
	case ENODEV: return "ENODEV";
	case ENXIO: return "ENXIO";
	case ENOENT: return "ENOENT";
	case ENOTBLK: return "ENOTBLK";
	case EOVERFLOW: return "EOVERFLOW";
	case EIO: return "EIO";
	case ENOMEM: return "ENOMEM";
	case EBUSY: return "EBUSY";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ENODATA: return "ENODATA";
	case EBADMSG: return "EBADMSG";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case EFAULT: return "EFAULT";
	default:
		snprintf(buf, sizeof(buf), "errno %d", e);
		return buf;
	}
}

/* Simple commands on NAME: 1 on success. */
static int simple_task(int type, const char *name, const char *what)
{
	struct dm_task *dmt = dm_task_create(type);
	int err;

	if (!dmt || !dm_task_set_name(dmt, name)) {
		printf("dm_hostile: cannot set up %s of %s\n", what, name);
		return 0;
	}
	if (type == DM_DEVICE_CREATE)
		dm_task_set_add_node(dmt, DM_ADD_NODE_ON_CREATE);
	err = run(dmt, what, NULL);
	dm_task_destroy(dmt);
	dm_task_update_nodes();
	if (err) {
		printf("dm_hostile: %s of %s failed (%s): %s\n", what, name, errname(err), dm_msg);
		return 0;
	}
	return 1;
}

static bool get_info(const char *name, struct dm_info *info)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_INFO);
	bool ok;

	if (!dmt)
		return false;
	ok = dm_task_set_name(dmt, name) && dm_task_run(dmt) && dm_task_get_info(dmt, info);
	dm_task_destroy(dmt);
	return ok;
}

/* the live table's length and target type */
static bool get_table(const char *name, uint64_t *len, char *type, size_t tlen)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_TABLE);
	uint64_t start, length;
	char *ttype = NULL, *params = NULL;
	void *next = NULL;
	bool ok = false;

	if (!dmt)
		return false;
	if (!dm_task_set_name(dmt, name) || !dm_task_run(dmt))
		goto out;
	*len = 0;
	type[0] = '\0';
	do {
		next = dm_get_next_target(dmt, next, &start, &length, &ttype, &params);
		if (ttype) {
			*len = start + length;
			if (!type[0])
				snprintf(type, tlen, "%s", ttype);
		}
	} while (next);
	ok = true;
out:
	dm_task_destroy(dmt);
	return ok;
}

/* ------------------------------------------------------------------ */
/* Counting and reporting */

struct reason {
	char text[120];
	unsigned long n;
};

static struct reason reasons[48];
static unsigned int nreasons;
static unsigned long reasons_other;
static unsigned long errnos[256], errno_other;

/* the kernel's reason for a refusal, without the parts that vary */
static void count_reason(const char *msg)
{
	char key[120];
	const char *p = msg;
	unsigned int i, depth;
	size_t n;

	if (!strncmp(p, "device-mapper: ", 15))
		p += 15;
	if (!strncmp(p, "table: ", 7)) {	/* "table: 253:0: metro: ..." */
		const char *q = strstr(p + 7, ": ");

		if (q)
			p = q + 2;
	}
	/* without what varies: parenthesised parts, quoted words */
	for (n = 0, depth = 0; *p && *p != '"' && n < sizeof(key) - 1; p++) {
		if (*p == '(' && !depth++)
			key[n++] = '(';
		if (!depth)
			key[n++] = *p;
		if (*p == ')' && depth && !--depth && n < sizeof(key) - 1)
			key[n++] = ')';
	}
	key[n] = '\0';
	while (n && key[n - 1] == ' ')
		key[--n] = '\0';
	for (i = 0; i < nreasons; i++)
		if (!strcmp(reasons[i].text, key)) {
			reasons[i].n++;
			return;
		}
	if (nreasons == ARRAY_SIZE(reasons)) {
		reasons_other++;
		return;
	}
	snprintf(reasons[nreasons].text, sizeof(reasons[0].text), "%s", key);
	reasons[nreasons++].n = 1;
}

static int cmp_reason(const void *a, const void *b)
{
	const struct reason *x = a, *y = b;

	return x->n < y->n ? 1 : x->n > y->n ? -1 : 0;
}

static void print_summary_details(void)
{
	unsigned int i;

	if (nreasons) {
		printf("refusal reasons (first kernel log line of each refusal):\n");
		qsort(reasons, nreasons, sizeof(reasons[0]), cmp_reason);
		for (i = 0; i < nreasons; i++)
			printf("  %6lu  %s\n", reasons[i].n, reasons[i].text);
		if (reasons_other)
			printf("  %6lu  (other reasons)\n", reasons_other);
	}
	printf("refusals by errno:");
	for (i = 0; i < ARRAY_SIZE(errnos); i++)
		if (errnos[i])
			printf(" %s %lu,", errname((int)i), errnos[i]);
	if (errno_other)
		printf(" other %lu,", errno_other);
	printf("\n");
	if (kmsg_lost)
		printf("kernel log records lost (ring buffer overran): %lu\n", kmsg_lost);
	printf("slowest ioctl: %.0f ms (%s #%lu)\n", slowest * 1000, slowest_what, slowest_i);
}

static void count_errno(int e)
{
	if (e > 0 && (unsigned int)e < ARRAY_SIZE(errnos))
		errnos[e]++;
	else
		errno_other++;
}

static bool time_up(double t0)
{
	return time_limit > 0 && now() - t0 >= time_limit;
}

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end) {
		fprintf(stderr, "dm_hostile: bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

static uint64_t seed_from(const char *s)
{
	uint64_t seed = parse_u64(s, "SEED");

	if (!seed)
		seed = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^
		       (uint64_t)(now() * 1e6);
	return seed;
}

static void devno_of(const char *path, unsigned int *maj, unsigned int *min)
{
	struct stat st;

	if (stat(path, &st) || !S_ISBLK(st.st_mode)) {
		fprintf(stderr, "dm_hostile: %s is not a block device\n", path);
		exit(2);
	}
	*maj = major(st.st_rdev);
	*min = minor(st.st_rdev);
}

/* ------------------------------------------------------------------ */
/* tables */

/* a refused or accepted load: judge it and count it */
struct tally {
	unsigned long tried, accepted, refused, silent, bad_errno, not_sent;
	unsigned long wrong_accept, wrong_refuse, unknown, shown;
};

/* the closing lines of a run: failures, then "KIND: N tried, ..." */
static void print_tally(const struct tally *t, const char *kind, const char *items,
			double t0, uint64_t seed)
{
	double secs = now() - t0;

	if (t->not_sent)
		printf("refused by libdevmapper before the ioctl: %lu\n", t->not_sent);
	if (t->wrong_accept || t->wrong_refuse || t->silent || t->bad_errno)
		printf("FAILED: %lu invalid %s accepted, %lu valid %s refused, %lu refused without a kernel log line, %lu refused with an unexpected errno\n",
		       t->wrong_accept, items, t->wrong_refuse, items, t->silent, t->bad_errno);
	printf("%s: %lu tried, %lu accepted, %lu refused (%.1f s, %.0f per second, seed %" PRIu64 ")\n",
	       kind, t->tried, t->accepted, t->refused, secs, t->tried / (secs > 0 ? secs : 1), seed);
}

static int do_tables(const char *name, unsigned long n, uint64_t seed,
		     const char *a, const char *b)
{
	struct str params = { 0 }, params2 = { 0 }, cbuf = { 0 }, line = { 0 };
	struct tally t = { 0 };
	struct dm_info info;
	struct kcap kc;
	double t0;
	char *self_dev = NULL, *self_path, *dots;
	unsigned long i;
	int fd;

	leg_a = a;
	leg_b = b;
	devno_of(a, &dev_a_maj, &dev_a_min);
	devno_of(b, &dev_b_maj, &dev_b_min);
	for (i = 0; i < nextra; i++)
		devno_of(extra[i], &extra_maj[i], &extra_min[i]);
	printf("dm_hostile: tables on %s, seed %" PRIu64 ", %lu lines, legs %s (%u:%u) %s (%u:%u), %" PRIu64 " sectors\n",
	       name, seed, n, a, dev_a_maj, dev_a_min, b, dev_b_maj, dev_b_min, data_sectors);
	if (!dry_run) {
		cur_what = "create";
		if (!simple_task(DM_DEVICE_CREATE, name, "create (no table)"))
			return 2;
		if (!get_info(name, &info) || !info.exists) {
			printf("dm_hostile: %s does not exist after create\n", name);
			return 2;
		}
		self_dev = xasprintf("%u:%u", info.major, info.minor);
	} else {
		self_dev = xstrdup("253:0");
	}

	/* leg words: the right ones in every spelling, and others */
	v_add(&legs_v, a);
	v_add(&legs_v, b);
	v_add(&legs_v, "-");
	leg_a_num = xasprintf("%u:%u", dev_a_maj, dev_a_min);
	leg_b_num = xasprintf("%u:%u", dev_b_maj, dev_b_min);
	v_add(&legs_v, leg_a_num);
	v_add(&legs_v, leg_b_num);
	v_add(&legs_v, xasprintf("%x", (dev_a_maj << 8) | dev_a_min));	/* hex devno */
	v_add(&legs_v, xasprintf("%03u:%03u", dev_a_maj, dev_a_min));
	v_add(&legs_v, xasprintf("%u:%u:0", dev_b_maj, dev_b_min));
	v_add(&legs_v, xasprintf("%u:%ua", dev_a_maj, dev_a_min));
	v_add(&legs_v, strrchr(a, '/') ? strrchr(a, '/') + 1 : a);	/* "ram0" */
	dots = xasprintf("/dev/./%s", strrchr(b, '/') ? strrchr(b, '/') + 1 : b);
	v_add(&legs_v, dots);
	v_add(&legs_v, self_dev);
	self_path = xasprintf("/dev/mapper/%s", name);
	v_add(&legs_v, self_path);
	{
		static const char *const more[] = {
			"/dev/null", "/dev/zero", "/dev/nonexistent", "/dev", "/", "/dev/",
			"/dev/ram", "0:0", "240:0", "4095:1048575", "1:1048576", "4096:0",
			"-1:0", "1:-1", "4294967297:0", "1:", ":", ":0", "1:0:", "+1:+0",
			" 1:0", "", "100", "101", "0x101",
		};
		unsigned int k;

		for (k = 0; k < ARRAY_SIZE(more); k++)
			v_add(&legs_v, more[k]);
		for (k = 0; k < nextra; k++) {
			v_add(&legs_v, extra[k]);
			v_add(&legs_v, xasprintf("%u:%u", extra_maj[k], extra_min[k]));
		}
	}

	t0 = now();
	cur_what = "table";
	for (i = 0; i < n && !time_up(t0); i++) {
		uint64_t start = one_in(30) ? 1 + rnd(8) : 0, len = gen_length();
		uint64_t start2 = 0, len2 = 0;
		const char *type2 = NULL;
		enum verdict v;
		struct dm_task *dmt;
		int err;

		cur_i = i;
		gen_table_params(&params, &cbuf);
		if (one_in(16)) {		/* a second target behind the first */
			static const char *const types[] = { "metro", "metro", "error", "zero", "linear", "metr0" };

			type2 = types[rnd(ARRAY_SIZE(types))];
			start2 = one_in(4) ? rnd64() : start + len;
			len2 = gen_length();
			if (!strcmp(type2, "linear")) {
				s_clear(&params2);
				s_add(&params2, a);
				s_add(&params2, " 0");
			} else if (!strcmp(type2, "metro")) {
				gen_table_params(&params2, &cbuf);
			} else {
				s_clear(&params2);
			}
		}
		v = judge_table(start, len, params.p, !type2);
		if (print_all) {
			say_line("line: ", start, len, params.p, NULL);
			if (type2)
				printf("  + '%" PRIu64 " %" PRIu64 " %s %s'\n", start2, len2, type2,
				       params2.p);
			printf("  model: %s\n", verdict_name[v]);
		}
		t.tried++;
		if (dry_run) {
			if (v == V_VALID)
				t.accepted++;
			else if (v == V_INVALID)
				t.refused++;
			else
				t.unknown++;
			continue;
		}
		s_clear(&line);
		s_add(&line, params.p);
		dmt = dm_task_create(DM_DEVICE_RELOAD);
		if (!dmt || !dm_task_set_name(dmt, name) ||
		    !dm_task_add_target(dmt, start, len, "metro", params.p) ||
		    (type2 && !dm_task_add_target(dmt, start2, len2, type2, params2.p))) {
			printf("dm_hostile: cannot build the reload task\n");
			return 2;
		}
		err = run(dmt, line.p, &kc);
		dm_task_destroy(dmt);
		if (v == V_UNKNOWN)
			t.unknown++;
		if (!err) {
			t.accepted++;
			if (t.accepted <= 10)
				say_line("accepted (valid by chance): ", start, len, params.p,
					 type2 ? " + a second target" : NULL);
			if (v == V_INVALID) {
				failures++;
				if (t.wrong_accept++ < MAX_REPORT)
					say_line("ACCEPTED AN INVALID LINE: ", start, len, params.p, NULL);
			}
			cur_what = "clear";
			if (!simple_task(DM_DEVICE_CLEAR, name, "clear of an accepted table")) {
				failures++;
				say_line("  after loading: ", start, len, params.p, NULL);
			}
			cur_what = "table";
			continue;
		}
		t.refused++;
		if (err < 0) {			/* libdevmapper's own refusal */
			if (t.not_sent++ < SAMPLES)
				say_line("not sent (libdevmapper refused it): ", start, len, params.p, NULL);
			if (v == V_VALID) {
				failures++;
				t.wrong_refuse++;
				say_line("LIBDEVMAPPER REFUSED A VALID LINE: ", start, len, params.p, NULL);
			}
			continue;
		}
		count_errno(err);
		if (kc.n)
			count_reason(kc.first);
		if (t.shown < SAMPLES) {
			t.shown++;
			say_line("refused (sample): ", start, len, params.p,
				 type2 ? " + a second target" : NULL);
			printf("  %s; kernel: %s\n", errname(err), kc.n ? kc.first : "(nothing)");
		}
		/*
		 * The refusals: EINVAL (the line), ENODEV, ENXIO, EOVERFLOW (no
		 * such device), ENODATA, EBADMSG, EPROTONOSUPPORT (no usable
		 * superblock: metro_sb_decode()), EIO (the superblock cannot be
		 * read, e.g. from the device itself).  Not ENOMEM, EBUSY, ...
		 */
		if (err != EINVAL && err != ENODEV && err != ENXIO && err != EOVERFLOW &&
		    err != ENODATA && err != EBADMSG && err != EPROTONOSUPPORT && err != EIO) {
			failures++;
			if (t.bad_errno++ < MAX_REPORT) {
				say_line("REFUSED WITH AN UNEXPECTED ERROR: ", start, len, params.p, NULL);
				printf("  %s: %s; kernel: %s\n", errname(err), dm_msg,
				       kc.n ? kc.first : "(nothing)");
			}
		}
		if (!kc.n && kmsg_fd >= 0 && err > 0) {
			failures++;
			if (t.silent++ < MAX_REPORT)
				say_line("REFUSED WITHOUT A KERNEL LOG LINE: ", start, len, params.p, NULL);
		}
		if (v == V_VALID) {
			failures++;
			if (t.wrong_refuse++ < MAX_REPORT) {
				say_line("REFUSED A VALID LINE: ", start, len, params.p, NULL);
				printf("  %s; kernel: %s\n", errname(err), kc.n ? kc.first : "(nothing)");
			}
		}
	}
	if (t.tried < n)
		printf("dm_hostile: time limit of %.0f s reached after %lu lines\n", time_limit,
		       t.tried);

	if (!dry_run) {
		cur_what = "remove";
		if (!simple_task(DM_DEVICE_REMOVE, name, "remove")) {
			failures++;
		} else {
			/* no reference to the legs may be left behind */
			const char *legs[2] = { a, b };
			unsigned int k;

			for (k = 0; k < 2; k++) {
				fd = open(legs[k], O_RDONLY | O_EXCL | O_CLOEXEC);
				if (fd < 0) {
					failures++;
					printf("LEG STILL HELD: cannot open %s exclusively after removing %s: %s\n",
					       legs[k], name, strerror(errno));
				} else {
					close(fd);
				}
			}
		}
		kmsg_drain(NULL);
		print_summary_details();
	}
	if (t.unknown)
		printf("not judged by the model: %lu\n", t.unknown);
	print_tally(&t, "tables", "lines", t0, seed);
	free(params.p);
	free(params2.p);
	free(cbuf.p);
	free(line.p);
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* messages */

static int do_messages(const char *name, unsigned long n, uint64_t seed)
{
	struct str msg = { 0 }, cbuf = { 0 };
	struct tally t = { 0 };
	struct dm_info info;
	struct kcap kc;
	char type[32];
	unsigned long i;
	double t0;

	v_add(&legs_v, "-");
	v_add(&legs_v, "/dev/null");
	v_add(&legs_v, "1:0");
	if (!dry_run) {
		if (!get_info(name, &info) || !info.exists || !info.live_table) {
			printf("dm_hostile: %s does not exist or has no live table\n", name);
			return 2;
		}
		if (!get_table(name, &device_sectors, type, sizeof(type)) ||
		    strcmp(type, "metro")) {
			printf("dm_hostile: %s is not a metro device\n", name);
			return 2;
		}
	} else {
		device_sectors = 1ULL << 20;
	}
	printf("dm_hostile: messages to %s (%" PRIu64 " sectors), seed %" PRIu64 ", %lu messages\n",
	       name, device_sectors, seed, n);

	t0 = now();
	cur_what = "message";
	for (i = 0; i < n && !time_up(t0); i++) {
		uint64_t sector = gen_sector();
		enum verdict v;
		struct dm_task *dmt;
		int err;

		cur_i = i;
		gen_message(&msg, &cbuf);
		v = judge_message(sector, msg.p);
		if (print_all) {
			printf("message: sector %" PRIu64 " '", sector);
			put_escaped(msg.p, 300);
			printf("'\n  model: %s\n", verdict_name[v]);
		}
		t.tried++;
		if (dry_run) {
			if (v == V_VALID)
				t.accepted++;
			else
				t.refused++;
			continue;
		}
		dmt = dm_task_create(DM_DEVICE_TARGET_MSG);
		if (!dmt || !dm_task_set_name(dmt, name) || !dm_task_set_sector(dmt, sector) ||
		    !dm_task_set_message(dmt, msg.p)) {
			printf("dm_hostile: cannot build the message task\n");
			return 2;
		}
		err = run(dmt, msg.p, &kc);
		dm_task_destroy(dmt);
		if (!err) {
			t.accepted++;
			if (v != V_VALID) {
				failures++;
				if (t.wrong_accept++ < MAX_REPORT) {
					printf("ACCEPTED AN INVALID MESSAGE: sector %" PRIu64 " '", sector);
					put_escaped(msg.p, 300);
					printf("'\n");
				}
			}
			continue;
		}
		t.refused++;
		if (err < 0) {			/* libdevmapper's own refusal */
			if (t.not_sent++ < SAMPLES) {
				printf("not sent (libdevmapper refused it): '");
				put_escaped(msg.p, 300);
				printf("': %s\n", dm_msg);
			}
			if (v == V_VALID) {
				failures++;
				t.wrong_refuse++;
				printf("LIBDEVMAPPER REFUSED A VALID MESSAGE\n");
			}
			continue;
		}
		count_errno(err);
		if (kc.n)
			count_reason(kc.first);
		if (t.shown < SAMPLES) {
			t.shown++;
			printf("refused (sample): sector %" PRIu64 " '", sector);
			put_escaped(msg.p, 300);
			printf("'\n  %s; kernel: %s\n", errname(err), kc.n ? kc.first : "(nothing)");
		}
		if (err != EINVAL) {
			failures++;
			if (t.bad_errno++ < MAX_REPORT) {
				printf("MESSAGE REFUSED WITH AN UNEXPECTED ERROR %s: '", errname(err));
				put_escaped(msg.p, 300);
				printf("'\n  %s; kernel: %s\n", dm_msg, kc.n ? kc.first : "(nothing)");
			}
		}
		/*
		 * The target quotes the message's words in its refusal; printk
		 * cuts a line of more than about 1000 bytes, newline included,
		 * and /dev/kmsg shows such an unfinished record only once the
		 * next one is logged.
		 */
		if (!kc.n && kmsg_fd >= 0 && err > 0 && strlen(msg.p) < 900) {
			failures++;
			if (t.silent++ < MAX_REPORT) {
				printf("MESSAGE REFUSED WITHOUT A KERNEL LOG LINE: '");
				put_escaped(msg.p, 300);
				printf("'\n");
			}
		}
		if (v == V_VALID) {
			failures++;
			if (t.wrong_refuse++ < MAX_REPORT) {
				printf("REFUSED A VALID MESSAGE: sector %" PRIu64 " '", sector);
				put_escaped(msg.p, 300);
				printf("'\n  %s; kernel: %s\n", errname(err), kc.n ? kc.first : "(nothing)");
			}
		}
	}
	if (t.tried < n)
		printf("dm_hostile: time limit of %.0f s reached after %lu messages\n", time_limit,
		       t.tried);
	if (!dry_run) {
		if (!get_info(name, &info) || !info.exists || !info.live_table || info.suspended) {
			failures++;
			printf("DEVICE CHANGED: %s is gone, has no live table or is suspended\n", name);
		}
		kmsg_drain(NULL);
		print_summary_details();
	}
	print_tally(&t, "messages", "messages", t0, seed);
	free(msg.p);
	free(cbuf.p);
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
		"usage: dm_hostile [-t SECS] [-H SECS] [-x DEV]... [-p] [-n] tables NAME N SEED LEGA LEGB SECTORS\n"
		"       dm_hostile [-t SECS] [-H SECS] [-p] [-n] messages NAME N SEED\n");
	exit(2);
}

int main(int argc, char **argv)
{
	pthread_t wd;
	uint64_t seed;
	unsigned long n;
	int c, r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt(argc, argv, "+t:H:x:pn")) != -1) {
		switch (c) {
		case 'x':
			if (nextra == MAX_EXTRA)
				usage();
			extra[nextra++] = optarg;
			break;
		case 't':
			time_limit = strtod(optarg, NULL);
			break;
		case 'H':
			hang_secs = (unsigned int)parse_u64(optarg, "-H");
			break;
		case 'p':
			print_all = true;
			break;
		case 'n':
			dry_run = true;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 4)
		usage();
	n = (unsigned long)parse_u64(argv[2], "N");
	seed = seed_from(argv[3]);
	rng_state = seed;
	build_common_vocab();

	if (!dry_run) {
		dm_log_with_errno_init(quiet_log);
		/* no udev in the test VM: libdevmapper makes the nodes itself */
		if (access("/run/udev/control", F_OK)) {
			dm_udev_set_sync_support(0);
			dm_udev_set_checking(0);
		}
		kmsg_open();
		if (pthread_create(&wd, NULL, watchdog, NULL)) {
			fprintf(stderr, "dm_hostile: cannot start the watchdog\n");
			return 2;
		}
	}

	if (!strcmp(argv[0], "tables") && argc == 7) {
		data_sectors = parse_u64(argv[6], "SECTORS");
		r = do_tables(argv[1], n, seed, argv[4], argv[5]);
	} else if (!strcmp(argv[0], "messages") && argc == 4) {
		r = do_messages(argv[1], n, seed);
	} else {
		usage();
		return 2;
	}
	if (!dry_run)
		dm_lib_release();
	return r;
}
