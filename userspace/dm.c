// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm.c - the only file that talks to libdevmapper.
 *
 * Works with and without udevd: when udev is running, node creation and
 * removal are synchronised with udev cookies; when it is not (initramfs,
 * the test VM), udev sync is switched off and libdevmapper creates the
 * /dev/mapper nodes itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <libdevmapper.h>

#include "metroctl.h"

/* libdevmapper's log levels (syslog numbering), not in its public header. */
#define DM_LOG_ERR	3
#define DM_LOG_WARN	4
#define DM_LOG_LEVEL_MASK 0x7

static bool udev_running;
static char last_error[512];
static char first_error[512];	/* sticky: e.g. "no device-mapper driver" */

/* Route libdevmapper's log lines through our message style. */
static void log_from_libdm(int level, const char *file, int line, int dm_errno_or_class,
		   const char *f, ...)
{
	va_list ap;
	char msg[512];

	(void)file;
	(void)line;
	(void)dm_errno_or_class;
	level &= DM_LOG_LEVEL_MASK;
	va_start(ap, f);
	vsnprintf(msg, sizeof(msg), f, ap);
	va_end(ap);
	msg[strcspn(msg, "\n")] = '\0';
	while (*msg && msg[strlen(msg) - 1] == '.')
		msg[strlen(msg) - 1] = '\0';
	if (level <= DM_LOG_ERR) {
		snprintf(last_error, sizeof(last_error), "%s", msg);
		if (!first_error[0])
			snprintf(first_error, sizeof(first_error), "%s", msg);
		/* Errors are reported by the caller with context, unless -v. */
		if (verbose)
			p_err("libdevmapper: %s", msg);
	} else if ((level <= DM_LOG_WARN && verbose) || verbose > 1) {
		fflush(stdout);
		fprintf(stderr, "%s: libdevmapper: %s\n", bin_name, msg);
	}
}

/* udevd runs when its control socket exists (it may not: initramfs, the test VM). */
bool metro_udev_running(void)
{
	return access("/run/udev/control", F_OK) == 0;
}

const char *metro_dm_last_error(void)
{
	if (last_error[0])
		return last_error;
	return first_error[0] ? first_error : "unknown device-mapper error";
}

void metro_dm_setup(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	dm_log_with_errno_init(log_from_libdm);
	udev_running = metro_udev_running();
	if (!udev_running) {
		dm_udev_set_sync_support(0);
		dm_udev_set_checking(0);
	}
}

/* Run @dmt with a udev cookie when udev runs, else update nodes ourselves. */
static int run_task_sync(struct dm_task *dmt, uint16_t udev_flags)
{
	uint32_t cookie = 0;
	int ok;

	if (udev_running) {
		if (!dm_task_set_cookie(dmt, &cookie, udev_flags))
			return 0;
		ok = dm_task_run(dmt);
		if (!dm_udev_wait(cookie))
			ok = 0;
		return ok;
	}
	ok = dm_task_run(dmt);
	dm_task_update_nodes();
	return ok;
}

static void clear_error(void)
{
	last_error[0] = '\0';
}

/*
 * DM_DEVICE_INFO for a device given by UUID (@by_uuid) or by name: 1 if it
 * exists (its name copied to @name_out), 0 if not, -1 on error.
 */
static int info_lookup(const char *key, bool by_uuid, char *name_out, size_t len)
{
	struct dm_task *dmt;
	struct dm_info info;
	int r = -1;

	metro_dm_setup();
	clear_error();
	dmt = dm_task_create(DM_DEVICE_INFO);
	if (!dmt)
		return -1;
	if (!(by_uuid ? dm_task_set_uuid(dmt, key) : dm_task_set_name(dmt, key)) ||
	    !dm_task_run(dmt) || !dm_task_get_info(dmt, &info))
		goto out;
	r = info.exists ? 1 : 0;
	if (r == 1 && name_out) {
		const char *n = dm_task_get_name(dmt);

		snprintf(name_out, len, "%s", n ? n : "?");
	}
out:
	dm_task_destroy(dmt);
	return r;
}

int metro_dm_uuid_active(const char *dm_uuid, char *name_out, size_t len)
{
	return info_lookup(dm_uuid, true, name_out, len);
}

int metro_dm_name_exists(const char *name)
{
	return info_lookup(name, false, NULL, 0);
}

/* Is the metro target known to the running kernel (loaded module)? */
static int metro_target_loaded(void)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_LIST_VERSIONS);
	struct dm_versions *t, *last;
	int found = 0;

	if (!dmt)
		return -1;
	if (!dm_task_run(dmt)) {
		dm_task_destroy(dmt);
		return -1;
	}
	t = dm_task_get_versions(dmt);
	do {
		last = t;
		if (!strcmp(t->name, "metro"))
			found = 1;
		t = (struct dm_versions *)((char *)t + t->next);
	} while (last != t);
	dm_task_destroy(dmt);
	return found;
}

int metro_dm_activate(const char *name, const char *dm_uuid, uint64_t sectors,
		dev_t leg_a, dev_t leg_b, const char *opts)
{
	struct dm_task *dmt;
	char params[TABLE_PARAMS_LEN];
	int ok;

	metro_dm_setup();
	clear_error();
	/* Device number 0 is no device: "-" activates without that leg. */
	load_table_params(leg_a, leg_b, opts, params, sizeof(params));
	dmt = dm_task_create(DM_DEVICE_CREATE);
	if (!dmt) {
		p_err("cannot talk to device-mapper: %s (is the dm_mod module loaded? are you root?)",
		      metro_dm_last_error());
		return -EIO;
	}
	/* CREATE with a table: create, load and resume, removed again on failure. */
	ok = dm_task_set_name(dmt, name) && dm_task_set_uuid(dmt, dm_uuid) &&
	     dm_task_add_target(dmt, 0, sectors, "metro", params);
	if (ok)
		ok = run_task_sync(dmt, 0);
	dm_task_destroy(dmt);
	if (!ok) {
		const char *e = metro_dm_last_error();
		int loaded = metro_target_loaded();

		p_err("the kernel refused to activate %s (table \"0 %llu metro %s\"): %s",
		      name, (unsigned long long)sectors, params, e);
		if (loaded == 0)
			p_err("the metro target is not loaded: load it with 'modprobe dm-metro' (or insmod dm-metro.ko), then retry");
		else
			p_err("look at 'dmesg' for the metro target's reason");
		return -EIO;
	}
	return 0;
}

/*
 * Look @name up: 1 when it is an active metro device, filling @info and
 * its status line in @status (@len bytes).
 */
static int get_metro(const char *name, struct dm_info *info, char *status, size_t len)
{
	struct dm_task *dmt;
	uint64_t start, length;
	char *type = NULL, *params = NULL;
	int r = -1;

	dmt = dm_task_create(DM_DEVICE_STATUS);
	if (!dmt)
		return -1;
	if (!dm_task_set_name(dmt, name) || !dm_task_run(dmt) ||
	    !dm_task_get_info(dmt, info))
		goto out;
	r = 0;
	if (!info->exists)
		goto out;
	dm_get_next_target(dmt, NULL, &start, &length, &type, &params);
	if (type && !strcmp(type, "metro")) {
		snprintf(status, len, "%s", params ? params : "");
		r = 1;
	}
out:
	dm_task_destroy(dmt);
	return r;
}

int metro_dm_stop(const char *name, char *status, size_t len)
{
	struct dm_task *dmt;
	struct dm_info info;
	int r, ok;

	metro_dm_setup();
	clear_error();
	r = get_metro(name, &info, status, len);
	if (r < 0) {
		p_err("cannot query device-mapper: %s", metro_dm_last_error());
		return -EIO;
	}
	if (r == 0) {
		p_err("%s is not a metro volume", name);
		return -ENOENT;
	}
	if (info.open_count > 0) {
		p_err("%s is in use (open count %d): unmount it or stop whatever holds it first",
		      name, info.open_count);
		return -EBUSY;
	}
	dmt = dm_task_create(DM_DEVICE_REMOVE);
	if (!dmt)
		return -EIO;
	ok = dm_task_set_name(dmt, name);
	if (ok) {
		dm_task_retry_remove(dmt);
		ok = run_task_sync(dmt, 0);
	}
	dm_task_destroy(dmt);
	if (!ok) {
		p_err("cannot remove %s: %s", name, metro_dm_last_error());
		return -EIO;
	}
	return 0;
}

static int add_if_metro(const char *name, struct metro_dm_dev **arr, int *n, int *cap)
{
	struct dm_task *dmt;
	struct dm_info info;
	uint64_t start, length;
	char *type = NULL, *params = NULL;
	int r = 0;

	dmt = dm_task_create(DM_DEVICE_STATUS);
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_name(dmt, name) || !dm_task_run(dmt) ||
	    !dm_task_get_info(dmt, &info)) {
		r = -EIO;
		goto out;
	}
	if (!info.exists)
		goto out;
	dm_get_next_target(dmt, NULL, &start, &length, &type, &params);
	if (!type || strcmp(type, "metro"))
		goto out;
	if (*n == *cap) {
		int ncap = *cap ? *cap * 2 : 8;
		struct metro_dm_dev *a = realloc(*arr, (size_t)ncap * sizeof(*a));

		if (!a) {
			r = -ENOMEM;
			goto out;
		}
		*arr = a;
		*cap = ncap;
	}
	memset(&(*arr)[*n], 0, sizeof(**arr));
	snprintf((*arr)[*n].name, sizeof((*arr)[*n].name), "%s", name);
	(*arr)[*n].length = length;
	snprintf((*arr)[*n].params, sizeof((*arr)[*n].params), "%s", params ? params : "");
	(*n)++;
	r = 1;
out:
	dm_task_destroy(dmt);
	return r;
}

int metro_dm_list(const char *only, struct metro_dm_dev **out, int *count)
{
	struct dm_task *dmt;
	struct dm_names *names;
	unsigned int next = 0;
	int n = 0, cap = 0, r = 0;

	metro_dm_setup();
	clear_error();
	*out = NULL;
	*count = 0;
	if (only) {
		r = add_if_metro(only, out, &n, &cap);
		if (r < 0) {
			p_err("cannot query device-mapper: %s", metro_dm_last_error());
			return r;
		}
		*count = n;
		return 0;
	}
	dmt = dm_task_create(DM_DEVICE_LIST);
	if (!dmt || !dm_task_run(dmt)) {
		p_err("cannot list device-mapper devices: %s", metro_dm_last_error());
		if (dmt)
			dm_task_destroy(dmt);
		return -EIO;
	}
	names = dm_task_get_names(dmt);
	if (names && names->dev) {
		do {
			names = (struct dm_names *)((char *)names + next);
			r = add_if_metro(names->name, out, &n, &cap);
			if (r == -ENOMEM)
				break;
			r = 0;	/* a device that vanished meanwhile is skipped */
			next = names->next;
		} while (next);
	}
	dm_task_destroy(dmt);
	*count = n;
	return r;
}

#define METRO_LOCK_PATH	"/run/metroctl.lock"

/*
 * metro_lock - serialise "is the volume active? activate it" between
 * metroctl instances (create racing udev-triggered incremental runs).
 * Returns an fd to pass to metro_unlock, or -1 when no lock is possible.
 * The holder takes as long as its device-mapper ioctls and superblock
 * writes take, so the wait is not bounded here; it is said, though.
 */
int metro_lock(void)
{
	int fd = open(METRO_LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	if (!flock(fd, LOCK_EX | LOCK_NB))
		return fd;
	if (errno == EWOULDBLOCK)
		p_warn("waiting for another metroctl to finish: it holds %s ('fuser -v %s' names it)",
		       METRO_LOCK_PATH, METRO_LOCK_PATH);
	while (flock(fd, LOCK_EX) && errno == EINTR)
		;
	return fd;
}

void metro_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/*
 * metro_dm_get_table - the live table line of the metro device @name: its length
 * and its parameters ("<dev_a> <dev_b> [<#opt_args> ...]").  1 when @name
 * is an active metro device, 0 when it is not, negative on error.
 */
int metro_dm_get_table(const char *name, uint64_t *length, char *params, size_t len)
{
	struct dm_task *dmt;
	struct dm_info info;
	uint64_t start;
	char *type = NULL, *p = NULL;
	int r = -EIO;

	r = metro_dm_name_exists(name);
	if (r <= 0)
		return r;
	r = -EIO;
	clear_error();
	dmt = dm_task_create(DM_DEVICE_TABLE);
	if (!dmt)
		return -EIO;
	if (!dm_task_set_name(dmt, name) || !dm_task_run(dmt) ||
	    !dm_task_get_info(dmt, &info))
		goto out;
	r = 0;
	if (!info.exists || !info.live_table)
		goto out;
	dm_get_next_target(dmt, NULL, &start, length, &type, &p);
	if (!type || strcmp(type, "metro") || start != 0)
		goto out;
	snprintf(params, len, "%s", p ? p : "");
	r = 1;
out:
	dm_task_destroy(dmt);
	return r;
}

/* DM_DEVICE_CLEAR: drop an inactive table that will not be used. */
static void clear_inactive(const char *name)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_CLEAR);

	if (!dmt)
		return;
	if (dm_task_set_name(dmt, name))
		dm_task_run(dmt);
	dm_task_destroy(dmt);
}

/*
 * metro_dm_reload - replace the live table of @name with "0 @length metro
 * @params": load it as the inactive table, then suspend and resume.  The
 * constructor only reads the legs, so when the load is refused the live
 * table is untouched and nothing has been suspended.  Returns 0, -EINVAL
 * when the kernel refused the table (the old one still live) or -EIO when
 * the swap itself failed (look at the device).
 */
int metro_dm_reload(const char *name, uint64_t length, const char *params)
{
	struct dm_task *dmt;
	int ok;

	metro_dm_setup();
	clear_error();
	dmt = dm_task_create(DM_DEVICE_RELOAD);
	if (!dmt) {
		p_err("cannot talk to device-mapper: %s", metro_dm_last_error());
		return -EIO;
	}
	ok = dm_task_set_name(dmt, name) &&
	     dm_task_add_target(dmt, 0, length, "metro", params) &&
	     dm_task_run(dmt);
	dm_task_destroy(dmt);
	if (!ok) {
		p_err("the kernel refused the table \"0 %llu metro %s\" for %s: %s; the volume runs on unchanged (see 'dmesg' for the metro target's reason)",
		      (unsigned long long)length, params, name, metro_dm_last_error());
		return -EINVAL;
	}

	clear_error();
	dmt = dm_task_create(DM_DEVICE_SUSPEND);
	ok = dmt && dm_task_set_name(dmt, name) && dm_task_run(dmt);
	if (dmt)
		dm_task_destroy(dmt);
	if (!ok) {
		p_err("cannot suspend %s: %s; the volume runs on unchanged", name,
		      metro_dm_last_error());
		clear_inactive(name);
		return -EINVAL;
	}

	/* RESUME swaps in the new table; its preresume reads both legs. */
	clear_error();
	dmt = dm_task_create(DM_DEVICE_RESUME);
	ok = dmt && dm_task_set_name(dmt, name);
	if (ok)
		ok = run_task_sync(dmt, 0);
	if (dmt)
		dm_task_destroy(dmt);
	if (!ok) {
		p_err("cannot resume %s with the new table: %s; %s may be left suspended: see 'dmesg' and 'dmsetup info %s'",
		      name, metro_dm_last_error(), name, name);
		return -EIO;
	}
	return 0;
}

/*
 * metro_dm_message - send @msg to sector 0 of the metro device @name (the
 * "check", "repair" and "check_stop" messages).  0, or -errno of the
 * ioctl: the target says why in the kernel log.
 */
int metro_dm_message(const char *name, const char *msg)
{
	struct dm_task *dmt;
	int r = -EIO;

	metro_dm_setup();
	clear_error();
	dmt = dm_task_create(DM_DEVICE_TARGET_MSG);
	if (!dmt)
		return -ENOMEM;
	if (dm_task_set_name(dmt, name) && dm_task_set_sector(dmt, 0) &&
	    dm_task_set_message(dmt, msg)) {
		if (dm_task_run(dmt))
			r = 0;
		else
			r = -(dm_task_get_errno(dmt) ? dm_task_get_errno(dmt) : EIO);
	}
	dm_task_destroy(dmt);
	return r;
}
