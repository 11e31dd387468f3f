// SPDX-License-Identifier: GPL-2.0-only
/*
 * incremental: called by 60-dm-metro.rules for every block device that
 * carries a dm-metro superblock (like mdadm -I).  Once both legs of a
 * volume are present, assemble it under the name in its superblock.
 *
 * scan_for_leg finds a volume's other leg, for incremental and resolve.
 * With udevd running, the udev database says which devices carry which
 * leg: the rules import METRO_UUID and METRO_LEG from 'metroctl examine
 * --export' for every block device, and only the devices recorded as the
 * leg wanted are read (this file is metroctl's only user of libudev).
 * Without udev (initramfs, the test VM), or when the database does not
 * record the device we start from as a leg of the volume (the rules are
 * not installed), every block device is read.  Either way the superblocks
 * are read through probe.c: a device that does not answer within
 * PROBE_TIMEOUT_MS is skipped, and named on stderr.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <libudev.h>

#include "metroctl.h"

/* Device nodes to read. */
struct devlist {
	char (*path)[300];
	unsigned int n, cap;
};

static int devlist_add(struct devlist *l, const char *path)
{
	if (l->n == l->cap) {
		unsigned int cap = l->cap ? 2 * l->cap : 32;
		char (*p)[300] = realloc(l->path, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->path = p;
		l->cap = cap;
	}
	snprintf(l->path[l->n++], sizeof(l->path[0]), "%s", path);
	return 0;
}

static void read_attr(const char *sysname, const char *attr, char *buf, size_t len)
{
	char p[300];
	FILE *f;

	buf[0] = '\0';
	snprintf(p, sizeof(p), "/sys/class/block/%s/%s", sysname, attr);
	f = fopen(p, "re");
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
}

/*
 * Device-mapper devices not worth reading: our own volumes (their data
 * area is not a leg) and suspended devices (a read would block).
 */
static bool skip_dm(const char *sysname)
{
	char buf[80];

	read_attr(sysname, "dm/uuid", buf, sizeof(buf));
	if (!strncmp(buf, "METRO-", 6))
		return true;
	read_attr(sysname, "dm/suspended", buf, sizeof(buf));
	return buf[0] == '1';
}

static bool sysfs_dev_size_zero(const char *sysname)
{
	char p[300];
	unsigned long long sz = 0;
	FILE *f;

	snprintf(p, sizeof(p), "/sys/class/block/%s/size", sysname);
	f = fopen(p, "re");
	if (!f)
		return true;
	if (fscanf(f, "%llu", &sz) != 1)
		sz = 0;
	fclose(f);
	return sz == 0;
}

static char leg_char(uint32_t leg)
{
	return leg == METRO_LEG_A ? 'A' : 'B';
}

/*
 * The devices the udev database records as leg @want of @me, in @l: 1,
 * or 0 when the database cannot tell (udevd not running, no libudev
 * context, or @self not recorded as a leg of @me: the rules are not
 * installed, or have not run for it).
 */
static int udev_candidates(const struct metro_sb_info *me, dev_t self, uint32_t want,
			   struct devlist *l)
{
	const char leg[2] = { leg_char(want), '\0' };
	struct udev_enumerate *e = NULL;
	struct udev_list_entry *ent;
	struct udev_device *d;
	struct udev *udev;
	const char *v;
	char uuid[37];
	int r = 0;

	if (!metro_udev_running())
		return 0;
	udev = udev_new();
	if (!udev)
		return 0;
	uuid_unparse(me->vol_uuid, uuid);
	d = udev_device_new_from_devnum(udev, 'b', self);
	v = d ? udev_device_get_property_value(d, "METRO_UUID") : NULL;
	if (!v || strcmp(v, uuid)) {
		p_info("udev does not record %u:%u as a leg of '%s' (are the 60-dm-metro.rules installed?): reading every block device",
		       major(self), minor(self), me->name);
		goto out;
	}
	e = udev_enumerate_new(udev);
	if (!e || udev_enumerate_add_match_subsystem(e, "block") < 0 ||
	    udev_enumerate_add_match_property(e, "METRO_UUID", uuid) < 0 ||
	    udev_enumerate_scan_devices(e) < 0) {
		p_info("cannot search the udev database: reading every block device");
		goto out;
	}
	r = 1;
	udev_list_entry_foreach(ent, udev_enumerate_get_list_entry(e)) {
		struct udev_device *c = udev_device_new_from_syspath(udev,
								    udev_list_entry_get_name(ent));
		const char *node = c ? udev_device_get_devnode(c) : NULL;

		v = c ? udev_device_get_property_value(c, "METRO_LEG") : NULL;
		if (node && v && !strcmp(v, leg) && udev_device_get_devnum(c) != self &&
		    !skip_dm(udev_device_get_sysname(c))) {
			p_info("udev records %s as leg %s of '%s'", node, leg, me->name);
			if (devlist_add(l, node))
				r = -ENOMEM;
		}
		if (c)
			udev_device_unref(c);
	}
out:
	if (e)
		udev_enumerate_unref(e);
	if (d)
		udev_device_unref(d);
	udev_unref(udev);
	return r;
}

/* Every block device but @self that may be a leg, from sysfs. */
static int sysfs_candidates(dev_t self, struct devlist *l)
{
	DIR *d = opendir("/sys/class/block");
	struct dirent *de;
	int r = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[300];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (skip_dm(de->d_name) || sysfs_dev_size_zero(de->d_name))
			continue;
		/* sysfs names use '!' for '/' in device names (e.g. cciss!c0d0). */
		snprintf(path, sizeof(path), "/dev/%s", de->d_name);
		for (char *p = path + 5; *p; p++)
			if (*p == '!')
				*p = '/';
		/* stat() of the node does not touch the device. */
		if (!stat(path, &st) && S_ISBLK(st.st_mode) && st.st_rdev == self)
			continue;
		if (devlist_add(l, path)) {
			r = -ENOMEM;
			break;
		}
	}
	closedir(d);
	return r;
}

/*
 * Find the other leg (@want) of volume @me: the device with the most
 * events among those that carry it.  Devices that did not answer are
 * counted in @c->skipped.
 */
void scan_for_leg(const struct metro_sb_info *me, dev_t self, uint32_t want,
		  struct candidate *c)
{
	struct devlist l = { 0 };
	struct sb_probe *p;
	unsigned int i;
	int from_udev, r;

	memset(c, 0, sizeof(*c));
	from_udev = udev_candidates(me, self, want, &l);
	if (from_udev <= 0) {
		l.n = 0;
		p_info("reading the superblock of every block device for leg %c of '%s'",
		       leg_char(want), me->name);
		r = sysfs_candidates(self, &l);
		if (r)
			p_warn("cannot list the block devices in /sys/class/block: %s",
			       strerror(-r));
	}
	p = calloc(l.n ? l.n : 1, sizeof(*p));
	if (!p) {
		p_err("out of memory");
		free(l.path);
		return;
	}
	for (i = 0; i < l.n; i++)
		p[i].path = l.path[i];
	probe_sbs(p, l.n, PROBE_TIMEOUT_MS);
	for (i = 0; i < l.n; i++) {
		const struct metro_sb_info *sb = &p[i].info;

		if (p[i].step == LEG_STEP_TIMEOUT) {
			p_warn("%s did not answer a read of its superblock within %u s: skipped it",
			       p[i].path, PROBE_TIMEOUT_MS / 1000);
			c->skipped++;
			continue;
		}
		if (p[i].err) {
			/* Most block devices are no leg; a recorded leg is worth a word. */
			if (from_udev > 0)
				p_warn("udev records %s as leg %c of '%s', but its superblock cannot be read (%s): skipped it",
				       p[i].path, leg_char(want), me->name,
				       p[i].why ? p[i].why : strerror(-p[i].err));
			continue;
		}
		if (p[i].rdev == self || memcmp(sb->vol_uuid, me->vol_uuid, METRO_UUID_LEN) ||
		    sb->leg != want || sb->region_sectors != me->region_sectors ||
		    sb->data_size != me->data_size || sb->data_offset != me->data_offset)
			continue;
		if (c->found)
			p_warn("both %s and %s carry leg %c of '%s': using the one with more events",
			       c->path, p[i].path, leg_char(want), sb->name);
		if (!c->found || sb->events > c->events) {
			snprintf(c->path, sizeof(c->path), "%s", p[i].path);
			c->events = sb->events;
		}
		c->found++;
	}
	free(p);
	free(l.path);
}

int do_incremental(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	struct metro_sb_info sb;
	struct candidate other;
	struct sb_probe self;
	char dm_uuid[64], active[128], path[300];
	int opt, r;

	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS, opts, NULL)) != -1)
		if ((r = common_opt("incremental", opt, argv)) >= 0)
			return r;
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return usage_err("incremental", "incremental: expected one DEV, got %d arguments", argc);

	/* The device udev is running us for may be dead too: bounded. */
	if (probe_leg(argv[0], &self, false)) {
		if (self.step == LEG_STEP_TIMEOUT)
			p_err("not assembling from %s: once it answers, run 'metroctl incremental %s' again",
			      argv[0], argv[0]);
		return EXIT_ERR;
	}
	sb = self.info;
	snprintf(path, sizeof(path), "%s", argv[0]);

	metro_dm_uuid(sb.vol_uuid, dm_uuid);
	r = metro_dm_uuid_active(dm_uuid, active, sizeof(active));
	if (r == 1) {
		printf("volume '%s' is already active as /dev/mapper/%s\n", sb.name, active);
		return EXIT_OK;
	}
	/* r < 0: device-mapper unusable; assembling below will say why. */
	scan_for_leg(&sb, self.rdev, sb.leg ^ 1, &other);
	if (!other.found) {
		printf("%s is leg %c of '%s': waiting for leg %c\n", path,
		       leg_char(sb.leg), sb.name, leg_char(sb.leg ^ 1));
		if (other.skipped)
			printf("  %d device%s did not answer: if leg %c is on %s, run 'metroctl incremental %s' once it answers\n",
			       other.skipped, other.skipped == 1 ? "" : "s", leg_char(sb.leg ^ 1),
			       other.skipped == 1 ? "it" : "one of them", path);
		return EXIT_OK;
	}
	if (!validate_name(sb.name, &(const char *){ NULL })) {
		return sb.leg == METRO_LEG_A ?
		       assemble_volume(sb.name, path, other.path, ASM_UDEV, NULL) :
		       assemble_volume(sb.name, other.path, path, ASM_UDEV, NULL);
	}
	p_err("volume name '%s' in the superblock of %s cannot be used as a device name",
	      sb.name, path);
	return EXIT_ERR;
}
