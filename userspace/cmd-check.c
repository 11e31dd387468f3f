// SPDX-License-Identifier: GPL-2.0-only
/*
 * check: the online verify of an active volume.  The target compares the
 * legs region by region while the volume stays in use (the "check",
 * "repair" and "check_stop" messages, dm-metro.rst); this command starts
 * or stops it and, with --wait, follows it from the status line to the
 * end.  Exit status: 0 no region differs, 3 some do (repaired with
 * --repair), 1 error (the check could not start, or ended on a leg
 * failure or a stop), 2 bad command line.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "metroctl.h"

#define EXIT_MISMATCH	3

/* How often --wait reads the status line, and says how far the check is. */
#define CHECK_POLL_MS		200
#define CHECK_REPORT_SECS	10

/* The status of active metro volume @name: 0, or -1 after a message. */
static int check_status(const char *name, struct metro_status *st)
{
	struct metro_dm_dev *devs = NULL;
	const char *why;
	int n = 0, r;

	if (metro_dm_list(name, &devs, &n))
		return -1;
	if (n != 1) {
		free(devs);
		p_err("%s is not an active metro volume", name);
		return -1;
	}
	r = parse_status_line(devs[0].params, st, &why);
	free(devs);
	if (r) {
		p_err("%s: cannot parse the status line: %s", name, why);
		return -1;
	}
	if (!st->check_known) {
		p_err("%s: the dm-metro module does not check volumes (target version 1.10 or later needed)",
		      name);
		return -1;
	}
	return 0;
}

static bool check_running(const struct metro_status *st)
{
	return !strcmp(st->check_state, "check") || !strcmp(st->check_state, "repair");
}

static void check_print_list(const struct metro_status *st)
{
	unsigned int i;

	if (!st->check_mismatches)
		return;
	printf("  regions that differ:");
	for (i = 0; i < st->check_nr_list; i++)
		printf("%s %" PRIu64, i ? "," : "", st->check_list[i]);
	if (st->check_mismatches > st->check_nr_list)
		printf(" and %" PRIu64 " more (see the kernel log)",
		       st->check_mismatches - st->check_nr_list);
	printf("\n");
}

static void check_print_progress(const char *name, const struct metro_status *st)
{
	printf("%s: %s at region %" PRIu64 " of %" PRIu64 ", %" PRIu64 " region%s differ%s",
	       name, st->check_state, st->check_pos, st->check_total,
	       st->check_mismatches, st->check_mismatches == 1 ? "" : "s",
	       st->check_mismatches == 1 ? "s" : "");
	if (st->check_eta >= 0)
		printf(", about %" PRId64 "m%02" PRId64 "s left", st->check_eta / 60,
		       st->check_eta % 60);
	if (st->in_sync < st->total)
		printf(" (waiting for the resync: %" PRIu64 " regions to copy first)",
		       st->total - st->in_sync);
	printf("\n");
	fflush(stdout);
}

/* Follow the check of @name to its end; the exit status. */
static int check_wait(const char *name, bool repair)
{
	struct metro_status st;
	struct timespec ts = { 0, CHECK_POLL_MS * 1000000L };
	time_t last = time(NULL);

	for (;;) {
		if (check_status(name, &st))
			return EXIT_ERR;
		if (!check_running(&st))
			break;
		if (time(NULL) - last >= CHECK_REPORT_SECS) {
			check_print_progress(name, &st);
			last = time(NULL);
		}
		nanosleep(&ts, NULL);
	}
	if (!strcmp(st.check_state, "done")) {
		if (!st.check_mismatches) {
			printf("%s: %s done: the legs hold the same data (%" PRIu64 " regions compared)\n",
			       name, repair ? "repair" : "check", st.check_total);
			return EXIT_OK;
		}
		printf("%s: %s done: %" PRIu64 " region%s differed between the legs%s\n", name,
		       repair ? "repair" : "check", st.check_mismatches,
		       st.check_mismatches == 1 ? "" : "s",
		       repair ? " and were copied over" : "");
		check_print_list(&st);
		return EXIT_MISMATCH;
	}
	p_err("%s: the check ended at region %" PRIu64 " of %" PRIu64 " (%s) with %" PRIu64 " mismatching region%s found; see the kernel log, then continue with 'metroctl check %s --start %" PRIu64 "'",
	      name, st.check_pos, st.check_total, st.check_state, st.check_mismatches,
	      st.check_mismatches == 1 ? "" : "s", name, st.check_pos);
	check_print_list(&st);
	return EXIT_ERR;
}

int do_check(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "repair", no_argument, NULL, 'r' },
		{ "from", required_argument, NULL, 'F' },
		{ "start", required_argument, NULL, 's' },
		{ "stop", no_argument, NULL, 'S' },
		{ "wait", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	bool repair = false, stop = false, wait = false;
	const char *from = NULL, *name;
	uint64_t start = 0;
	struct metro_status st;
	char msg[64];
	int opt, r;

	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			repair = true;
			continue;
		case 'F':
			from = optarg;
			continue;
		case 's':
			if (parse_u64(optarg, &start) || start > UINT32_MAX)
				return usage_err("check", "check: --start takes a region number, not '%s'",
						 optarg);
			continue;
		case 'S':
			stop = true;
			continue;
		case 'w':
			wait = true;
			continue;
		}
		if ((r = common_opt("check", opt, argv)) >= 0)
			return r;
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return usage_err("check", "check: expected NAME, got %d arguments", argc);
	name = argv[0];
	if (stop && (repair || from || start || wait))
		return usage_err("check", "check: --stop takes no other option");
	if (from && !repair)
		return usage_err("check", "check: --from names the leg a repair copies from: give --repair too");
	if (repair && !from)
		return usage_err("check", "check: --repair needs --from A or --from B, the leg whose data is kept");
	if (from && strcasecmp(from, "A") && strcasecmp(from, "B"))
		return usage_err("check", "check: --from must be A or B, not '%s'", from);

	if (check_status(name, &st))
		return EXIT_ERR;
	if (st.clustered) {
		p_err("%s is a clustered volume: metroctl check does not coordinate the nodes of a cluster yet",
		      name);
		return EXIT_ERR;
	}
	if (stop) {
		if (!check_running(&st)) {
			p_err("%s: no check is running (%s)", name, st.check_state);
			return EXIT_ERR;
		}
		r = metro_dm_message(name, "check_stop");
		if (r) {
			p_err("%s: the target refused check_stop (%s); see the kernel log", name,
			      strerror(-r));
			return EXIT_ERR;
		}
		if (check_status(name, &st))
			return EXIT_ERR;
		printf("%s: check stopped at region %" PRIu64 " of %" PRIu64 "; continue with 'metroctl check %s --start %" PRIu64 "'\n",
		       name, st.check_pos, st.check_total, name, st.check_pos);
		return EXIT_OK;
	}
	if (check_running(&st) && wait && !repair && !start) {
		printf("%s: following the %s running at region %" PRIu64 " of %" PRIu64 "\n", name,
		       st.check_state, st.check_pos, st.check_total);
		fflush(stdout);
		return check_wait(name, !strcmp(st.check_state, "repair"));
	}
	if (check_running(&st)) {
		p_err("%s: a %s is running already, at region %" PRIu64 " of %" PRIu64 "; stop it first with 'metroctl check %s --stop'",
		      name, st.check_state, st.check_pos, st.check_total, name);
		return EXIT_ERR;
	}
	if (st.health[0] == 'D' || st.health[1] == 'D') {
		p_err("%s runs on one leg: there is nothing to compare it with; restore the other leg first",
		      name);
		return EXIT_ERR;
	}
	if (start >= st.total) {
		p_err("%s: --start %" PRIu64 " is past the last region, %" PRIu64, name, start,
		      st.total - 1);
		return EXIT_ERR;
	}
	if (repair)
		snprintf(msg, sizeof(msg), "repair %c %" PRIu64, from[0] & ~0x20, start);
	else
		snprintf(msg, sizeof(msg), "check %" PRIu64, start);
	r = metro_dm_message(name, msg);
	if (r) {
		p_err("%s: the target refused \"%s\" (%s); see the kernel log", name, msg,
		      strerror(-r));
		return EXIT_ERR;
	}
	if (repair)
		printf("%s: repair started at region %" PRIu64 " of %" PRIu64 ": what differs is copied from leg %c to leg %c\n",
		       name, start, st.total, from[0] & ~0x20, (from[0] & ~0x20) == 'A' ? 'B' : 'A');
	else
		printf("%s: check started at region %" PRIu64 " of %" PRIu64 "\n", name, start,
		       st.total);
	fflush(stdout);
	if (!wait)
		return EXIT_OK;
	return check_wait(name, repair);
}
