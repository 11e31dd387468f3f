// SPDX-License-Identifier: GPL-2.0-only
/*
 * Legs on disk: opening them, reading and writing the superblock and the
 * bitmap through metro-format.h, probing for other signatures (libblkid).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/fs.h>
#include <blkid/blkid.h>

#include "metroctl.h"

#define BM_CHUNK (1U << 20)	/* bitmap I/O unit, bytes */

/* @path is a block device node of @dev. */
static bool is_node_of(const char *path, dev_t dev)
{
	struct stat st;

	return !stat(path, &st) && S_ISBLK(st.st_mode) && st.st_rdev == dev;
}

/*
 * leg_dev_path - a device node for block device @dev, found through sysfs
 * (no udev needed): /dev/mapper/NAME for a device-mapper device, else the
 * kernel's name under /dev (devtmpfs), each checked against @dev.  0 with
 * the node in @out; -ENOENT when there is none, with "major:minor" in @out.
 */
int leg_dev_path(dev_t dev, char *out, size_t len)
{
	char sys[128], buf[256];
	FILE *f;

	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/dm/name", major(dev), minor(dev));
	f = fopen(sys, "re");
	if (f) {
		if (fgets(buf, sizeof(buf), f)) {
			buf[strcspn(buf, "\n")] = '\0';
			snprintf(out, len, "/dev/mapper/%s", buf);
			if (buf[0] && is_node_of(out, dev)) {
				fclose(f);
				return 0;
			}
		}
		fclose(f);
	}
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/uevent", major(dev), minor(dev));
	f = fopen(sys, "re");
	if (f) {
		while (fgets(buf, sizeof(buf), f)) {
			if (strncmp(buf, "DEVNAME=", 8))
				continue;
			buf[strcspn(buf, "\n")] = '\0';
			snprintf(out, len, "/dev/%s", buf + 8);
			if (is_node_of(out, dev)) {
				fclose(f);
				return 0;
			}
			break;
		}
		fclose(f);
	}
	snprintf(out, len, "%u:%u", major(dev), minor(dev));
	return -ENOENT;
}

void leg_report(const char *path, enum leg_step step, int err, const char *why,
		unsigned int timeout_ms)
{
	switch (step) {
	case LEG_STEP_STAT:
		if (err == -ENOTBLK)
			p_err("%s is not a block device", path);
		else
			p_err("%s: %s", path, strerror(-err));
		break;
	case LEG_STEP_OPEN:
		if (err == -EBUSY)
			p_err("%s is in use (mounted, or held by another device or process)", path);
		else
			p_err("cannot open %s: %s", path, strerror(-err));
		break;
	case LEG_STEP_SIZE:
		p_err("%s: cannot get the device size: %s", path, strerror(-err));
		break;
	case LEG_STEP_READ:
		if (err == -ENODATA)
			p_err("%s is not a dm-metro leg", path);
		else
			p_err("cannot read the superblock of %s: %s", path, strerror(-err));
		break;
	case LEG_STEP_DECODE:
		if (err == -ENODATA)
			p_err("%s is not a dm-metro leg", path);
		else
			p_err("%s: bad dm-metro superblock: %s", path, why ? why : strerror(-err));
		break;
	case LEG_STEP_TIMEOUT:
		p_err("%s did not answer a read of its superblock within %u s: is the device, or the server or link behind it, alive?",
		      path, (timeout_ms + 999) / 1000);
		break;
	case LEG_STEP_PROBE:
	case LEG_STEP_NONE:
		p_err("cannot read the superblock of %s: %s", path,
		      err == -EIO ? "the process reading it ended without an answer" :
		      strerror(-err));
		break;
	}
}

/* Fail @l at @step with @err, saying why unless @quiet. */
static int open_failed(struct leg *l, enum leg_step step, int err, bool quiet)
{
	l->step = step;
	if (!quiet)
		leg_report(l->path, step, err, NULL, 0);
	return err;
}

int leg_open(struct leg *l, const char *path, int mode)
{
	bool quiet = mode & LEG_QUIET;
	bool excl = mode & LEG_RDWR_EXCL;
	struct stat st;
	uint64_t bytes;
	int fd, flags;

	memset(l, 0, sizeof(*l));
	l->path = path;
	l->fd = -1;
	if (stat(path, &st))
		return open_failed(l, LEG_STEP_STAT, -errno, quiet);
	if (!S_ISBLK(st.st_mode))
		return open_failed(l, LEG_STEP_STAT, -ENOTBLK, quiet);
	if (excl)
		flags = O_RDWR | O_EXCL;
	else if (mode & LEG_RDONLY_EXCL)
		flags = O_RDONLY | O_EXCL;	/* in use? without a change event at close */
	else
		flags = O_RDONLY | O_NONBLOCK;
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return open_failed(l, LEG_STEP_OPEN, -errno, quiet);
	if (ioctl(fd, BLKGETSIZE64, &bytes)) {
		int e = -errno;

		close(fd);
		return open_failed(l, LEG_STEP_SIZE, e, quiet);
	}
	l->fd = fd;
	l->rdev = st.st_rdev;
	l->bytes = bytes;
	l->sectors = bytes >> METRO_SECTOR_SHIFT;
	return 0;
}

void leg_close(struct leg *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

/*
 * Read from the device itself, not the page cache: the kernel target
 * writes superblocks and bitmaps with bios below the block device's page
 * cache, so a copy cached by an earlier read (or by our own create) can be
 * stale.  Dropping the clean cached pages of the range first is enough;
 * our own writes are fsync'ed before the target ever sees the leg.
 */
static int pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	posix_fadvise(fd, off, (off_t)len, POSIX_FADV_DONTNEED);
	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done, off + (off_t)done);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;	/* short device */
		done += (size_t)r;
	}
	return 0;
}

static int pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pwrite(fd, (const char *)buf + done, len - done, off + (off_t)done);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ENOSPC;
		done += (size_t)r;
	}
	return 0;
}

int leg_read_raw_sb(struct leg *l, struct metro_sb_disk *raw)
{
	if (l->bytes < (METRO_SB_OFFSET << METRO_SECTOR_SHIFT) + METRO_SB_SIZE)
		return -ENODATA;	/* too small to hold one */
	return pread_full(l->fd, raw, sizeof(*raw),
			  (off_t)(METRO_SB_OFFSET << METRO_SECTOR_SHIFT));
}

int leg_read_sb(struct leg *l, struct metro_sb_info *info, bool quiet)
{
	struct metro_sb_disk *raw;
	const char *why = NULL;
	int r;

	raw = malloc(sizeof(*raw));
	if (!raw) {
		if (!quiet)
			p_err("out of memory");
		return -ENOMEM;
	}
	r = leg_read_raw_sb(l, raw);
	if (r) {
		if (!quiet)
			leg_report(l->path, LEG_STEP_READ, r, NULL, 0);
	} else {
		r = metro_sb_decode(raw, l->sectors, info, &why);
		if (r && !quiet)
			leg_report(l->path, LEG_STEP_DECODE, r, why, 0);
	}
	free(raw);
	return r;
}

int leg_write_sb(struct leg *l, const struct metro_sb_info *info)
{
	struct metro_sb_disk *raw = malloc(sizeof(*raw));
	int r;

	if (!raw)
		return -ENOMEM;
	metro_sb_encode(info, raw);
	r = pwrite_full(l->fd, raw, sizeof(*raw),
			(off_t)(METRO_SB_OFFSET << METRO_SECTOR_SHIFT));
	free(raw);
	if (r)
		p_err("cannot write the superblock of %s: %s", l->path, strerror(-r));
	return r;
}

/*
 * Write the whole padded bitmap area, every slot of it: bits
 * 0..nr_regions-1 of slot 0 set when @all_dirty, everything else (the
 * other slots, the padding) zero.
 */
int leg_write_bitmap(struct leg *l, const struct metro_layout *lay, bool all_dirty)
{
	uint64_t full_bytes = all_dirty ? lay->nr_regions / 8 : 0;
	unsigned int tail_bits = all_dirty ? (unsigned int)(lay->nr_regions % 8) : 0;
	uint64_t off = 0, total = lay->bitmap_bytes * (lay->nr_slots ? lay->nr_slots : 1);
	uint8_t *buf;
	int r = 0;

	buf = malloc(BM_CHUNK);
	if (!buf)
		return -ENOMEM;
	while (off < total) {
		size_t n = total - off < BM_CHUNK ? (size_t)(total - off) : BM_CHUNK;
		size_t i;

		for (i = 0; i < n; i++) {
			uint64_t byte = off + i;

			if (byte < full_bytes)
				buf[i] = 0xff;
			else if (byte == full_bytes && tail_bits)
				buf[i] = (uint8_t)((1U << tail_bits) - 1);
			else
				buf[i] = 0;
		}
		r = pwrite_full(l->fd, buf, n,
				(off_t)((lay->bitmap_offset << METRO_SECTOR_SHIFT) + off));
		if (r)
			break;
		off += n;
	}
	free(buf);
	if (r)
		p_err("cannot write the bitmap of %s: %s", l->path, strerror(-r));
	return r;
}

int leg_count_dirty(struct leg *l, const struct metro_sb_info *info, uint64_t *dirty)
{
	uint64_t bytes = (info->nr_regions + 7) / 8, off = 0, n = 0;
	uint8_t *buf = malloc(BM_CHUNK);
	int r = 0;

	if (!buf)
		return -ENOMEM;
	while (off < bytes) {
		size_t len = bytes - off < BM_CHUNK ? (size_t)(bytes - off) : BM_CHUNK;
		uint64_t bits = info->nr_regions - off * 8;

		r = pread_full(l->fd, buf, len,
			       (off_t)((info->bitmap_offset << METRO_SECTOR_SHIFT) + off));
		if (r)
			break;
		if (bits > (uint64_t)len * 8)
			bits = (uint64_t)len * 8;
		n += bitmap_count(buf, 0, bits);
		off += len;
	}
	free(buf);
	if (r)
		return r;
	*dirty = n;
	return 0;
}

/* Bytes of @info's bitmap that hold region bits, and the mask of the last. */
static uint64_t region_bytes(const struct metro_sb_info *info, uint8_t *last_mask)
{
	unsigned int tail = (unsigned int)(info->nr_regions % 8);

	*last_mask = tail ? (uint8_t)((1U << tail) - 1) : 0xff;
	return (info->nr_regions + 7) / 8;
}

static off_t slot_byte(const struct metro_sb_info *info, unsigned int slot, uint64_t off)
{
	return (off_t)((metro_slot_offset(info, slot) << METRO_SECTOR_SHIFT) + off);
}

/*
 * leg_count_dirty_slots - the bits set in each of the @info->nr_slots
 * bitmap slots (@counts[slot]) and in their union (@uni), as the target
 * reads them; padding bits past the last region are not counted.
 */
int leg_count_dirty_slots(struct leg *l, const struct metro_sb_info *info,
			  uint64_t counts[METRO_MAX_SLOTS], uint64_t *uni)
{
	uint8_t mask, *buf = malloc(BM_CHUNK), *ubuf = malloc(BM_CHUNK);
	uint64_t bytes = region_bytes(info, &mask), off = 0, u = 0;
	unsigned int s, nr = info->nr_slots ? info->nr_slots : 1;
	int r = 0;

	if (!buf || !ubuf) {
		free(buf);
		free(ubuf);
		return -ENOMEM;
	}
	if (nr > METRO_MAX_SLOTS)
		nr = METRO_MAX_SLOTS;
	for (s = 0; s < nr; s++)
		counts[s] = 0;
	while (off < bytes && !r) {
		size_t len = bytes - off < BM_CHUNK ? (size_t)(bytes - off) : BM_CHUNK;

		memset(ubuf, 0, len);
		for (s = 0; s < nr; s++) {
			size_t k;

			r = pread_full(l->fd, buf, len, slot_byte(info, s, off));
			if (r)
				break;
			if (off + len == bytes)
				buf[len - 1] &= mask;
			counts[s] += bitmap_count(buf, 0, (uint64_t)len * 8);
			for (k = 0; k < len; k++)
				ubuf[k] |= buf[k];
		}
		if (!r)
			u += bitmap_count(ubuf, 0, (uint64_t)len * 8);
		off += len;
	}
	free(buf);
	free(ubuf);
	if (!r)
		*uni = u;
	return r;
}

/*
 * leg_zero_slots - write zeros over bitmap slots @first .. @end - 1 of
 * the volume of @info, each slot padded as on disk.  Nothing else on the
 * leg is touched.
 */
int leg_zero_slots(struct leg *l, const struct metro_sb_info *info, unsigned int first,
		   unsigned int end)
{
	uint64_t slot_bytes = metro_bitmap_bytes(info->nr_regions), off;
	uint8_t *buf = calloc(1, BM_CHUNK);
	unsigned int s;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (s = first; s < end && !r; s++) {
		for (off = 0; off < slot_bytes && !r; off += BM_CHUNK) {
			size_t n = slot_bytes - off < BM_CHUNK ? (size_t)(slot_bytes - off) : BM_CHUNK;

			r = pwrite_full(l->fd, buf, n, slot_byte(info, s, off));
		}
	}
	free(buf);
	if (r)
		p_err("cannot write the bitmap of %s: %s", l->path, strerror(-r));
	return r;
}

/*
 * leg_merge_slots - OR the region bits of slots @first .. @end - 1 into
 * slot 0.  Bits are only ever added to slot 0, and only the chunks of it
 * that change are written.  @added gets the number of bits that were new
 * in slot 0.
 */
int leg_merge_slots(struct leg *l, const struct metro_sb_info *info, unsigned int first,
		    unsigned int end, uint64_t *added)
{
	uint8_t mask, *dst = malloc(BM_CHUNK), *buf = malloc(BM_CHUNK);
	uint64_t bytes = region_bytes(info, &mask), off = 0, n = 0;
	int r = 0;

	if (!dst || !buf) {
		free(dst);
		free(buf);
		return -ENOMEM;
	}
	while (off < bytes && !r) {
		size_t len = bytes - off < BM_CHUNK ? (size_t)(bytes - off) : BM_CHUNK;
		uint64_t before;
		unsigned int s;
		size_t k;

		r = pread_full(l->fd, dst, len, slot_byte(info, 0, off));
		if (r)
			break;
		before = bitmap_count(dst, 0, (uint64_t)len * 8);
		for (s = first; s < end && !r; s++) {
			r = pread_full(l->fd, buf, len, slot_byte(info, s, off));
			if (off + len == bytes)
				buf[len - 1] &= mask;
			for (k = 0; !r && k < len; k++)
				dst[k] |= buf[k];
		}
		if (r)
			break;
		before = bitmap_count(dst, 0, (uint64_t)len * 8) - before;
		if (before)
			r = pwrite_full(l->fd, dst, len, slot_byte(info, 0, off));
		n += before;
		off += len;
	}
	free(dst);
	free(buf);
	if (r)
		p_err("cannot merge the bitmap slots of %s: %s", l->path, strerror(-r));
	else
		*added = n;
	return r;
}

int leg_sync(struct leg *l)
{
	if (fsync(l->fd)) {
		p_err("cannot flush %s: %s", l->path, strerror(errno));
		return -errno;
	}
	return 0;
}

static blkid_probe new_probe(struct leg *l, bool wipe)
{
	blkid_probe pr = blkid_new_probe();

	if (!pr)
		return NULL;
	if (blkid_probe_set_device(pr, l->fd, 0, 0)) {
		blkid_free_probe(pr);
		return NULL;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE |
					  BLKID_SUBLKS_LABEL | BLKID_SUBLKS_MAGIC |
					  BLKID_SUBLKS_BADCSUM);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC |
					 (wipe ? BLKID_PARTS_FORCE_GPT : 0));
	return pr;
}

/*
 * leg_find_signature - 1 and a description when libblkid finds a
 * filesystem, RAID member, partition table or other signature; 0 when
 * the device looks empty; negative on error.
 */
int leg_find_signature(struct leg *l, char *what, size_t len)
{
	blkid_probe pr = new_probe(l, false);
	const char *type = NULL, *usage = NULL, *label = NULL;
	int r;

	if (!pr) {
		p_err("%s: cannot probe for signatures (libblkid)", l->path);
		return -EIO;
	}
	r = blkid_do_safeprobe(pr);
	if (r == -2) {
		snprintf(what, len, "several conflicting signatures");
		r = 1;
	} else if (r < 0) {
		p_err("%s: probing for signatures failed", l->path);
		r = -EIO;
	} else if (r == 1) {
		r = 0;		/* nothing found */
	} else {
		blkid_probe_lookup_value(pr, "TYPE", &type, NULL);
		blkid_probe_lookup_value(pr, "USAGE", &usage, NULL);
		blkid_probe_lookup_value(pr, "LABEL", &label, NULL);
		if (type)
			snprintf(what, len, "a%s %s signature%s%s%s%s",
				 strchr("aeiou", type[0]) ? "n" : "", type,
				 usage ? " (" : "", usage ? usage : "", usage ? ")" : "",
				 label ? ", label set" : "");
		else if (!blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL) && type)
			snprintf(what, len, "a%s %s partition table",
				 strchr("aeiou", type[0]) ? "n" : "", type);
		else
			snprintf(what, len, "an unidentified signature");
		r = 1;
	}
	blkid_free_probe(pr);
	return r;
}

/* Erase every signature libblkid knows (like wipefs -a); used with --force. */
int leg_wipe_signatures(struct leg *l)
{
	blkid_probe pr = new_probe(l, true);
	int r = 0;

	if (!pr)
		return -EIO;
	while (blkid_do_probe(pr) == 0) {
		const char *type = NULL;

		if (blkid_probe_lookup_value(pr, "TYPE", &type, NULL) &&
		    blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL))
			type = "signature";
		if (blkid_do_wipe(pr, 0)) {
			p_err("%s: cannot erase the old %s", l->path, type);
			r = -EIO;
			break;
		}
		p_info("%s: erased the old %s signature", l->path, type);
	}
	blkid_free_probe(pr);
	return r;
}

/*
 * leg_check_signatures - what create and replace refuse to overwrite
 * without --force: a dm-metro superblock (valid or damaged) or anything
 * libblkid knows.  1 and a description in @what, 0 when the device looks
 * empty, negative on error (message printed).
 */
int leg_check_signatures(struct leg *l, char *what, size_t len)
{
	struct metro_sb_disk raw;
	struct metro_sb_info old;
	const char *why;

	if (!leg_read_raw_sb(l, &raw) && le32_to_cpu(raw.magic) == METRO_SB_MAGIC) {
		if (metro_sb_decode(&raw, 0, &old, &why) == 0)
			snprintf(what, len, "a dm-metro superblock (leg %c of volume '%s')",
				 old.leg == METRO_LEG_A ? 'A' : 'B', old.name);
		else
			snprintf(what, len, "a damaged dm-metro superblock (%s)", why);
		return 1;
	}
	return leg_find_signature(l, what, len);
}
