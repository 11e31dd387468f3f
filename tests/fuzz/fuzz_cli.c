// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: metroctl's real command line, main() and every
 * command's option and argument parsing, over an argv built from the
 * input: words separated by NUL or newline bytes, at most MAX_WORDS,
 * after argv[0] = "metroctl" (so the first word is the command, or a
 * global option).  userspace/metroctl.c is compiled with
 * -Dmain=metroctl_main; the other userspace files as they are.
 *
 * metroctl runs as root and formats block devices, so the fuzzer must never
 * reach one:
 *  1. it runs only in a private mount namespace where /dev and /sys are
 *     empty read-only nodev tmpfs and /run a nodev tmpfs (sandbox.sh, used
 *     by the Makefile); LLVMFuzzerInitialize() checks that and refuses to
 *     start otherwise.  No block device node is reachable, and
 *     libdevmapper, which would mknod /dev/mapper/control itself, cannot,
 *     so every device-mapper call fails;
 *  2. an input with a word containing "dev", "sys" or "proc" anywhere
 *     (/dev/sda, --winner=/dev/sda, ../../dev/sda) is skipped; no command
 *     or option name contains one.
 * Nothing in metroctl calls exit(); the only fork is monitor's --exec,
 * which runs on a report, and there is no volume to report on.
 *
 * Between runs: getopt is fully reset (optind = 0, GNU) and so are the
 * global options; monitor's SIGINT/SIGTERM handlers are put back to
 * libFuzzer's.  metroctl's output goes to a stream that discards it
 * (FUZZ_CLI_OUTPUT=1 keeps it, to look at one input); libFuzzer and the
 * sanitizers write to the original stderr.
 *
 * Invariants: no crash, no sanitizer report, no leak (LeakSanitizer), and
 * an exit status metroctl.8 documents: 0, 1 or 2.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "metroctl.h"

#define MAX_WORDS	16

static FILE *real_stderr;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int metroctl_main(int argc, char **argv);

static ssize_t discard(void *cookie, const char *buf, size_t len)
{
	(void)cookie;
	(void)buf;
	return (ssize_t)len;
}

/* @path is a tmpfs with @flags (ST_*) set, and holds nothing when @empty. */
static int sandboxed(const char *path, unsigned long flags, int empty)
{
	struct statvfs sv;
	struct statfs sf;
	struct dirent *e;
	DIR *d;

	if (statfs(path, &sf) || sf.f_type != TMPFS_MAGIC ||
	    statvfs(path, &sv) || (sv.f_flag & flags) != flags)
		return 0;
	if (!empty)
		return 1;
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			closedir(d);
			return 0;
		}
	closedir(d);
	return 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static cookie_io_functions_t sink = { .write = discard };

	(void)argc;
	(void)argv;
	if (!sandboxed("/dev", ST_RDONLY | ST_NODEV, 1) ||
	    !sandboxed("/sys", ST_RDONLY | ST_NODEV, 1) ||
	    !sandboxed("/run", ST_NODEV, 0)) {
		fprintf(stderr,
			"fuzz_cli: refusing to run outside the sandbox: /dev and /sys must be empty\n"
			"read-only nodev tmpfs, /run a nodev tmpfs (run it as tests/fuzz/sandbox.sh ./fuzz_cli)\n");
		exit(1);
	}
	real_stderr = stderr;
	if (!getenv("FUZZ_CLI_OUTPUT")) {
		FILE *f = fopencookie(NULL, "w", sink);

		if (!f)
			abort();
		/* libFuzzer keeps its own FILE * of the real stderr. */
		stdout = f;
		stderr = f;
	}
	return 0;
}

/* A word no command needs and that could name a device or a kernel file. */
static int dangerous(const char *w)
{
	return strstr(w, "dev") || strstr(w, "sys") || strstr(w, "proc");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *words[MAX_WORDS], *argv[MAX_WORDS + 2];
	struct sigaction sa_int, sa_term;
	size_t start = 0, i;
	int n = 0, j, r, skip = 0;

	for (i = 0; i <= size && n < MAX_WORDS; i++) {
		if (i < size && data[i] && data[i] != '\n')
			continue;
		/* A trailing separator ends the last word, it starts none. */
		if (i == size && start == size && n)
			break;
		words[n] = malloc(i - start + 1);
		if (!words[n])
			abort();
		memcpy(words[n], data + start, i - start);
		words[n][i - start] = '\0';
		skip |= dangerous(words[n]);
		n++;
		start = i + 1;
	}
	if (skip)
		goto out;

	/* metroctl's getopt may permute argv: it is a copy of words[]. */
	argv[0] = (char *)"metroctl";
	for (j = 0; j < n; j++)
		argv[j + 1] = words[j];
	argv[n + 1] = NULL;

	json_output = false;
	pretty_output = false;
	verbose = 0;
	optind = 0;
	sigaction(SIGINT, NULL, &sa_int);
	sigaction(SIGTERM, NULL, &sa_term);
	r = metroctl_main(n + 1, argv);
	sigaction(SIGINT, &sa_int, NULL);
	sigaction(SIGTERM, &sa_term, NULL);
	fflush(stdout);
	fflush(stderr);
	if (r != EXIT_OK && r != EXIT_ERR && r != EXIT_USAGE) {
		fprintf(real_stderr, "fuzz_cli: exit status %d\n", r);
		abort();
	}
out:
	for (j = 0; j < n; j++)
		free(words[j]);
	return 0;
}
