// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: parse_size() and validate_name() over arbitrary
 * strings.  A parsed size must print back (as bytes) to a string that
 * parses to the same value.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metroctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	char buf[32];
	uint64_t v = 0, w = 0;
	const char *why = NULL;
	int r;

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';

	r = parse_size(s, &v);
	if (r != 0 && r != -EINVAL && r != -ERANGE)
		abort();
	if (r == 0) {
		snprintf(buf, sizeof(buf), "%" PRIu64, v);
		if (parse_size(buf, &w) || w != v)
			abort();
	}

	r = validate_name(s, &why);
	if (r == 0) {
		size_t len = strlen(s);

		if (why || len == 0 || len > 63 || strchr(s, '/'))
			abort();
	} else if (!why) {
		abort();
	}
	free(s);
	return 0;
}
