// SPDX-License-Identifier: GPL-2.0-only
/*
 * incremental: called by 60-dm-metro.rules for every block device that
 * carries a dm-metro superblock (like mdadm -I).  Once both legs of a
 * volume are present, assemble it under the name in its superblock.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "metroctl.h"


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

/* Find the other leg (@want) of volume @me among all block devices. */
void scan_for_leg(const struct metro_sb_info *me, dev_t self, uint32_t want,
			 struct candidate *c)
{
	DIR *d = opendir("/sys/class/block");
	struct dirent *de;

	memset(c, 0, sizeof(*c));
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct metro_sb_info sb;
		struct leg l;
		char path[300];

		if (de->d_name[0] == '.')
			continue;
		if (skip_dm(de->d_name) || sysfs_dev_size_zero(de->d_name))
			continue;
		/* sysfs names use '!' for '/' in device names (e.g. cciss!c0d0). */
		snprintf(path, sizeof(path), "/dev/%s", de->d_name);
		for (char *p = path + 5; *p; p++)
			if (*p == '!')
				*p = '/';
		if (leg_open(&l, path, LEG_RDONLY | LEG_QUIET))
			continue;
		if (l.rdev != self && !leg_read_sb(&l, &sb, true) &&
		    !memcmp(sb.vol_uuid, me->vol_uuid, METRO_UUID_LEN) && sb.leg == want &&
		    sb.region_sectors == me->region_sectors && sb.data_size == me->data_size &&
		    sb.data_offset == me->data_offset) {
			if (c->found)
				p_warn("both %s and %s carry leg %c of '%s': using the one with more events",
				       c->path, path, want == METRO_LEG_A ? 'A' : 'B', sb.name);
			if (!c->found || sb.events > c->events) {
				snprintf(c->path, sizeof(c->path), "%s", path);
				c->events = sb.events;
			}
			c->found++;
		}
		leg_close(&l);
	}
	closedir(d);
}

int do_incremental(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	struct metro_sb_info sb;
	struct candidate other;
	struct leg leg;
	char dm_uuid[64], active[128], path[300];
	dev_t self;
	int opt, r;

	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS, opts, NULL)) != -1)
		if ((r = common_opt("incremental", opt, argv)) >= 0)
			return r;
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return usage_err("incremental", "incremental: expected one DEV, got %d arguments", argc);

	if (leg_open(&leg, argv[0], LEG_RDONLY))
		return EXIT_ERR;
	r = leg_read_sb(&leg, &sb, false);
	self = leg.rdev;
	snprintf(path, sizeof(path), "%s", argv[0]);
	leg_close(&leg);
	if (r)
		return EXIT_ERR;

	metro_dm_uuid(sb.vol_uuid, dm_uuid);
	r = metro_dm_uuid_active(dm_uuid, active, sizeof(active));
	if (r == 1) {
		printf("volume '%s' is already active as /dev/mapper/%s\n", sb.name, active);
		return EXIT_OK;
	}
	/* r < 0: device-mapper unusable; assembling below will say why. */
	scan_for_leg(&sb, self, sb.leg == METRO_LEG_A ? METRO_LEG_B : METRO_LEG_A, &other);
	if (!other.found) {
		printf("%s is leg %c of '%s': waiting for leg %c\n", path,
		       sb.leg == METRO_LEG_A ? 'A' : 'B', sb.name,
		       sb.leg == METRO_LEG_A ? 'B' : 'A');
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
