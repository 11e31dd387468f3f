// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: parse_status_line(), which metroctl status, check,
 * restore, replace and monitor run on the target's status line, over arbitrary
 * bytes.  A parsed line must satisfy what its users rely on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metroctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metro_status st;
	const char *why = NULL;
	char *s = malloc(size + 1);
	int r, i;

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	r = parse_status_line(s, &st, &why);
	if (r) {
		if (r != -EINVAL || !why || !*why)
			abort();
	} else {
		if (why || st.nr_legs != METRO_NR_LEGS || st.in_sync > st.total ||
		    !st.sync_action[0] || !memchr(st.sync_action, 0, sizeof(st.sync_action)) ||
		    st.eta < -1 || (st.absent[0] && st.absent[1]) ||
		    (!st.late_known && (st.late[0] || st.late[1])))
			abort();
		/* Target 1.10's check fields, as metroctl check relies on them. */
		if (st.check_known &&
		    (!st.check_state[0] || !memchr(st.check_state, 0, sizeof(st.check_state)) ||
		     st.check_pos > st.check_total || st.check_eta < -1 ||
		     st.check_nr_list > METRO_CHECK_LIST ||
		     st.check_nr_list > st.check_mismatches))
			abort();
		if (!st.check_known && (st.check_state[0] || st.check_nr_list))
			abort();
		for (i = 0; i < METRO_NR_LEGS; i++)
			if (st.absent[i] != !st.dev[i])
				abort();
		for (i = 0; i < METRO_NR_LEGS; i++)
			if (!strchr("AaD", st.health[i]) || !st.health[i])
				abort();
	}
	free(s);
	return 0;
}
