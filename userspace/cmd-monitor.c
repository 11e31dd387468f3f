// SPDX-License-Identifier: GPL-2.0-only
/*
 * monitor: watch the metro volumes and report every change of leg health
 * or sync action (a leg detached, a resync started, finished or frozen, a
 * volume appearing or going away), optionally running a program for each,
 * as mdadm --monitor does for md arrays.
 *
 * The target raises a device-mapper event on each of these changes, but
 * waiting for one (DM_DEVICE_WAITEVENT) blocks on a single device with no
 * timeout; the status of every volume is polled instead, by default every
 * second, which also catches volumes created after the monitor started.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "metroctl.h"

/* What a report is about: the part of the status a change of is reported. */
struct watched {
	char name[128];
	char health[METRO_NR_LEGS + 1];
	char sync_action[32];
	bool seen;		/* still listed by the latest poll */
};

static volatile sig_atomic_t stop_monitor;

static void on_signal(int sig)
{
	(void)sig;
	stop_monitor = 1;
}

static void iso_time(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Run @prog with the report in its environment; wait for it. */
static void run_program(const char *prog, const char *event, const struct watched *w,
			const char *prev_health, const struct metro_status *st)
{
	char num[32];
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		p_warn("cannot run %s: %s", prog, strerror(errno));
		return;
	}
	if (pid == 0) {
		setenv("METRO_EVENT", event, 1);
		setenv("METRO_NAME", w->name, 1);
		setenv("METRO_HEALTH", w->health, 1);
		setenv("METRO_PREV_HEALTH", prev_health, 1);
		setenv("METRO_SYNC_ACTION", w->sync_action, 1);
		snprintf(num, sizeof(num), "%llu", st ? (unsigned long long)st->in_sync : 0ULL);
		setenv("METRO_IN_SYNC", num, 1);
		snprintf(num, sizeof(num), "%llu", st ? (unsigned long long)st->total : 0ULL);
		setenv("METRO_TOTAL", num, 1);
		execl("/bin/sh", "sh", "-c", prog, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		p_warn("%s exited with status %d for %s %s", prog,
		       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
		       event, w->name);
}

static void report(const char *event, const struct watched *w, const char *prev_health,
		   const char *prev_action, const struct metro_status *st, const char *prog)
{
	char t[32];

	iso_time(t, sizeof(t));
	if (json_output) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "time", json_object_new_string(t));
		json_object_object_add(o, "event", json_object_new_string(event));
		json_object_object_add(o, "name", json_object_new_string(w->name));
		json_object_object_add(o, "health", json_object_new_string(w->health));
		json_object_object_add(o, "sync_action", json_object_new_string(w->sync_action));
		json_object_object_add(o, "previous_health", json_object_new_string(prev_health));
		json_object_object_add(o, "previous_sync_action",
				       json_object_new_string(prev_action));
		if (st) {
			json_object_object_add(o, "in_sync_regions", json_object_new_uint64(st->in_sync));
			json_object_object_add(o, "total_regions", json_object_new_uint64(st->total));
		}
		/* One object per line, whatever --pretty says: a stream. */
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else if (!strcmp(event, "removed")) {
		printf("%s %s: removed\n", t, w->name);
	} else {
		printf("%s %s: %s health %s%s%s, sync %s%s%s", t, w->name, event,
		       *prev_health ? prev_health : "", *prev_health ? " -> " : "", w->health,
		       *prev_action ? prev_action : "", *prev_action ? " -> " : "",
		       w->sync_action);
		if (st)
			printf(" (%llu/%llu regions in sync)", (unsigned long long)st->in_sync,
			       (unsigned long long)st->total);
		printf("\n");
	}
	fflush(stdout);
	if (prog)
		run_program(prog, event, w, prev_health, st);
}

static struct watched *find_watched(struct watched *ws, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(ws[i].name, name))
			return &ws[i];
	return NULL;
}

/*
 * One poll: report new volumes, changes and removals.  Returns the number
 * of reports, or -1 when device-mapper cannot be queried.
 */
static int poll_once(const char *only, struct watched **ws, int *nw, const char *prog)
{
	struct metro_dm_dev *devs = NULL;
	struct metro_status st;
	const char *why;
	int n = 0, i, reports = 0;

	if (metro_dm_list(only, &devs, &n))
		return -1;
	for (i = 0; i < *nw; i++)
		(*ws)[i].seen = false;
	for (i = 0; i < n; i++) {
		struct watched *w = find_watched(*ws, *nw, devs[i].name);
		char prev_h[sizeof(w->health)] = "", prev_a[sizeof(w->sync_action)] = "";

		if (parse_status_line(devs[i].params, &st, &why)) {
			p_warn("%s: cannot parse the status line: %s", devs[i].name, why);
			continue;
		}
		if (!w) {
			struct watched *grown = realloc(*ws, (size_t)(*nw + 1) * sizeof(**ws));

			if (!grown) {
				p_err("out of memory");
				free(devs);
				return -1;
			}
			*ws = grown;
			w = &(*ws)[(*nw)++];
			memset(w, 0, sizeof(*w));
			snprintf(w->name, sizeof(w->name), "%s", devs[i].name);
		} else {
			memcpy(prev_h, w->health, sizeof(prev_h));
			memcpy(prev_a, w->sync_action, sizeof(prev_a));
		}
		w->seen = true;
		memcpy(w->health, st.health, METRO_NR_LEGS);
		w->health[METRO_NR_LEGS] = '\0';
		snprintf(w->sync_action, sizeof(w->sync_action), "%s", st.sync_action);
		if (!*prev_h) {
			report("present", w, "", "", &st, prog);
			reports++;
		} else if (strcmp(prev_h, w->health) || strcmp(prev_a, w->sync_action)) {
			report("change", w, prev_h, prev_a, &st, prog);
			reports++;
		}
	}
	free(devs);
	for (i = 0; i < *nw; i++) {
		if ((*ws)[i].seen)
			continue;
		report("removed", &(*ws)[i], (*ws)[i].health, (*ws)[i].sync_action, NULL, prog);
		reports++;
		(*ws)[i] = (*ws)[--(*nw)];
		i--;
	}
	return reports;
}

int do_monitor(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "exec", required_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 },
	};
	struct watched *ws = NULL;
	const char *only = NULL, *prog = NULL;
	uint64_t count = 0, total = 0;
	struct sigaction sa;
	struct timespec ts;
	double interval = 1.0;
	char *end;
	int opt, r, nw = 0, ret = EXIT_OK;

	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS "i:c:x:", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			errno = 0;
			interval = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(interval >= 0.1 && interval <= 3600))
				return usage_err("monitor", "invalid interval '%s': expected seconds between 0.1 and 3600",
						 optarg);
			break;
		case 'c':
			if (parse_u64(optarg, &count) || !count)
				return usage_err("monitor", "invalid count '%s': expected a positive number of reports",
						 optarg);
			break;
		case 'x':
			if (!*optarg)
				return usage_err("monitor", "--exec needs a program");
			prog = optarg;
			break;
		default:
			if ((r = common_opt("monitor", opt, argv)) >= 0)
				return r;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		return usage_err("monitor", "monitor: expected at most one NAME, got %d", argc);
	if (argc == 1)
		only = argv[0];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	ts.tv_sec = (time_t)interval;
	ts.tv_nsec = (long)((interval - (double)ts.tv_sec) * 1e9);

	while (!stop_monitor) {
		r = poll_once(only, &ws, &nw, prog);
		if (r < 0) {
			p_err("cannot query device-mapper: %s", metro_dm_last_error());
			ret = EXIT_ERR;
			break;
		}
		total += (uint64_t)r;
		if (count && total >= count)
			break;
		nanosleep(&ts, NULL);
	}
	free(ws);
	return ret;
}
