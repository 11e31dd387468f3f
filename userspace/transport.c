// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where a leg's device lives: in this host or its site's storage network,
 * or across a network that can stall for as long as its transport retries
 * (NVMe over TCP or RDMA, iSCSI, NBD, RBD, DRBD), found from sysfs through
 * libudev.  read_mode auto (metro-table.h) bounces the reads of the legs
 * across such a network, so that a read caught in a stall is abandoned at
 * the I/O deadline, and lets the others read straight into the caller's
 * pages.  The kernel cannot tell one transport from another, so metroctl
 * names those legs ("read_mode auto:B") on every table line it loads, for
 * the devices of that line: the same volume's leg A is local at one site
 * and remote at the other.
 *
 * Stacked devices (dm, md) are remote when any device below them is; a
 * partition is where its disk is.  Fibre Channel and NVMe/FC count as
 * local: a site's own SAN.  Nothing here opens a device, so a dead one
 * costs no wait.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <libudev.h>
#include <sys/sysmacros.h>

#include "metroctl.h"

/* Devices stacked deeper than this are taken as local. */
#define TRANSPORT_MAX_DEPTH	8

/* A controller's transport attribute: a remote one, or NULL. */
static const char *nvme_ctrl_remote(struct udev_device *ctrl)
{
	const char *t = udev_device_get_sysattr_value(ctrl, "transport");

	if (t && !strcmp(t, "tcp"))
		return "nvme-tcp";
	if (t && !strcmp(t, "rdma"))
		return "nvme-rdma";
	return NULL;
}

/*
 * An NVMe namespace under native multipath hangs off its subsystem, whose
 * controllers are the entries "nvme<N>" of its sysfs directory: remote if
 * any of them is.
 */
static const char *nvme_subsys_remote(struct udev *udev, struct udev_device *subsys)
{
	const char *path = udev_device_get_syspath(subsys), *t = NULL;
	struct udev_device *ctrl;
	char sub[512];
	struct dirent *e;
	DIR *d;

	d = path ? opendir(path) : NULL;
	if (!d)
		return NULL;
	while (!t && (e = readdir(d))) {
		if (strncmp(e->d_name, "nvme", 4) || !e->d_name[4] ||
		    strspn(e->d_name + 4, "0123456789") != strlen(e->d_name + 4))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		ctrl = udev_device_new_from_syspath(udev, sub);
		if (ctrl) {
			t = nvme_ctrl_remote(ctrl);
			udev_device_unref(ctrl);
		}
	}
	closedir(d);
	return t;
}

static const char *block_remote(struct udev *udev, struct udev_device *dev, int depth);

/* A dm or md device: remote when a device in its slaves/ is. */
static const char *slaves_remote(struct udev *udev, struct udev_device *dev, int depth)
{
	const char *path = udev_device_get_syspath(dev), *t = NULL;
	struct udev_device *s;
	char sub[512];
	struct dirent *e;
	DIR *d;

	if (!path || snprintf(sub, sizeof(sub), "%s/slaves", path) >= (int)sizeof(sub))
		return NULL;
	d = opendir(sub);
	if (!d)
		return NULL;
	while (!t && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		s = udev_device_new_from_subsystem_sysname(udev, "block", e->d_name);
		if (s) {
			t = block_remote(udev, s, depth + 1);
			udev_device_unref(s);
		}
	}
	closedir(d);
	return t;
}

/* The transport of block device @dev if remote, else NULL. */
static const char *block_remote(struct udev *udev, struct udev_device *dev, int depth)
{
	const char *name, *type = udev_device_get_devtype(dev), *sub, *path;
	struct udev_device *p;
	static const char *const nets[] = { "nbd", "rbd", "drbd" };
	size_t i;

	if (depth > TRANSPORT_MAX_DEPTH)
		return NULL;
	if (type && !strcmp(type, "partition")) {
		p = udev_device_get_parent_with_subsystem_devtype(dev, "block", "disk");
		/* the parent belongs to @dev: no unref */
		return p ? block_remote(udev, p, depth + 1) : NULL;
	}
	name = udev_device_get_sysname(dev);
	for (i = 0; name && i < sizeof(nets) / sizeof(nets[0]); i++)
		if (!strncmp(name, nets[i], strlen(nets[i])) &&
		    name[strlen(nets[i])] >= '0' && name[strlen(nets[i])] <= '9')
			return nets[i];
	path = udev_device_get_syspath(dev);
	/* SCSI disks of an iSCSI session: .../hostN/sessionM/targetN:C:T/... */
	if (path && strstr(path, "/session"))
		return "iscsi";
	for (p = udev_device_get_parent(dev); p; p = udev_device_get_parent(p)) {
		sub = udev_device_get_subsystem(p);
		if (!sub)
			continue;
		if (!strcmp(sub, "nvme"))
			return nvme_ctrl_remote(p);
		if (!strcmp(sub, "nvme-subsystem"))
			return nvme_subsys_remote(udev, p);
	}
	return slaves_remote(udev, dev, depth);
}

const char *dev_transport_remote(dev_t dev)
{
	struct udev_device *d;
	struct udev *udev;
	const char *t = NULL;

	if (!dev)
		return NULL;
	udev = udev_new();
	if (!udev)
		return NULL;
	d = udev_device_new_from_devnum(udev, 'b', dev);
	if (d) {
		/* the names returned are string literals */
		t = block_remote(udev, d, 0);
		udev_device_unref(d);
	}
	udev_unref(udev);
	return t;
}

unsigned int remote_legs(dev_t leg_a, dev_t leg_b)
{
	return (dev_transport_remote(leg_a) ? METRO_LEGS_A : 0) |
	       (dev_transport_remote(leg_b) ? METRO_LEGS_B : 0);
}

void load_table_params(dev_t leg_a, dev_t leg_b, const char *opts, char *buf, size_t len)
{
	char words[METRO_TABLE_OPTS_LEN];
	struct metro_table_opts o;
	const char *why;

	if (!parse_table_opts(opts, &o, &why) && o.read_mode == METRO_READ_AUTO) {
		o.read_legs = remote_legs(leg_a, leg_b);
		metro_table_opts_format(&o, words);
		opts = words;
	}
	format_table_params(leg_a, leg_b, opts, buf, len);
}
