/* SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later */
/*
 * dm-metro on-disk format, versions 1 and 2.
 *
 * This header is shared by the kernel target and by metroctl: it holds the
 * on-disk structures and pure helpers that lay out, encode, decode and
 * validate them.  It uses no kernel-only types, allocates nothing and does
 * no I/O, so userspace unit tests and fuzzers exercise exactly the code the
 * kernel runs.  Documentation/dm-metro.rst describes the format in prose.
 *
 * Every leg is self-describing:
 *
 *   sector 0      ..  7    unused (left alone: partition tables, boot code)
 *   sector 8      .. 15    superblock (4096 bytes, crc32c protected)
 *   sector 16     ..       write-intent bitmap, one bit per region,
 *                          padded to a multiple of 4096 bytes; version 2
 *                          (a clustered volume) has nr_slots of them one
 *                          after the other, one per cluster node
 *   data_offset   ..       the data area (data_size sectors), aligned to 1 MiB
 *
 * Version 1 is a single-host volume; version 2 adds the cluster name and
 * the slot count (fields that version 1 keeps zero).  metroctl writes
 * version 1 unless the volume is created for a cluster, so that a
 * single-host volume stays readable by older code.
 *
 * All multi-byte fields are little-endian; the bitmap uses little-endian
 * bit order (bit n lives in byte n / 8, mask 1 << (n % 8)).
 *
 * The user of this header provides one function:
 *
 *	u32-like metro_crc32c(uint32_t seed, const void *buf, size_t len);
 *
 * computing CRC-32C (Castagnoli) the way the kernel's crc32c() does: the
 * seed is the running value, no final inversion.  The kernel maps it to
 * crc32c(); userspace has its own table implementation.
 */
#ifndef METRO_FORMAT_H
#define METRO_FORMAT_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#include <linux/errno.h>
#include <asm/byteorder.h>
#else
/* userspace: stdint types, endian helpers, __packed */
#include "metro-format-user.h"
#endif
#include "metro-table.h"

/* ---------------------------------------------------------------------- */
/* Constants                                                              */
/* ---------------------------------------------------------------------- */

#define METRO_SB_MAGIC		0x6f72746dU	/* "mtro" read as bytes */
#define METRO_FORMAT_V1		1U	/* a single host */
#define METRO_FORMAT_V2		2U	/* clustered: slots, cluster name */
#define METRO_FORMAT_VERSION	METRO_FORMAT_V1	/* what a single-host volume gets */

/* Bitmap slots of a clustered volume: one per node, at most 8. */
#define METRO_MAX_SLOTS		8U
/* corosync's totem.cluster_name, which the kernel DLM checks; with the NUL. */
#define METRO_CLUSTER_NAME_LEN	64

#define METRO_SECTOR_SHIFT	9
#define METRO_BLOCK_SIZE	4096U		/* metadata I/O unit, bytes */
#define METRO_BLOCK_SECTORS	(METRO_BLOCK_SIZE >> METRO_SECTOR_SHIFT)

#define METRO_SB_OFFSET		8ULL		/* sectors */
#define METRO_SB_SIZE		METRO_BLOCK_SIZE
#define METRO_BITMAP_OFFSET	16ULL		/* sectors */
#define METRO_DATA_ALIGN	2048ULL		/* sectors (1 MiB) */

/* Region size limits, in sectors: 4 KiB .. 1 GiB, a power of two. */
#define METRO_MIN_REGION_SECTORS	8U
#define METRO_MAX_REGION_SECTORS	(1U << 21)
#define METRO_DEFAULT_REGION_SECTORS	8192U	/* 4 MiB */

/* At most 2^31 regions: bit numbers fit a signed int everywhere. */
#define METRO_MAX_REGIONS	(1ULL << 31)

#define METRO_NAME_LEN		64	/* bytes including the NUL */
#define METRO_UUID_LEN		16
#define METRO_NR_LEGS		2
#define METRO_LEG_A		0
#define METRO_LEG_B		1
#define METRO_GEN_HISTORY	4

/* Volume flags (metro_sb_disk.flags). */
#define METRO_SB_F_CLEAN	(1U << 0)	/* stopped cleanly: bitmap == out-of-sync set */
#define METRO_SB_F_ALL		(METRO_SB_F_CLEAN)

/*
 * Table option flags (metro_sb_disk.opt_flags).  The kernel records the
 * optional arguments of the table that writes a superblock; metroctl puts
 * them back on the table lines it loads (assemble, udev), so that options
 * set once stay with the volume.  A superblock without the flag (written
 * by metroctl create before activation) asks for the defaults.
 */
#define METRO_SB_O_RECORDED	(1U << 0)	/* opt_* hold the table's options */
#define METRO_SB_O_ALL		(METRO_SB_O_RECORDED)

/*
 * An online verify in progress (metro_sb_disk.check_flags, since target
 * 1.10): a check or repair ran when the target wrote the superblock, and
 * goes on at check_pos at the next activation.  0 (none) is what older
 * targets and metroctl create write, and decoders that predate the
 * fields ignore them.
 */
#define METRO_SB_C_RUNNING	(1U << 0)	/* check_pos: the next region to compare */
#define METRO_SB_C_REPAIR	(1U << 1)	/* a repair */
#define METRO_SB_C_FROM_B	(1U << 2)	/* the repair copies from leg B (else A) */
#define METRO_SB_C_ALL		(METRO_SB_C_RUNNING | METRO_SB_C_REPAIR | METRO_SB_C_FROM_B)

/* metro_sb_disk.opt_write_mostly */
#define METRO_SB_WM_NONE	0U
#define METRO_SB_WM_A		1U		/* leg A is write-mostly */
#define METRO_SB_WM_B		2U		/* leg B is write-mostly */

/* Per-leg state flags (metro_leg_disk.state), as seen by the writer. */
#define METRO_LEG_F_ACTIVE	(1U << 0)	/* attached, receives writes */
#define METRO_LEG_F_FAILED	(1U << 1)	/* detached after an I/O error or deadline */
/* resync target: its copy of the regions set in the bitmap is old */
#define METRO_LEG_F_STALE	(1U << 2)
#define METRO_LEG_F_ALL		(METRO_LEG_F_ACTIVE | METRO_LEG_F_FAILED | \
				 METRO_LEG_F_STALE)

/* ---------------------------------------------------------------------- */
/* On-disk structures                                                     */
/* ---------------------------------------------------------------------- */

/*
 * What a superblock records about one leg.  Each leg's superblock carries
 * a record for both legs: its own (legs[sb.leg]) and what it last knew of
 * the other one.
 */
struct metro_leg_disk {
	__u8	leg_uuid[METRO_UUID_LEN];	/* identity of the physical leg */
	__le64	generation;		/* data generation the leg holds */
	__le64	events;			/* leg's event counter when recorded */
	__le64	dev_sectors;		/* size of the leg device at format time */
	__le32	state;			/* METRO_LEG_F_* */
	__le32	reserved0;
	__u8	reserved1[16];
} __packed;		/* 64 bytes */

struct metro_sb_disk {
	__le32	magic;			/*   0 METRO_SB_MAGIC */
	__le32	version;		/*   4 METRO_FORMAT_VERSION */
	__le32	csum;			/*   8 crc32c of the 4096 bytes, this field 0 */
	__le32	sb_size;		/*  12 METRO_SB_SIZE */
	__u8	vol_uuid[METRO_UUID_LEN];	/*  16 volume identity */
	char	name[METRO_NAME_LEN];	/*  32 volume name, NUL terminated */
	__le32	leg;			/*  96 METRO_LEG_A or METRO_LEG_B */
	__le32	flags;			/* 100 METRO_SB_F_* */
	__le32	region_sectors;		/* 104 power of two */
	__le32	nr_slots;		/* 108 bitmap slots (v2); v1: 0 */
	__le64	data_offset;		/* 112 sectors */
	__le64	data_size;		/* 120 sectors, the volume size */
	__le64	bitmap_offset;		/* 128 sectors, METRO_BITMAP_OFFSET */
	__le64	nr_regions;		/* 136 DIV_ROUND_UP(data_size, region) */
	__le64	events;			/* 144 bumped by every superblock write */
	__le64	ctime;			/* 152 creation time, seconds since epoch */
	__le64	utime;			/* 160 last superblock write, seconds */
	/* 168 older generations of this leg, newest first, 0 = none */
	__le64	gen_history[METRO_GEN_HISTORY];
	__le32	opt_flags;		/* 200 METRO_SB_O_* */
	__le32	opt_resync_rate;	/* 204 KiB/s, 0 = no fixed bound */
	__le32	opt_clear_delay;	/* 208 ms */
	__le32	opt_io_deadline;	/* 212 ms, 0 = none */
	__le32	opt_write_mostly;	/* 216 METRO_SB_WM_* */
	/*
	 * 220 METRO_READ_*: 0 is auto, which is what a decoder that
	 * predates it sees; before auto, 0 was bounce (then the default)
	 */
	__le32	opt_read_mode;
	/* 224 METRO_FAILFAST_* mask; 0 (none) for decoders that predate it */
	__le32	opt_failfast;
	/* 228 METRO_LEGS_*: the legs of bounce; 0 for auto and direct */
	__le32	opt_read_legs;
	/* 232 METRO_SB_C_*, 236 the check's next region; 0 for older decoders */
	__le32	check_flags;
	__le64	check_pos;
	__u8	reserved1[12];		/* 244 */
	struct metro_leg_disk legs[METRO_NR_LEGS];	/* 256 */
	/* 384 v2: the corosync cluster, NUL terminated; v1: zero */
	char	cluster_name[METRO_CLUSTER_NAME_LEN];
	__u8	reserved2[METRO_SB_SIZE - 448];	/* 448 zero */
} __packed;

/* ---------------------------------------------------------------------- */
/* Decoded (CPU-endian) forms                                             */
/* ---------------------------------------------------------------------- */

struct metro_leg_info {
	__u8	leg_uuid[METRO_UUID_LEN];
	__u64	generation;
	__u64	events;
	__u64	dev_sectors;
	__u32	state;
};

struct metro_sb_info {
	__u32	version;
	__u8	vol_uuid[METRO_UUID_LEN];
	char	name[METRO_NAME_LEN];
	__u32	leg;
	__u32	flags;
	__u32	region_sectors;
	__u64	data_offset;
	__u64	data_size;
	__u64	bitmap_offset;
	__u64	nr_regions;
	__u64	events;
	__u64	ctime;
	__u64	utime;
	__u64	gen_history[METRO_GEN_HISTORY];
	__u32	opt_flags;
	/* the recorded options; the defaults when METRO_SB_O_RECORDED is clear */
	struct metro_table_opts opts;
	__u32	check_flags;		/* METRO_SB_C_*, 0: no check in progress */
	__u64	check_pos;		/* 0 without METRO_SB_C_RUNNING */
	struct metro_leg_info legs[METRO_NR_LEGS];
	__u32	nr_slots;		/* 1 for version 1 */
	char	cluster_name[METRO_CLUSTER_NAME_LEN];	/* "" for version 1 */
};

/* Geometry derived from a data size and a region size. */
struct metro_layout {
	__u64	nr_regions;
	__u64	bitmap_offset;		/* sectors */
	__u64	bitmap_bytes;		/* one slot's, padded to METRO_BLOCK_SIZE */
	__u32	nr_slots;
	__u64	data_offset;		/* sectors */
	__u64	data_size;		/* sectors */
};

/* Provided by the user of this header; see the comment at the top. */
__u32 metro_crc32c(__u32 seed, const void *buf, size_t len);

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */
/* ---------------------------------------------------------------------- */

static inline int metro_is_pow2(__u64 x)
{
	return x && !(x & (x - 1));
}

static inline int metro_region_size_valid(__u64 sectors)
{
	return metro_is_pow2(sectors) && sectors >= METRO_MIN_REGION_SECTORS &&
	       sectors <= METRO_MAX_REGION_SECTORS;
}

static inline __u64 metro_round_up(__u64 x, __u64 align)
{
	return (x + align - 1) / align * align;
}

/* Bytes of on-disk bitmap for nr_regions, padded to whole metadata blocks. */
static inline __u64 metro_bitmap_bytes(__u64 nr_regions)
{
	return metro_round_up((nr_regions + 7) / 8, METRO_BLOCK_SIZE);
}

/* On-disk bitmap bit helpers: little-endian bit order, byte addressed. */
static inline int metro_bm_test(const __u8 *bm, __u64 nr)
{
	return (bm[nr >> 3] >> (nr & 7)) & 1;
}

static inline void metro_bm_set(__u8 *bm, __u64 nr)
{
	bm[nr >> 3] |= (__u8)(1U << (nr & 7));
}

static inline void metro_bm_clear(__u8 *bm, __u64 nr)
{
	bm[nr >> 3] &= (__u8)~(1U << (nr & 7));
}

/*
 * metro_layout_compute - geometry for a volume of @data_size sectors with
 * regions of @region_sectors.  Returns 0, or -EINVAL when the region size
 * is invalid, the data size is 0 or the volume would need more than
 * METRO_MAX_REGIONS regions.
 */
static inline int metro_layout_compute_slots(__u64 data_size, __u64 region_sectors,
					     __u32 nr_slots, struct metro_layout *l)
{
	__u64 nr;

	if (!metro_region_size_valid(region_sectors) || !data_size ||
	    !nr_slots || nr_slots > METRO_MAX_SLOTS)
		return -EINVAL;
	nr = data_size / region_sectors + !!(data_size % region_sectors);
	if (nr > METRO_MAX_REGIONS)
		return -EINVAL;
	l->nr_regions = nr;
	l->bitmap_offset = METRO_BITMAP_OFFSET;
	l->bitmap_bytes = metro_bitmap_bytes(nr);
	l->nr_slots = nr_slots;
	l->data_offset = metro_round_up(METRO_BITMAP_OFFSET + nr_slots *
					(l->bitmap_bytes >> METRO_SECTOR_SHIFT),
					METRO_DATA_ALIGN);
	l->data_size = data_size;
	return 0;
}

/* One slot: a single-host volume. */
static inline int metro_layout_compute(__u64 data_size, __u64 region_sectors,
				       struct metro_layout *l)
{
	return metro_layout_compute_slots(data_size, region_sectors, 1, l);
}

/*
 * metro_layout_for_device - the largest volume a device of @dev_sectors can
 * hold with regions of @region_sectors.  Returns 0 or -EINVAL (bad region
 * size) or -ENOSPC (device too small for metadata plus one region).
 */
static inline int metro_layout_for_device_slots(__u64 dev_sectors, __u64 region_sectors,
						__u32 nr_slots, struct metro_layout *l)
{
	__u64 size, off;
	int r;

	if (!metro_region_size_valid(region_sectors))
		return -EINVAL;
	/* A first guess with the metadata for a full-size volume ... */
	r = metro_layout_compute_slots(dev_sectors ? dev_sectors : 1, region_sectors,
				       nr_slots, l);
	if (r)
		return r;
	off = l->data_offset;
	if (dev_sectors < off + region_sectors)
		return -ENOSPC;
	/* ... which only shrinks when the data area is smaller. */
	size = dev_sectors - off;
	return metro_layout_compute_slots(size, region_sectors, nr_slots, l);
}

static inline int metro_layout_for_device(__u64 dev_sectors, __u64 region_sectors,
					  struct metro_layout *l)
{
	return metro_layout_for_device_slots(dev_sectors, region_sectors, 1, l);
}

/* Is the volume of @sb clustered (version 2, a cluster name)? */
static inline int metro_sb_clustered(const struct metro_sb_info *sb)
{
	return sb->cluster_name[0] != '\0';
}

/* Sector where bitmap slot @slot starts on each leg of the volume of @sb. */
static inline __u64 metro_slot_offset(const struct metro_sb_info *sb, unsigned int slot)
{
	return sb->bitmap_offset +
	       (__u64)slot * (metro_bitmap_bytes(sb->nr_regions) >> METRO_SECTOR_SHIFT);
}

/* A cluster name: 1..63 characters of [A-Za-z0-9._-]. */
static inline int metro_cluster_name_valid(const char *name)
{
	int i;

	for (i = 0; i < METRO_CLUSTER_NAME_LEN && name[i]; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return 0;
	}
	return i > 0 && i < METRO_CLUSTER_NAME_LEN;
}

static inline __u32 metro_sb_csum(const struct metro_sb_disk *sb)
{
	__u32 crc;
	static const __u8 zero[4];
	const __u8 *p = (const __u8 *)sb;

	crc = metro_crc32c(~0U, p, 8);
	crc = metro_crc32c(crc, zero, 4);
	return metro_crc32c(crc, p + 12, METRO_SB_SIZE - 12);
}

static inline void metro_leg_encode(const struct metro_leg_info *in,
				    struct metro_leg_disk *out)
{
	memcpy(out->leg_uuid, in->leg_uuid, METRO_UUID_LEN);
	out->generation = cpu_to_le64(in->generation);
	out->events = cpu_to_le64(in->events);
	out->dev_sectors = cpu_to_le64(in->dev_sectors);
	out->state = cpu_to_le32(in->state);
}

/*
 * metro_sb_encode - fill the 4096-byte @sb from @in, zero every reserved
 * byte and set the checksum.
 */
static inline void metro_sb_encode(const struct metro_sb_info *in,
				   struct metro_sb_disk *sb)
{
	int i;

	memset(sb, 0, sizeof(*sb));
	sb->magic = cpu_to_le32(METRO_SB_MAGIC);
	/* A v1 volume stays v1: older code reads it (nr_slots, name zero). */
	sb->version = cpu_to_le32(in->version == METRO_FORMAT_V2 ? METRO_FORMAT_V2 :
				  METRO_FORMAT_V1);
	if (in->version == METRO_FORMAT_V2) {
		sb->nr_slots = cpu_to_le32(in->nr_slots);
		memcpy(sb->cluster_name, in->cluster_name, METRO_CLUSTER_NAME_LEN);
		sb->cluster_name[METRO_CLUSTER_NAME_LEN - 1] = '\0';
	}
	sb->sb_size = cpu_to_le32(METRO_SB_SIZE);
	memcpy(sb->vol_uuid, in->vol_uuid, METRO_UUID_LEN);
	memcpy(sb->name, in->name, METRO_NAME_LEN);
	sb->name[METRO_NAME_LEN - 1] = '\0';
	sb->leg = cpu_to_le32(in->leg);
	sb->flags = cpu_to_le32(in->flags);
	sb->region_sectors = cpu_to_le32(in->region_sectors);
	sb->data_offset = cpu_to_le64(in->data_offset);
	sb->data_size = cpu_to_le64(in->data_size);
	sb->bitmap_offset = cpu_to_le64(in->bitmap_offset);
	sb->nr_regions = cpu_to_le64(in->nr_regions);
	sb->events = cpu_to_le64(in->events);
	sb->ctime = cpu_to_le64(in->ctime);
	sb->utime = cpu_to_le64(in->utime);
	for (i = 0; i < METRO_GEN_HISTORY; i++)
		sb->gen_history[i] = cpu_to_le64(in->gen_history[i]);
	sb->opt_flags = cpu_to_le32(in->opt_flags);
	if (in->opt_flags & METRO_SB_O_RECORDED) {
		sb->opt_resync_rate = cpu_to_le32(in->opts.resync_rate);
		sb->opt_clear_delay = cpu_to_le32(in->opts.clear_delay);
		sb->opt_io_deadline = cpu_to_le32(in->opts.io_deadline);
		sb->opt_write_mostly = cpu_to_le32(in->opts.write_mostly == 'A' ? METRO_SB_WM_A :
						   in->opts.write_mostly == 'B' ? METRO_SB_WM_B :
						   METRO_SB_WM_NONE);
		sb->opt_read_mode = cpu_to_le32(in->opts.read_mode);
		sb->opt_failfast = cpu_to_le32(in->opts.failfast);
		/* auto's legs are what metroctl found at this node: not a setting */
		sb->opt_read_legs = cpu_to_le32(in->opts.read_mode == METRO_READ_BOUNCE ?
						in->opts.read_legs : 0);
	}
	if (in->check_flags & METRO_SB_C_RUNNING) {
		sb->check_flags = cpu_to_le32(in->check_flags);
		sb->check_pos = cpu_to_le64(in->check_pos);
	}
	for (i = 0; i < METRO_NR_LEGS; i++)
		metro_leg_encode(&in->legs[i], &sb->legs[i]);
	sb->csum = cpu_to_le32(metro_sb_csum(sb));
}

static inline int metro_bad(const char **err, int code, const char *msg)
{
	*err = msg;
	return code;
}

/*
 * metro_sb_decode - check and decode a superblock.
 * @sb:          the 4096 bytes read at METRO_SB_OFFSET
 * @dev_sectors: size of the device it was read from, 0 if unknown
 * @out:         decoded fields, valid only when 0 is returned
 * @err:         on failure, a short description for the administrator
 *
 * Returns 0, -ENODATA when there is no dm-metro superblock at all (bad
 * magic), -EBADMSG on a checksum mismatch, -EPROTONOSUPPORT for an unknown
 * format version, and -EINVAL for any field that is out of range or
 * inconsistent with the others or with the device size.  Never reads
 * outside the 4096-byte buffer.
 */
static inline int metro_sb_decode(const struct metro_sb_disk *sb,
				  __u64 dev_sectors,
				  struct metro_sb_info *out, const char **err)
{
	struct metro_layout l;
	__u64 bm_sectors;
	__u32 wm;
	int i;

	if (le32_to_cpu(sb->magic) != METRO_SB_MAGIC)
		return metro_bad(err, -ENODATA, "no dm-metro superblock (bad magic)");
	if (le32_to_cpu(sb->csum) != metro_sb_csum(sb))
		return metro_bad(err, -EBADMSG, "superblock checksum mismatch");
	if (le32_to_cpu(sb->version) != METRO_FORMAT_V1 &&
	    le32_to_cpu(sb->version) != METRO_FORMAT_V2)
		return metro_bad(err, -EPROTONOSUPPORT, "unsupported on-disk format version");
	if (le32_to_cpu(sb->sb_size) != METRO_SB_SIZE)
		return metro_bad(err, -EINVAL, "bad superblock size");

	memset(out, 0, sizeof(*out));
	out->version = le32_to_cpu(sb->version);
	memcpy(out->vol_uuid, sb->vol_uuid, METRO_UUID_LEN);
	memcpy(out->name, sb->name, METRO_NAME_LEN);
	out->leg = le32_to_cpu(sb->leg);
	out->flags = le32_to_cpu(sb->flags);
	out->region_sectors = le32_to_cpu(sb->region_sectors);
	if (out->version == METRO_FORMAT_V1) {
		if (sb->nr_slots || sb->cluster_name[0])
			return metro_bad(err, -EINVAL, "reserved field set in a version 1 superblock");
		out->nr_slots = 1;
	} else {
		out->nr_slots = le32_to_cpu(sb->nr_slots);
		if (!out->nr_slots || out->nr_slots > METRO_MAX_SLOTS)
			return metro_bad(err, -EINVAL, "bitmap slot count is not between 1 and 8");
		memcpy(out->cluster_name, sb->cluster_name, METRO_CLUSTER_NAME_LEN);
		if (!metro_cluster_name_valid(out->cluster_name))
			return metro_bad(err, -EINVAL, "cluster name empty, not terminated or with characters outside [A-Za-z0-9._-]");
	}
	out->data_offset = le64_to_cpu(sb->data_offset);
	out->data_size = le64_to_cpu(sb->data_size);
	out->bitmap_offset = le64_to_cpu(sb->bitmap_offset);
	out->nr_regions = le64_to_cpu(sb->nr_regions);
	out->events = le64_to_cpu(sb->events);
	out->ctime = le64_to_cpu(sb->ctime);
	out->utime = le64_to_cpu(sb->utime);
	for (i = 0; i < METRO_GEN_HISTORY; i++)
		out->gen_history[i] = le64_to_cpu(sb->gen_history[i]);
	out->opt_flags = le32_to_cpu(sb->opt_flags);
	if (out->opt_flags & ~METRO_SB_O_ALL)
		return metro_bad(err, -EINVAL, "unknown table option flags");
	metro_table_opts_default(&out->opts);
	if (out->opt_flags & METRO_SB_O_RECORDED) {
		out->opts.resync_rate = le32_to_cpu(sb->opt_resync_rate);
		out->opts.clear_delay = le32_to_cpu(sb->opt_clear_delay);
		out->opts.io_deadline = le32_to_cpu(sb->opt_io_deadline);
		wm = le32_to_cpu(sb->opt_write_mostly);
		if (wm > METRO_SB_WM_B)
			return metro_bad(err, -EINVAL, "recorded write_mostly is neither none, A nor B");
		out->opts.write_mostly = wm == METRO_SB_WM_A ? 'A' : wm == METRO_SB_WM_B ? 'B' : 0;
		out->opts.read_mode = le32_to_cpu(sb->opt_read_mode);
		out->opts.failfast = le32_to_cpu(sb->opt_failfast);
		out->opts.read_legs = le32_to_cpu(sb->opt_read_legs);
		if (out->opts.read_mode == METRO_READ_AUTO && out->opts.read_legs)
			return metro_bad(err, -EINVAL, "recorded read_mode auto has legs");
		if (metro_table_opts_check(&out->opts, err))
			return metro_bad(err, -EINVAL, "recorded table options are out of range");
	}
	out->check_flags = le32_to_cpu(sb->check_flags);
	if (out->check_flags & ~METRO_SB_C_ALL)
		return metro_bad(err, -EINVAL, "unknown check flags");
	if (out->check_flags && (!(out->check_flags & METRO_SB_C_RUNNING) ||
				 ((out->check_flags & METRO_SB_C_FROM_B) &&
				  !(out->check_flags & METRO_SB_C_REPAIR))))
		return metro_bad(err, -EINVAL, "inconsistent check flags");
	if (out->check_flags)
		out->check_pos = le64_to_cpu(sb->check_pos);
	for (i = 0; i < METRO_NR_LEGS; i++) {
		const struct metro_leg_disk *d = &sb->legs[i];
		struct metro_leg_info *li = &out->legs[i];

		memcpy(li->leg_uuid, d->leg_uuid, METRO_UUID_LEN);
		li->generation = le64_to_cpu(d->generation);
		li->events = le64_to_cpu(d->events);
		li->dev_sectors = le64_to_cpu(d->dev_sectors);
		li->state = le32_to_cpu(d->state);
		if (li->state & ~METRO_LEG_F_ALL)
			return metro_bad(err, -EINVAL, "unknown leg state flags");
	}

	if (memchr(out->name, '\0', METRO_NAME_LEN) == NULL || !out->name[0])
		return metro_bad(err, -EINVAL, "volume name empty or not terminated");
	for (i = 0; out->name[i]; i++)
		if (out->name[i] <= ' ' || out->name[i] > '~' || out->name[i] == '/')
			return metro_bad(err, -EINVAL, "volume name has forbidden characters");
	if (out->leg != METRO_LEG_A && out->leg != METRO_LEG_B)
		return metro_bad(err, -EINVAL, "leg index is neither A nor B");
	if (out->flags & ~METRO_SB_F_ALL)
		return metro_bad(err, -EINVAL, "unknown volume flags");
	if (!metro_region_size_valid(out->region_sectors))
		return metro_bad(err, -EINVAL, "region size is not a power of two between 4 KiB and 1 GiB");
	if (metro_layout_compute_slots(out->data_size, out->region_sectors, out->nr_slots, &l))
		return metro_bad(err, -EINVAL, "impossible data size for the region size");
	if (out->nr_regions != l.nr_regions)
		return metro_bad(err, -EINVAL, "region count does not match data size");
	if (out->check_flags && out->check_pos >= out->nr_regions)
		return metro_bad(err, -EINVAL, "check position past the last region");
	if (out->bitmap_offset != METRO_BITMAP_OFFSET)
		return metro_bad(err, -EINVAL, "bad bitmap offset");
	bm_sectors = out->nr_slots * (l.bitmap_bytes >> METRO_SECTOR_SHIFT);
	if (out->data_offset % METRO_BLOCK_SECTORS ||
	    out->data_offset < out->bitmap_offset + bm_sectors)
		return metro_bad(err, -EINVAL, "data offset overlaps the metadata or is misaligned");
	if (out->data_offset + out->data_size < out->data_offset)
		return metro_bad(err, -EINVAL, "data area wraps around");
	if (dev_sectors && out->data_offset + out->data_size > dev_sectors)
		return metro_bad(err, -EINVAL, "data area extends past the end of the device");
	if (!out->legs[out->leg].generation)
		return metro_bad(err, -EINVAL, "the leg's own data generation is zero");
	if ((out->legs[METRO_LEG_A].state & METRO_LEG_F_STALE) &&
	    (out->legs[METRO_LEG_B].state & METRO_LEG_F_STALE))
		return metro_bad(err, -EINVAL, "both legs are marked stale");
	*err = NULL;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Data generations                                                       */
/* ---------------------------------------------------------------------- */

/*
 * Every leg's superblock carries the data generation the leg holds (its
 * own record, legs[sb.leg].generation) and the generations it held before
 * (gen_history, newest first).  Both legs share a generation while they
 * are mirrored.  A leg that carries on alone starts a new generation and
 * pushes the old one into its history; a leg brought back up to date
 * adopts the generation and history of the leg it was copied from.  So a
 * leg that missed writes holds a generation found in the other leg's
 * history, and two legs that were both written alone hold generations
 * neither history knows: split brain.
 */
enum metro_gen_order {
	METRO_GEN_SAME,		/* same generation: the leg state flags decide */
	METRO_GEN_A_NEWER,	/* leg B holds an older generation of leg A */
	METRO_GEN_B_NEWER,	/* leg A holds an older generation of leg B */
	METRO_GEN_SPLIT,	/* both were written independently */
};

static inline __u64 metro_own_gen(const struct metro_sb_info *sb)
{
	return sb->legs[sb->leg & 1].generation;
}

static inline int metro_gen_in_history(const struct metro_sb_info *sb, __u64 gen)
{
	int i;

	for (i = 0; i < METRO_GEN_HISTORY; i++)
		if (gen && sb->gen_history[i] == gen)
			return 1;
	return 0;
}

/*
 * metro_gen_compare - order the generations of the superblocks read from
 * leg A (@a) and leg B (@b).
 */
static inline enum metro_gen_order metro_gen_compare(const struct metro_sb_info *a,
						     const struct metro_sb_info *b)
{
	__u64 ga = metro_own_gen(a), gb = metro_own_gen(b);

	if (ga == gb)
		return METRO_GEN_SAME;
	if (metro_gen_in_history(a, gb))
		return METRO_GEN_A_NEWER;
	if (metro_gen_in_history(b, ga))
		return METRO_GEN_B_NEWER;
	return METRO_GEN_SPLIT;
}

/*
 * metro_gen_push - start generation @gen (non-zero) on the leg that wrote
 * @sb: its current generation moves to the head of the history.
 */
static inline void metro_gen_push(struct metro_sb_info *sb, __u64 gen)
{
	int i;

	for (i = METRO_GEN_HISTORY - 1; i > 0; i--)
		sb->gen_history[i] = sb->gen_history[i - 1];
	sb->gen_history[0] = metro_own_gen(sb);
	sb->legs[sb->leg & 1].generation = gen;
}

/*
 * metro_gen_adopt - the leg that wrote @sb now holds the same data as the
 * leg that wrote @from: it takes @from's generation and history.
 */
static inline void metro_gen_adopt(struct metro_sb_info *sb,
				   const struct metro_sb_info *from)
{
	int i;

	for (i = 0; i < METRO_GEN_HISTORY; i++)
		sb->gen_history[i] = from->gen_history[i];
	sb->legs[sb->leg & 1].generation = metro_own_gen(from);
}

#endif /* METRO_FORMAT_H */
