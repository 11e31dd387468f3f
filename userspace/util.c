// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pure helpers: size parsing, name validation, UUID and state formatting.
 * No I/O here, so tests/unit and tests/fuzz can link this file alone.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/sysmacros.h>

#include "metroctl.h"

/*
 * parse_size - "4096", "4K", "4KiB", "4KB", "1g", "8s" (512-byte sectors).
 * Binary multiples only.  Returns 0, -EINVAL for a malformed string or
 * -ERANGE when the value does not fit 64 bits.
 */
int parse_size(const char *s, uint64_t *bytes)
{
	uint64_t v = 0, mult = 1;
	const char *p = s;
	int shift = 0;

	if (!s || !isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	switch (*p) {
	case '\0':
		break;
	case 's': case 'S':
		mult = 512;
		p++;
		break;
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	case 'b': case 'B':
		p++;
		break;
	default:
		return -EINVAL;
	}
	if (shift) {
		mult = 1ULL << shift;
		p++;
		if (*p == 'i' && (p[1] == 'B' || p[1] == 'b'))
			p += 2;
		else if (*p == 'B' || *p == 'b')
			p++;
	}
	if (*p)
		return -EINVAL;
	if (v && mult > UINT64_MAX / v)
		return -ERANGE;
	*bytes = v * mult;
	return 0;
}

/*
 * validate_name - a volume name is used as the device-mapper name
 * (/dev/mapper/NAME), stored in the superblock and exported to udev, so
 * it is restricted to characters that are safe in all three: letters,
 * digits and "._-+:@=", 1..63 bytes, not starting with '-', not "." or "..".
 * The decoder accepts a superset (any printable ASCII but ' ' and '/').
 */
int validate_name(const char *name, const char **why)
{
	size_t len, i;

	if (!name || !*name) {
		*why = "the volume name is empty";
		return -EINVAL;
	}
	len = strlen(name);
	if (len > METRO_NAME_LEN - 1) {
		*why = "the volume name is longer than 63 characters";
		return -EINVAL;
	}
	if (name[0] == '-') {
		*why = "the volume name must not start with '-'";
		return -EINVAL;
	}
	if (!strcmp(name, ".") || !strcmp(name, "..")) {
		*why = "the volume name must not be '.' or '..'";
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/') {
			*why = "the volume name must not contain '/'";
			return -EINVAL;
		}
		if (!isascii(c) || !(isalnum(c) || strchr("._-+:@=", c))) {
			*why = "the volume name may only contain letters, digits and ._-+:@=";
			return -EINVAL;
		}
	}
	*why = NULL;
	return 0;
}

void uuid_unparse(const uint8_t u[METRO_UUID_LEN], char out[37])
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
		 u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

void uuid_hex(const uint8_t u[METRO_UUID_LEN], char out[33])
{
	int i;

	for (i = 0; i < METRO_UUID_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", u[i]);
}

void metro_dm_uuid(const uint8_t vol_uuid[METRO_UUID_LEN], char out[64])
{
	char hex[33];

	uuid_hex(vol_uuid, hex);
	snprintf(out, 64, "METRO-%s", hex);
}

const char *format_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned int u = 0;
	double v = (double)bytes;

	while (v >= 1024.0 && u < ARRAY_SIZE(units) - 1) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else if (bytes % (1ULL << (10 * u)) == 0)
		snprintf(buf, len, "%llu %s",
			 (unsigned long long)(bytes >> (10 * u)), units[u]);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

static const struct {
	uint32_t bit;
	const char *word;
} state_words[] = {
	{ METRO_LEG_F_ACTIVE, "active" },
	{ METRO_LEG_F_FAILED, "failed" },
	{ METRO_LEG_F_STALE, "stale" },
};

char *leg_state_words(uint32_t state, char *buf, size_t len)
{
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(state_words); i++)
		if (state & state_words[i].bit)
			n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s",
					      n ? "," : "", state_words[i].word);
	if (state & ~METRO_LEG_F_ALL)
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s0x%x",
				      n ? "," : "", state & ~METRO_LEG_F_ALL);
	if (!n)
		snprintf(buf, len, "none");
	return buf;
}

struct json_object *leg_state_json(uint32_t state)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < ARRAY_SIZE(state_words); i++)
		if (state & state_words[i].bit)
			json_object_array_add(a, json_object_new_string(state_words[i].word));
	return a;
}

/*
 * shell_quote - a value for KEY=value lines read by udev IMPORT{program}
 * and by shells: left bare when it only has safe characters, else in
 * single quotes with embedded quotes written as '\''.
 */
void shell_quote(const char *s, char *out, size_t len)
{
	size_t i, n = 0;
	bool safe = *s != '\0';

	for (i = 0; s[i]; i++)
		if (!isascii((unsigned char)s[i]) ||
		    !(isalnum((unsigned char)s[i]) || strchr("._-+:@=,/", s[i])))
			safe = false;
	if (safe) {
		snprintf(out, len, "%s", s);
		return;
	}
	if (len < 3) {
		if (len)
			out[0] = '\0';
		return;
	}
	out[n++] = '\'';
	for (i = 0; s[i] && n + 6 < len; i++) {
		if (s[i] == '\'') {
			memcpy(out + n, "'\\''", 4);
			n += 4;
		} else {
			out[n++] = s[i];
		}
	}
	out[n++] = '\'';
	out[n] = '\0';
}

/* Number of set bits among @nbits bits of @bm starting at bit @first. */
uint64_t bitmap_count(const uint8_t *bm, uint64_t first, uint64_t nbits)
{
	uint64_t n = 0, i = first, end = first + nbits;

	while (i < end && (i & 7))
		n += metro_bm_test(bm, i++);
	while (i + 8 <= end) {
		n += (uint64_t)__builtin_popcount(bm[i >> 3]);
		i += 8;
	}
	while (i < end)
		n += metro_bm_test(bm, i++);
	return n;
}

/* ---------------------------------------------------------------------- */
/* Status line of the metro target (Documentation/dm-metro.rst, Status).  */
/* ---------------------------------------------------------------------- */

int parse_u64(const char *tok, uint64_t *v)
{
	const char *p;
	uint64_t x = 0;

	if (!tok || !*tok)
		return -EINVAL;
	for (p = tok; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		if (x > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	*v = x;
	return 0;
}

/*
 * parse_leg_dev - a leg as the table and status lines print it:
 * "major:minor" in decimal, or "-" (no device, returned as 0).  0:0 is no
 * device either and is refused.  Returns 0 or -EINVAL.
 */
int parse_leg_dev(const char *tok, dev_t *dev)
{
	char buf[32];
	char *colon;
	uint64_t a, b;

	if (!strcmp(tok, "-")) {
		*dev = 0;
		return 0;
	}
	if (strlen(tok) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, tok);
	colon = strchr(buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	if (parse_u64(buf, &a) || parse_u64(colon + 1, &b) ||
	    a > 0xfffff || b > 0xfffff || (!a && !b))
		return -EINVAL;
	*dev = makedev((unsigned int)a, (unsigned int)b);
	return 0;
}

/*
 *  2 <dev_a> <dev_b> <health> <in_sync>/<total> <sync_action> <dirty>
 *    <region_sectors> <md_writes> <reads_a> <reads_b> [<eta>
 *    [<late_a> <late_b> [cluster <slot> <owned> <state>]
 *    [check <state> <pos>/<total> <mismatches> <eta> <regions>] [more fields ...]]]
 *
 * 11 fields from target 1.0, 12 from 1.1 (<eta>), 14 from 1.7 (the I/Os
 * abandoned on each leg that its device still holds), 18 for a clustered
 * volume from 1.8 ("-" for slot and owned while suspended), and the check
 * fields after those from 1.10; fields a newer target appends after those
 * are ignored.
 */
int parse_status_line(const char *params, struct metro_status *st, const char **why)
{
	char buf[1024];
	char *tok[32], *save = NULL, *p, *slash;
	int n = 0, i, k;
	uint64_t v;

#define BAD(msg) do { *why = (msg); return -EINVAL; } while (0)
	memset(st, 0, sizeof(*st));
	if (!params || strlen(params) >= sizeof(buf))
		BAD("status line missing or too long");
	strcpy(buf, params);
	for (p = strtok_r(buf, " \t\n", &save); p && n < (int)ARRAY_SIZE(tok);
	     p = strtok_r(NULL, " \t\n", &save))
		tok[n++] = p;
	if (n < 11)
		BAD("status line has fewer than 11 fields");
	if (parse_u64(tok[0], &v) || v != METRO_NR_LEGS)
		BAD("status line does not start with the leg count 2");
	st->nr_legs = METRO_NR_LEGS;
	for (i = 0; i < METRO_NR_LEGS; i++) {
		if (parse_leg_dev(tok[1 + i], &st->dev[i]))
			BAD("bad leg device number in status line");
		/* "-": a leg absent since activation */
		st->absent[i] = !st->dev[i];
	}
	if (st->absent[0] && st->absent[1])
		BAD("both legs absent in status line");
	if (strlen(tok[3]) != METRO_NR_LEGS)
		BAD("bad health field in status line");
	for (i = 0; i < METRO_NR_LEGS; i++) {
		if (!strchr("AaD", tok[3][i]))
			BAD("unknown leg health character in status line");
		st->health[i] = tok[3][i];
	}
	slash = strchr(tok[4], '/');
	if (!slash)
		BAD("bad in_sync/total field in status line");
	*slash = '\0';
	if (parse_u64(tok[4], &st->in_sync) || parse_u64(slash + 1, &st->total) ||
	    st->in_sync > st->total)
		BAD("bad in_sync/total field in status line");
	if (strlen(tok[5]) >= sizeof(st->sync_action) || !*tok[5])
		BAD("bad sync_action field in status line");
	strcpy(st->sync_action, tok[5]);
	if (parse_u64(tok[6], &st->dirty) || parse_u64(tok[7], &st->region_sectors) ||
	    parse_u64(tok[8], &st->md_writes) || parse_u64(tok[9], &st->reads[0]) ||
	    parse_u64(tok[10], &st->reads[1]))
		BAD("bad counter in status line");
	/* Field 12, the resync ETA in seconds, came with target version 1.1. */
	st->eta = -1;
	if (n >= 12 && strcmp(tok[11], "-")) {
		if (parse_u64(tok[11], &v) || v > INT64_MAX)
			BAD("bad resync ETA in status line");
		st->eta = (int64_t)v;
	}
	/* Fields 13 and 14, the late I/Os of each leg, came with 1.7: both or neither. */
	if (n == 13)
		BAD("status line has <late_a> but not <late_b>");
	if (n >= 14) {
		if (parse_u64(tok[12], &st->late[0]) || parse_u64(tok[13], &st->late[1]))
			BAD("bad late I/O count in status line");
		st->late_known = true;
	}
	k = 14;
	/* Fields 15 to 18, "cluster <slot> <owned> <state>", came with 1.8. */
	if (n >= 15 && !strcmp(tok[14], "cluster")) {
		k = 18;
		if (n < 18)
			BAD("status line has a truncated cluster field");
		st->clustered = true;
		st->slot = st->owned = -1;
		if (strcmp(tok[15], "-")) {
			if (parse_u64(tok[15], &v) || v >= METRO_MAX_SLOTS)
				BAD("bad cluster slot in status line");
			st->slot = (int)v;
		}
		if (strcmp(tok[16], "-")) {
			if (parse_u64(tok[16], &v) || v > INT32_MAX)
				BAD("bad owned region count in status line");
			st->owned = (int)v;
		}
		if (strlen(tok[17]) >= sizeof(st->cluster_state))
			BAD("bad cluster state in status line");
		strcpy(st->cluster_state, tok[17]);
	}
	/*
	 * Then "check <state> <pos>/<total> <mismatches> <eta> <regions>",
	 * since 1.10.
	 */
	st->check_eta = -1;
	if (n > k && !strcmp(tok[k], "check")) {
		char *q, *end;

		if (n < k + 6)
			BAD("status line has a truncated check field");
		if (strlen(tok[k + 1]) >= sizeof(st->check_state) || !*tok[k + 1])
			BAD("bad check state in status line");
		strcpy(st->check_state, tok[k + 1]);
		slash = strchr(tok[k + 2], '/');
		if (!slash)
			BAD("bad check position in status line");
		*slash = '\0';
		if (parse_u64(tok[k + 2], &st->check_pos) ||
		    parse_u64(slash + 1, &st->check_total) || st->check_pos > st->check_total)
			BAD("bad check position in status line");
		if (parse_u64(tok[k + 3], &st->check_mismatches))
			BAD("bad check mismatch count in status line");
		if (strcmp(tok[k + 4], "-")) {
			if (parse_u64(tok[k + 4], &v) || v > INT64_MAX)
				BAD("bad check ETA in status line");
			st->check_eta = (int64_t)v;
		}
		if (strcmp(tok[k + 5], "-")) {
			for (q = tok[k + 5]; ; q = end + 1) {
				end = strchr(q, ',');
				if (end)
					*end = '\0';
				if (st->check_nr_list >= METRO_CHECK_LIST ||
				    parse_u64(q, &st->check_list[st->check_nr_list]))
					BAD("bad list of mismatching regions in status line");
				st->check_nr_list++;
				if (!end)
					break;
			}
		}
		if (st->check_nr_list > st->check_mismatches)
			BAD("status line lists more mismatching regions than it counts");
		st->check_known = true;
	}
#undef BAD
	*why = NULL;
	return 0;
}

const char *leg_health_word(char h, const char *sync_action)
{
	switch (h) {
	case 'A':
		return "in_sync";
	case 'a':
		return strcmp(sync_action, "resync") ? "out_of_sync" : "resyncing";
	case 'D':
		return "failed";
	default:
		return "unknown";
	}
}

void format_table_params(dev_t leg_a, dev_t leg_b, const char *opts, char *buf, size_t len)
{
	char da[32], db[32];

	format_leg_dev(leg_a, da, sizeof(da));
	format_leg_dev(leg_b, db, sizeof(db));
	snprintf(buf, len, "%s %s%s%s", da, db, *opts ? " " : "", opts);
}

void format_leg_dev(dev_t dev, char *buf, size_t len)
{
	if (!dev)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%u:%u", major(dev), minor(dev));
}

int table_opt_arg(struct table_opt_args *a, int opt, const char *val, const char **why)
{
	struct metro_table_opts t;
	unsigned int *tmp, *dst, bit;
	const char *bad, *range;

	*why = NULL;
	if (opt == OPT_WRITE_MOSTLY) {
		if (!strcasecmp(val, "a") || !strcasecmp(val, "b"))
			a->o.write_mostly = (char)toupper((unsigned char)val[0]);
		else if (!strcasecmp(val, "none"))
			a->o.write_mostly = 0;
		else
			*why = "--write-mostly: expected A or B (the leg that serves reads only when the other cannot) or none";
		if (!*why)
			a->given |= TABLE_OPT_WRITE_MOSTLY;
		return *why ? -EINVAL : 0;
	}
	if (opt == OPT_READ_MODE) {
		if (metro_table_parse_read_mode(val, &a->o))
			*why = "--read-mode: expected auto (bounce the legs that can stall), direct (no copy, waited for), bounce (abandoned at the I/O deadline) or bounce:A|B (that leg's reads only)";
		else if (a->o.read_mode == METRO_READ_AUTO && a->o.read_legs)
			*why = "--read-mode: auto finds the remote legs itself (from their transports): give auto alone, or bounce:A|B";
		if (!*why)
			a->given |= TABLE_OPT_READ_MODE;
		return *why ? -EINVAL : 0;
	}
	if (opt == OPT_FAILFAST) {
		if (!strcasecmp(val, "a"))
			a->o.failfast = METRO_FAILFAST_A;
		else if (!strcasecmp(val, "b"))
			a->o.failfast = METRO_FAILFAST_B;
		else if (!strcasecmp(val, "ab"))
			a->o.failfast = METRO_FAILFAST_ALL;
		else if (!strcasecmp(val, "none"))
			a->o.failfast = 0;
		else
			*why = "--failfast: expected A, B or AB (the legs whose reads the transport should not retry) or none";
		if (!*why)
			a->given |= TABLE_OPT_FAILFAST;
		return *why ? -EINVAL : 0;
	}
	/* The value alone among defaults, checked as the kernel checks it. */
	metro_table_opts_default(&t);
	switch (opt) {
	case OPT_RESYNC_RATE:
		tmp = &t.resync_rate, dst = &a->o.resync_rate, bit = TABLE_OPT_RESYNC_RATE;
		bad = "--resync-rate: expected KiB/s between 0 (no fixed bound) and 2147483648";
		break;
	case OPT_CLEAR_DELAY:
		tmp = &t.clear_delay, dst = &a->o.clear_delay, bit = TABLE_OPT_CLEAR_DELAY;
		bad = "--clear-delay: expected milliseconds between 100 and 600000";
		break;
	case OPT_IO_DEADLINE:
		tmp = &t.io_deadline, dst = &a->o.io_deadline, bit = TABLE_OPT_IO_DEADLINE;
		bad = "--io-deadline: expected 0 (no deadline) or milliseconds between 100 and 600000";
		break;
	default:
		*why = "not a table option";
		return -EINVAL;
	}
	if (metro_table_parse_uint(val, tmp) || metro_table_opts_check(&t, &range)) {
		*why = bad;
		return -EINVAL;
	}
	*dst = *tmp;
	a->given |= bit;
	return 0;
}

void table_opts_apply(const struct table_opt_args *a, struct metro_table_opts *o)
{
	if (a->given & TABLE_OPT_RESYNC_RATE)
		o->resync_rate = a->o.resync_rate;
	if (a->given & TABLE_OPT_CLEAR_DELAY)
		o->clear_delay = a->o.clear_delay;
	if (a->given & TABLE_OPT_IO_DEADLINE)
		o->io_deadline = a->o.io_deadline;
	if (a->given & TABLE_OPT_WRITE_MOSTLY)
		o->write_mostly = a->o.write_mostly;
	if (a->given & TABLE_OPT_READ_MODE) {
		o->read_mode = a->o.read_mode;
		o->read_legs = a->o.read_legs;
	}
	if (a->given & TABLE_OPT_FAILFAST)
		o->failfast = a->o.failfast;
}

const char *read_mode_word(const struct metro_table_opts *o, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", metro_read_mode_name(o->read_mode),
		 metro_read_legs_shown(o) ? ":" : "",
		 metro_read_legs_shown(o) ? metro_legs_name(o->read_legs) : "");
	return buf;
}

const char *table_opts_words(const struct metro_table_opts *o, char *buf, size_t len)
{
	char io[32], rate[32], rm[16];

	if (o->io_deadline)
		snprintf(io, sizeof(io), "%u ms", o->io_deadline);
	else
		snprintf(io, sizeof(io), "none");
	if (o->resync_rate)
		snprintf(rate, sizeof(rate), "%u KiB/s", o->resync_rate);
	else
		snprintf(rate, sizeof(rate), "unbounded");
	read_mode_word(o, rm, sizeof(rm));
	snprintf(buf, len, "io_deadline %s, write_mostly %s, read_mode %s, failfast %s, resync_rate %s, clear_delay %u ms",
		 io, o->write_mostly == 'A' ? "A" : o->write_mostly == 'B' ? "B" : "none", rm,
		 o->failfast ? metro_failfast_name(o->failfast) : "none",
		 rate, o->clear_delay);
	return buf;
}


int parse_table_opts(const char *words, struct metro_table_opts *o, const char **why)
{
	char buf[256], *argv[METRO_MAX_OPT_ARGS + 2], *tok, *save = NULL;
	unsigned int argc = 0;

	if (strlen(words) >= sizeof(buf)) {
		*why = "too long";
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", words);
	for (tok = strtok_r(buf, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		if (argc == ARRAY_SIZE(argv)) {
			*why = "too many words";
			return -EINVAL;
		}
		argv[argc++] = tok;
	}
	return metro_table_parse_opts(argc, argv, o, why);
}
