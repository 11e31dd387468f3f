// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: metro_table_parse_opts() (dm-metro/metro-table.h), the
 * parser the kernel constructor runs on the words after the two legs of a
 * table line, over arbitrary bytes split into words on spaces (a run of
 * spaces gives empty words, which the kernel never passes: the parser must
 * cope anyway).  Every word and the argv array are separate heap blocks
 * of exactly their size, so ASan catches a read past any of them.
 *
 * Invariants: the result is 0 or -EINVAL; @err is set exactly when it
 * fails; a parsed set of options is within the documented limits, and
 * printing it back with metro_table_opts_format() (metroctl's table lines,
 * the kernel's STATUSTYPE_TABLE form: only what differs from the defaults)
 * or in full, keys in mixed case and in another order, parses to the same
 * values; each "key value" pair of an accepted line parses on its own.  metro_table_parse_uint() must
 * agree with strtoull() on digit-only words.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metro-table.h"

#define MAX_WORDS	64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Split @s on single spaces into heap words; returns the count. */
static unsigned int split(const char *s, size_t len, char **words)
{
	unsigned int n = 0;
	size_t start = 0, i;

	for (i = 0; i <= len && n < MAX_WORDS; i++) {
		if (i < len && s[i] != ' ')
			continue;
		words[n] = malloc(i - start + 1);
		if (!words[n])
			abort();
		memcpy(words[n], s + start, i - start);
		words[n][i - start] = '\0';
		n++;
		start = i + 1;
	}
	return n;
}

static void free_words(char **words, unsigned int n)
{
	while (n)
		free(words[--n]);
}

/* Parse @line (space-separated, no empty words) and compare with @want. */
static void reparse(const char *line, const struct metro_table_opts *want)
{
	char *words[MAX_WORDS], **argv;
	struct metro_table_opts o;
	const char *err = NULL;
	unsigned int n;

	n = *line ? split(line, strlen(line), words) : 0;
	argv = malloc((n ? n : 1) * sizeof(*argv));
	if (!argv)
		abort();
	memcpy(argv, words, n * sizeof(*argv));
	if (metro_table_parse_opts(n, argv, &o, &err) || err ||
	    o.resync_rate != want->resync_rate || o.clear_delay != want->clear_delay ||
	    o.io_deadline != want->io_deadline || o.write_mostly != want->write_mostly ||
	    o.read_mode != want->read_mode || o.failfast != want->failfast ||
	    o.read_legs != want->read_legs) {
		fprintf(stderr, "reparse of \"%s\" differs: %s\n", line, err ? err : "");
		abort();
	}
	free(argv);
	free_words(words, n);
}

/* An independent reference for the strict decimal parser. */
static void check_uint(const char *w)
{
	unsigned long long ref;
	unsigned int v = 7;
	int r = metro_table_parse_uint(w, &v);
	size_t i, len = strlen(w);

	for (i = 0; i < len; i++)
		if (w[i] < '0' || w[i] > '9')
			break;
	if (!len || i < len) {
		if (r != -EINVAL || v != 7)
			abort();
		return;
	}
	errno = 0;
	ref = strtoull(w, NULL, 10);
	if (errno == ERANGE || ref > 0xffffffffULL) {
		if (r != -ERANGE || v != 7)
			abort();
	} else if (r || v != ref) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *words[MAX_WORDS], **argv, line[160], two[] = "2";
	struct metro_table_opts o;
	const char *err = (const char *)1;
	unsigned int n, i;
	size_t len;
	int r;

	/* An empty input is no optional argument at all, not one empty word. */
	n = size ? split((const char *)data, size, words) : 0;
	for (i = 0; i < n; i++)
		check_uint(words[i]);
	/* Exactly @n pointers: a read of argv[n] is a heap overflow. */
	argv = malloc((n ? n : 1) * sizeof(*argv));
	if (!argv)
		abort();
	memcpy(argv, words, n * sizeof(*argv));

	r = metro_table_parse_opts(n, argv, &o, &err);
	if (r) {
		if (r != -EINVAL || !err || !*err)
			abort();
	} else {
		if (err)
			abort();
		if (o.resync_rate > METRO_MAX_RESYNC_RATE ||
		    o.clear_delay < METRO_MIN_CLEAR_DELAY_MS ||
		    o.clear_delay > METRO_MAX_CLEAR_DELAY_MS ||
		    (o.io_deadline && (o.io_deadline < METRO_MIN_IO_DEADLINE_MS ||
				       o.io_deadline > METRO_MAX_IO_DEADLINE_MS)) ||
		    o.read_mode > METRO_READ_BOUNCE || (o.read_legs & ~METRO_LEGS_AB) ||
		    (o.read_mode == METRO_READ_DIRECT && o.read_legs) ||
		    (o.read_mode == METRO_READ_BOUNCE && !o.read_legs) ||
		    (o.failfast & ~METRO_FAILFAST_ALL))
			abort();
		/* Every pair is valid on its own, also one a later key replaces. */
		for (i = 1; i + 1 < n; i += 2) {
			struct metro_table_opts one;
			char *pair[3] = { two, words[i], words[i + 1] };

			if (metro_table_parse_opts(3, pair, &one, &err) || err) {
				fprintf(stderr, "\"%s %s\" alone is refused: %s\n",
					words[i], words[i + 1], err ? err : "");
				abort();
			}
		}
		/* metroctl's table lines: only what differs from the defaults */
		metro_table_opts_format(&o, line);
		reparse(line, &o);
		/* Every option spelled out, keys and values in other cases. */
		len = (size_t)snprintf(line, sizeof(line),
				       "%u IO_DEADLINE %u Clear_Delay %u RESYNC_RATE %u READ_MODE %s%s%s",
				       8U + (o.write_mostly ? 2U : 0U) + (o.failfast ? 2U : 0U),
				       o.io_deadline, o.clear_delay,
				       o.resync_rate,
				       o.read_mode == METRO_READ_DIRECT ? "Direct" :
				       o.read_mode == METRO_READ_BOUNCE ? "BOUNCE" : "Auto",
				       o.read_legs ? ":" : "",
				       o.read_legs == METRO_LEGS_AB ? "aB" : o.read_legs == METRO_LEGS_A ? "a" :
				       o.read_legs ? "b" : "");
		if (o.write_mostly)
			len += (size_t)snprintf(line + len, sizeof(line) - len, " Write_Mostly %c",
						o.write_mostly - 'A' + 'a');
		if (o.failfast)
			snprintf(line + len, sizeof(line) - len, " FailFast %s",
				 o.failfast == METRO_FAILFAST_ALL ? "aB" : o.failfast == METRO_FAILFAST_A ? "a" : "b");
		reparse(line, &o);
	}
	free(argv);
	free_words(words, n);
	return 0;
}
