// SPDX-License-Identifier: GPL-2.0-only
/*
 * metroctl - format, assemble, stop and inspect dm-metro volumes.
 *
 * Structure follows bpftool: global options, then a command looked up in
 * a table; each command family lives in its own file (cmd-*.c).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metroctl.h"

bool json_output;
bool pretty_output;
int verbose;
const char *bin_name = "metroctl";

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "%s: %s", bin_name, prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void p_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void p_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void p_info(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

int usage_err(const char *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One line: the problem, then where the usage is. */
	if (cmd)
		p_err("%s (see '%s help %s')", msg, bin_name, cmd);
	else
		p_err("%s (see '%s --help')", msg, bin_name);
	return EXIT_USAGE;
}

void json_print(struct json_object *obj)
{
	int flags = pretty_output ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
				  : JSON_C_TO_STRING_PLAIN;

	printf("%s\n", json_object_to_json_string_ext(obj, flags | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int do_help(int argc, char **argv);

static const struct cmd cmds[] = {
	{ "create", do_create,
	  "NAME LEG_A LEG_B [--region-size SIZE] [--assume-clean] [--force]",
	  "format two legs as a new volume and activate it" },
	{ "assemble", do_assemble, "NAME LEG_A LEG_B | --degraded NAME LEG",
	  "activate an existing volume from its legs (one alone: --degraded)" },
	{ "stop", do_stop, "NAME", "deactivate a volume" },
	{ "status", do_status, "[NAME] [--json]",
	  "show active volumes (health, resync progress)" },
	{ "check", do_check, "NAME [--repair --from A|B] [--start REGION] [--wait] | --stop",
	  "compare the legs of an active volume online (and copy what differs)" },
	{ "examine", do_examine, "DEV [--json] [--export]",
	  "print the dm-metro superblock of a leg" },
	{ "restore", do_restore, "NAME LEG [DEV] [--force]",
	  "re-add a failed leg that came back; resync what it missed" },
	{ "replace", do_replace, "NAME LEG NEWDEV [--force]",
	  "put a new device in place of a failed leg; full resync" },
	{ "resolve", do_resolve, "NAME --winner DEV [OTHER_DEV] [--force]",
	  "end a split brain: keep DEV's data, resync the other leg from it" },
	{ "set", do_set, "NAME [--io-deadline MS] [--write-mostly A|B|none] [--read-mode auto|direct|bounce[:A|B]] [--failfast A|B|AB|none] [--resync-rate KIBS] [--clear-delay MS]",
	  "change the table options of an active volume; recorded on the legs" },
	{ "convert", do_convert, "DEV_A DEV_B --cluster NAME [--nodes N] | --single-host [--dry-run]",
	  "convert a stopped volume between single-host (format 1) and clustered (format 2)" },
	{ "monitor", do_monitor, "[NAME] [--interval SECS] [--exec PROG] [--count N] [--json]",
	  "report leg failures, resyncs and volumes coming and going" },
	{ "incremental", do_incremental, "DEV",
	  "assemble the volume of DEV once both legs are present (udev)" },
	{ "fence", do_fence, "--subsys NQN[,NQN...] [-o off|on|reboot|status|monitor|metadata]",
	  "cut every fabric host off this site's nvmet exports (fence agent fence_metro)" },
	{ "help", do_help, "[COMMAND]", "show this help" },
	{ NULL, NULL, NULL, NULL },
};

static void print_usage(FILE *f)
{
	const struct cmd *c;

	fprintf(f,
		"Usage: %s [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n", bin_name);
	for (c = cmds; c->name; c++)
		fprintf(f, "  %s %s\n      %s\n", c->name, c->args, c->help);
	fprintf(f,
		"\n"
		"Options:\n"
		"  -h, --help      show this help\n"
		"  -V, --version   show the version\n"
		"  -j, --json      JSON output (status, examine)\n"
		"  -p, --pretty    indented JSON output (implies --json)\n"
		"  -v, --verbose   more messages, including libdevmapper's\n"
		"\n"
		"SIZE is bytes, or a number with K, M, G or T (binary; \"KiB\", \"KB\"\n"
		"also accepted), or with s for 512-byte sectors.\n"
		"Exit status: 0 success, 1 error, 2 bad command line.\n"
		"See metroctl(8).\n");
}

static const struct cmd *find_cmd(const char *name)
{
	const struct cmd *c;

	for (c = cmds; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static int do_help(int argc, char **argv)
{
	const struct cmd *c;

	if (argc > 2)
		return usage_err("help", "help: too many arguments");
	if (argc == 2) {
		c = find_cmd(argv[1]);
		if (!c)
			return usage_err(NULL, "unknown command '%s'", argv[1]);
		printf("Usage: %s %s %s\n  %s\n", bin_name, c->name, c->args, c->help);
		return EXIT_OK;
	}
	print_usage(stdout);
	return EXIT_OK;
}

/* Print the synopsis of one command (used by each command's --help). */
void cmd_usage(const char *name)
{
	const struct cmd *c = find_cmd(name);

	if (c)
		printf("Usage: %s %s %s\n  %s\n", bin_name, c->name, c->args, c->help);
}

int common_opt(const char *cmd, int opt, char **argv)
{
	switch (opt) {
	case 'j':
		json_output = true;
		return -1;
	case 'p':
		json_output = pretty_output = true;
		return -1;
	case 'v':
		verbose++;
		return -1;
	case 'h':
		cmd_usage(cmd);
		return EXIT_OK;
	case ':':
		return usage_err(cmd, "%s: option '%s' needs a value", cmd, argv[optind - 1]);
	default:
		if (optopt)
			return usage_err(cmd, "%s: unknown option '-%c'", cmd, optopt);
		return usage_err(cmd, "%s: unknown option '%s'", cmd, argv[optind - 1]);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help",    no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "json",    no_argument, NULL, 'j' },
		{ "pretty",  no_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const char *base = strrchr(argv[0], '/');
	const struct cmd *c;
	int opt;

	opterr = 0;
	/* called as fence_metro (a link to metroctl): a fence agent */
	if (!strcmp(base ? base + 1 : argv[0], "fence_metro"))
		return fence_agent_main(argc, argv);
	/* '+': stop at the command; its own options are parsed later. */
	while ((opt = getopt_long(argc, argv, "+hVjpv", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			print_usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("%s %s (on-disk format %u)\n", bin_name,
			       METROCTL_VERSION, METRO_FORMAT_VERSION);
			return EXIT_OK;
		case 'p':
			pretty_output = true;
			/* fall through */
		case 'j':
			json_output = true;
			break;
		case 'v':
			verbose++;
			break;
		default:
			if (optopt)
				return usage_err(NULL, "unknown option '-%c'", optopt);
			return usage_err(NULL, "unknown option '%s'", argv[optind - 1]);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage_err(NULL, "no command given");
	c = find_cmd(argv[0]);
	if (!c)
		return usage_err(NULL, "unknown command '%s'", argv[0]);
	optind = 0;	/* full getopt re-initialisation for the command */
	return c->func(argc, argv);
}
