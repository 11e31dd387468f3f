// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for userspace/probe.c: superblock reads in child processes
 * with a bounded wait.  The readers here stand in for devices that answer,
 * fail, answer garbage, die, or never answer; the real reader is run on
 * paths that are no block device.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <cmocka.h>

#include "metroctl.h"

/* What metroctl.c provides to leg.c; p_err keeps the last message. */
int verbose;
const char *bin_name = "metroctl";
static char last_err[512];
void p_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_err, sizeof(last_err), fmt, ap);
	va_end(ap);
}
void p_warn(const char *fmt, ...) { (void)fmt; }
void p_info(const char *fmt, ...) { (void)fmt; }

static pid_t test_pid;

static void good_info(struct metro_sb_info *in, uint64_t dev)
{
	struct metro_layout lay;

	assert_int_equal(metro_layout_for_device(dev, 8192, &lay), 0);
	memset(in, 0, sizeof(*in));
	in->version = METRO_FORMAT_VERSION;
	memset(in->vol_uuid, 0x42, METRO_UUID_LEN);
	strcpy(in->name, "probed");
	in->leg = METRO_LEG_B;
	in->region_sectors = 8192;
	in->data_offset = lay.data_offset;
	in->data_size = lay.data_size;
	in->bitmap_offset = lay.bitmap_offset;
	in->nr_regions = lay.nr_regions;
	in->events = 7;
	in->legs[0].state = in->legs[1].state = METRO_LEG_F_ACTIVE;
	in->legs[0].generation = in->legs[1].generation = 0x5eed;
}

#define DEV_SECTORS	(1 << 18)

/* Until the test process is gone: a device that never answers. */
static void hang(void)
{
	while (getppid() == test_pid)
		usleep(10000);
	_exit(0);
}

/* Behaves as its path says: "ok", "open", "junk", "die", "hang", "fds". */
static void fake_reader(const char *path, struct probe_reply *rep)
{
	struct metro_sb_info in;
	struct stat null, st;
	int fd;

	if (!strcmp(path, "ok")) {
		good_info(&in, DEV_SECTORS);
		metro_sb_encode(&in, &rep->raw);
		rep->rdev = makedev(43, 1);
		rep->sectors = DEV_SECTORS;
	} else if (!strcmp(path, "open")) {
		rep->step = LEG_STEP_OPEN;
		rep->err = -EACCES;
	} else if (!strcmp(path, "junk")) {
		rep->sectors = DEV_SECTORS;	/* raw left zero: no magic */
	} else if (!strcmp(path, "die")) {
		_exit(3);
	} else if (!strcmp(path, "hang")) {
		hang();
	} else if (!strcmp(path, "fds")) {
		/* Standard streams on /dev/null, nothing else inherited but fd 3. */
		if (stat("/dev/null", &null))
			_exit(4);
		for (fd = 0; fd < 3; fd++)
			if (fstat(fd, &st) || st.st_rdev != null.st_rdev)
				rep->err = -EBADF;
		for (fd = 4; fd < 1024; fd++)
			if (fcntl(fd, F_GETFD) >= 0)
				rep->err = -EMFILE;
		rep->step = LEG_STEP_READ;
		if (!rep->err)
			rep->err = -ENOSYS;	/* "checked, all well" */
	}
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void test_answers(void **state)
{
	struct sb_probe p[4] = {
		{ .path = "ok" }, { .path = "open" }, { .path = "junk" }, { .path = "die" },
	};

	(void)state;
	probe_sbs_with(p, 4, 5000, fake_reader);
	assert_int_equal(p[0].err, 0);
	assert_int_equal(p[0].rdev, makedev(43, 1));
	assert_int_equal(p[0].sectors, DEV_SECTORS);
	assert_string_equal(p[0].info.name, "probed");
	assert_int_equal(p[0].info.leg, METRO_LEG_B);
	assert_int_equal(p[0].info.events, 7);
	assert_int_equal(p[1].err, -EACCES);
	assert_int_equal(p[1].step, LEG_STEP_OPEN);
	assert_int_equal(p[2].err, -ENODATA);
	assert_int_equal(p[2].step, LEG_STEP_DECODE);
	/* The reader died without an answer. */
	assert_int_equal(p[3].err, -EIO);
	assert_int_equal(p[3].step, LEG_STEP_PROBE);
}

/* Devices that never answer cost the timeout, all of them at once. */
static void test_timeout(void **state)
{
	struct sb_probe p[40];
	struct timespec t0;
	long ms;
	int i;

	(void)state;
	for (i = 0; i < 40; i++)
		p[i].path = i % 5 == 2 ? "hang" : "ok";
	clock_gettime(CLOCK_MONOTONIC, &t0);
	probe_sbs_with(p, 40, 300, fake_reader);
	ms = elapsed_ms(&t0);
	for (i = 0; i < 40; i++) {
		if (i % 5 == 2) {
			assert_int_equal(p[i].err, -ETIMEDOUT);
			assert_int_equal(p[i].step, LEG_STEP_TIMEOUT);
		} else {
			assert_int_equal(p[i].err, 0);
			assert_string_equal(p[i].info.name, "probed");
		}
	}
	/* 8 silent devices in 16 slots: one timeout, not eight. */
	assert_true(ms >= 300);
	assert_true(ms < 2000);
}

/* More silent devices than readers at once: a timeout per batch. */
static void test_timeout_batches(void **state)
{
	struct sb_probe p[20];
	struct timespec t0;
	long ms;
	int i;

	(void)state;
	for (i = 0; i < 20; i++)
		p[i].path = "hang";
	clock_gettime(CLOCK_MONOTONIC, &t0);
	probe_sbs_with(p, 20, 200, fake_reader);
	ms = elapsed_ms(&t0);
	for (i = 0; i < 20; i++)
		assert_int_equal(p[i].err, -ETIMEDOUT);
	assert_true(ms >= 400);
	assert_true(ms < 3000);
}

/* The reader holds nothing of ours: no stream, no descriptor, no lock. */
static void test_child_fds(void **state)
{
	struct sb_probe p = { .path = "fds" };
	int pipefd[2];

	(void)state;
	assert_int_equal(pipe(pipefd), 0);	/* not close-on-exec: still not inherited */
	probe_sbs_with(&p, 1, 5000, fake_reader);
	close(pipefd[0]);
	close(pipefd[1]);
	assert_int_equal(p.err, -ENOSYS);
}

/* The real reader, and probe_leg's messages (those of leg_open). */
static void test_probe_leg(void **state)
{
	struct sb_probe p;
	char file[] = "/tmp/metro-test-probeXXXXXX";
	int fd;

	(void)state;
	assert_int_equal(probe_leg("/nonexistent-probe", &p, false), -ENOENT);
	assert_int_equal(p.step, LEG_STEP_STAT);
	assert_string_equal(last_err, "/nonexistent-probe: No such file or directory");
	assert_int_equal(probe_leg("/dev/null", &p, false), -ENOTBLK);
	assert_string_equal(last_err, "/dev/null is not a block device");
	fd = mkstemp(file);
	assert_true(fd >= 0);
	close(fd);
	last_err[0] = '\0';
	assert_int_equal(probe_leg(file, &p, true), -ENOTBLK);
	assert_string_equal(last_err, "");	/* quiet */
	unlink(file);
	/* The message for no answer names the device and the bound. */
	leg_report("/dev/nbd0", LEG_STEP_TIMEOUT, -ETIMEDOUT, NULL, PROBE_TIMEOUT_MS);
	assert_non_null(strstr(last_err, "/dev/nbd0 did not answer a read of its superblock within 2 s"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_timeout_batches),
		cmocka_unit_test(test_child_fds),
		cmocka_unit_test(test_probe_leg),
	};

	test_pid = getpid();
	/* A probe that waits for a silent reader fails here, not hangs. */
	alarm(60);
	return cmocka_run_group_tests_name("probe", tests, NULL, NULL);
}
