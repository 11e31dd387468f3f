/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-metro: synchronous two-leg mirror with a write-intent bitmap on each
 * leg.  This header holds the volume (struct metro_c), its legs and the
 * per-bio data, shared by the target glue (metro-target.c), the bio path
 * (metro-io.c), the I/O deadline (metro-deadline.c), the worker
 * (metro-worker.c), the metadata code (metro-log.c, metro-md.c) and the
 * resync engine (metro-resync.c), and by the cluster mode
 * (metro-cluster.h, dm-metro-cluster.ko).  What the I/O sent to the legs
 * is allocated from is in struct metro_pool (metro-pool.h), which
 * outlives the volume when a stalled leg keeps some of it.
 *
 * Locking overview
 * ----------------
 * The write fast path takes no lock: it pairs the range gate's in-flight
 * counts (metro-gate.h) with the @dirty bitmap and the gate's claims.
 * Everything that changes the on-disk bitmap, leg state or a superblock
 * runs under @md_lock, normally from the volume's ordered workqueue.
 * @lock (a spinlock, taken from bio completion context) protects the bio
 * lists that hand work to the worker.  @copy_lock protects the resync
 * slots and the writes waiting for a region copy.  With an I/O deadline,
 * every clone sent to a leg is on one of the @shards lists (a spinlock
 * each, picked by CPU) from submission to completion, so that the
 * watchdog can find the clones of a stalled leg and the worker can
 * abandon them.
 */
#ifndef DM_METRO_H
#define DM_METRO_H

#include <linux/atomic.h>
#include <linux/bio.h>
#include <linux/completion.h>
#include <linux/device-mapper.h>
#include <linux/dm-ioctl.h>
#include <linux/dm-io.h>
#include <linux/mempool.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "metro-format.h"
#include "metro-gate.h"
#include "metro-pool.h"
#include "metro-table.h"	/* option defaults and limits */

#define DM_MSG_PREFIX "metro"

/* Region copies the resync engine may have in flight at once. */
#define METRO_RESYNC_SLOTS	8

/* Unit of a region copy: writes into the region wait for one chunk only. */
#define METRO_COPY_CHUNK_SECTORS	1024U

/* The chunk of a copy taken while the application is busy: 64 KiB. */
#define METRO_YIELD_CHUNK_SECTORS	128U

/*
 * Writes of at least this size are submitted to leg B from another CPU
 * (struct metro_c.submit_wq), so that legs whose submission does the work
 * (a ramdisk copies the data in submit_bio) take both copies in parallel.
 */
#define METRO_OFFLOAD_MIN_SECTORS	128U

/* Lists of bios in flight to the legs, for the I/O deadline. */
#define METRO_SHARDS		16

/*
 * struct metro_c.work_flags bits: requests to the worker, set with atomic
 * bitops from any context and taken by the worker (metro-worker.c).
 */
#define METRO_WORK_SYNC_DONE	0	/* check for the end of resync */
#define METRO_WORK_FAIL_LEG	1	/* + leg: a resync copy could not write it */
#define METRO_WORK_STALLED	3	/* + leg: I/O older than the deadline on it */
#define METRO_WORK_CHECK_SAVE	5	/* record the check's position (superblocks) */

/* struct metro_leg.flags bits. */
#define METRO_LEG_DEAD		0	/* detached after an error: no more I/O */

/*
 * One leg of the mirror.  @dev and @index never change after the ctr; @dev
 * is NULL for a leg given as "-" (absent from the start, and DEAD).
 * @flags is changed with atomic bitops, by the ctr before the table is
 * live and then under md_lock, and read locklessly by the I/O path.  @stale is written under md_lock
 * while resync is stopped and read locklessly.  @sb is owned by md_lock.
 */
struct metro_leg {
	struct dm_dev *dev;
	unsigned int index;
	unsigned long flags;
	bool stale;			/* resync target */
	/*
	 * Read balancing, lockless: a racing update loses a sample at worst.
	 * @read_ns is a moving average of the service time of its reads (0:
	 * none measured yet), @read_last when a read was last sent to it.
	 */
	atomic_t reads_inflight;
	unsigned int read_ns;
	unsigned long read_last;
	atomic64_t reads;		/* read bios served, for status */
	struct metro_sb_info sb;	/* this leg's superblock, last read/written */
};

/*
 * A region being copied, one chunk (@chunk_sectors) at a time;
 * the slots are protected by copy_lock.  While a chunk is in flight
 * (@started), only writes into that chunk wait; between chunks, writes into
 * the region wait until those already admitted have drained.  @buf is the
 * slot's chunk buffer, kept while copying goes on: the engine allocates and
 * frees it only while the slot is not @used, and @work, which reads the
 * chunk into it and writes it out, owns it while the chunk is in flight.
 * A chunk copy abandoned on the I/O deadline takes the buffer with it
 * (metro-resync.c): the slot gets a new one.
 */
struct metro_copy_buf;
struct metro_copy {
	struct metro_c *m;
	unsigned long region;
	unsigned int src;		/* leg copied from */
	unsigned int chunk;		/* chunk of the region copied next or now */
	sector_t chunk_sectors;		/* chunk size of this region's copy */
	bool used;			/* slot holds a region (copying bit set) */
	unsigned long since;		/* jiffies when the chunk became due */
	bool started;			/* copy of @chunk issued */
	bool check;			/* a verify: compare the legs, copy nothing */
	struct metro_copy_buf *buf;	/* chunk_sectors of pages, or NULL */
	struct metro_copy_buf *cmp;	/* slot 0: leg B's chunk for a verify */
	struct work_struct work;	/* the chunk copy, on copy_wq */
};

/*
 * Online verify (the "check" and "repair" messages, metro-resync.c): the
 * legs compared region by region through slot 0 of the resync engine,
 * while nothing is out of sync.  Protected by copy_lock.  @pos is the
 * next region to compare (the one slot 0 holds while it compares), @off
 * how far into it a check that yields to the application got;
 * @pos_counted says it already counted as a mismatch, so that a region
 * compared again after an interruption is not counted twice.  A check
 * running is recorded in the superblocks (METRO_SB_C_*) at every
 * superblock write and at most every METRO_CHECK_SAVE_PERIOD while it
 * runs, and goes on at the next activation (metro_check_resume()).
 */
enum metro_check_state {
	METRO_CHECK_IDLE,		/* none since the table was loaded */
	METRO_CHECK_RUNNING,
	METRO_CHECK_DONE,		/* every region compared */
	METRO_CHECK_STOPPED,		/* the check_stop message */
	METRO_CHECK_FAILED,		/* a leg failed or could not be read */
};

/* Mismatching regions status lists, the first ones found. */
#define METRO_CHECK_LIST	8

struct metro_check {
	enum metro_check_state state;
	bool repair;			/* copy mismatching chunks from @from */
	unsigned int from;		/* repair: the leg copied from */
	unsigned long pos;
	sector_t off;			/* sectors of @pos compared already */
	bool pos_counted;
	unsigned long mismatches;	/* mismatching regions found */
	unsigned int nr_list;
	unsigned long list[METRO_CHECK_LIST];
	/* ETA baseline: when, and at which region */
	unsigned long since;
	unsigned long base;
	unsigned long saved;		/* jiffies: position last recorded */
};

/*
 * dm-metro's own clones in flight to the legs, which the deadline may
 * abandon; @lock protects the list.
 */
struct metro_shard {
	spinlock_t lock;
	struct list_head clones;	/* struct metro_clone.list */
} ____cacheline_aligned_in_smp;

/*
 * Reads passed on to their leg as dm gave them (see struct metro_io) are
 * always waited for, so the deadline need not find them, only see that one
 * is late: they are counted, without a lock, per CPU, leg and epoch.  The
 * watchdog starts a new epoch each time it runs, every quarter of the
 * deadline; a read adds one to its epoch's slot on the CPU that maps it
 * and takes it off on the CPU that completes it, so only the sum over the
 * CPUs means anything.  A slot METRO_READ_LATE epochs old or older that
 * sums above zero holds a read in flight for longer than the deadline.
 */
#define METRO_READ_EPOCHS	8
#define METRO_READ_LATE		4

struct metro_cluster;
struct metro_cluster_ops;

struct metro_read_ages {
	int n[METRO_NR_LEGS][METRO_READ_EPOCHS];
};

/*
 * The volume.
 *
 * Bitmaps (one bit per region, kvmalloc'd unsigned longs):
 * @dirty:       the region's bit is set in the on-disk bitmap of every live
 *               leg.  Set by the worker after the bitmap write completed,
 *               cleared by the clearing pass; read locklessly by map.
 * @active:      a write went to the region since the last clearing pass.
 *               Set locklessly by writers, zeroed by the clearing pass.
 * @out_of_sync: the legs may differ in this region; only the resync source
 *               may serve reads of it.  Set by writers when degraded and by
 *               the failure path, cleared by resync completion.
 * @gate.copying: a slot is copying the region; writes into it go
 *               through metro_resync_admit().  Changed under copy_lock,
 *               read locklessly (metro-gate.h).
 * @clearing:    scratch bitmap of the clearing pass (md_lock).
 */
struct metro_c {
	struct dm_target *ti;
	struct metro_leg legs[METRO_NR_LEGS];
	/* The dm device's name when the table was loaded (messages only). */
	char name[DM_NAME_LEN];

	/* Geometry from the superblocks; constant after the ctr. */
	sector_t region_sectors;
	unsigned int region_shift;
	sector_t chunk_sectors;		/* min(region, METRO_COPY_CHUNK_SECTORS) */
	sector_t data_offset;
	sector_t data_size;
	unsigned long nr_regions;

	unsigned long *dirty;
	unsigned long *active;
	unsigned long *out_of_sync;
	unsigned long *clearing;
	atomic_t nr_out_of_sync;	/* bits set in @out_of_sync */
	atomic_t nr_dirty;		/* bits set in @dirty, changed under md_lock */

	/* Writes in flight, and the regions copies claim (metro-gate.h). */
	struct metro_gate gate;

	/* What I/O to the legs is allocated from (metro-pool.h). */
	struct metro_pool *pool;

	/*
	 * Serialises all metadata I/O and changes of the on-disk bitmap
	 * (@disk_bm, @bm_changed), of leg state and of superblocks.
	 */
	struct mutex md_lock;
	u8 *disk_bm;			/* on-disk bitmap image (md_lock) */
	unsigned long *bm_changed;	/* 4 KiB blocks to write (md_lock) */
	size_t bm_bytes;
	unsigned int bm_blocks;
	void *sb_buf;			/* a superblock per leg, encoded (md_lock) */
	u64 events;			/* current superblock events (md_lock) */
	bool clean;			/* superblocks say CLEAN (md_lock) */

	/* Leg holding every region; changed under md_lock, read locklessly. */
	unsigned int source;

	/* Protects the bio lists below; taken from completion context. */
	spinlock_t lock;
	struct bio_list deferred;	/* writes waiting for a bitmap mark */
	struct bio_list failed;		/* bios whose leg failed */
	unsigned long work_flags;	/* METRO_WORK_*, atomic bitops */
	bool suspended;			/* no new clearing passes (lock) */

	struct workqueue_struct *wq;	/* ordered, WQ_MEM_RECLAIM */
	struct workqueue_struct *submit_wq;	/* per-CPU: large writes to leg B */
	struct work_struct worker;
	struct delayed_work clear_work;
	struct delayed_work resync_work;

	struct workqueue_struct *copy_wq;	/* unbound: chunk copies */

	/* Resync state.  Slots and @copy_waiters are protected by copy_lock. */
	spinlock_t copy_lock;
	struct metro_copy slots[METRO_RESYNC_SLOTS];
	struct bio_list copy_waiters;	/* writes into regions being copied */
	unsigned long resync_cursor;	/* next region to look at (copy_lock) */
	atomic_t copies_inflight;	/* chunk copies issued and not done */
	wait_queue_head_t copy_wait;
	bool resync_running;		/* started at resume (copy_lock) */
	bool resync_paused;		/* pause_resync message (copy_lock) */
	bool resync_error;		/* a copy could not read (copy_lock) */
	unsigned long resync_next;	/* jiffies: rate limit (copy_lock) */
	unsigned long yield_next;	/* jiffies: next region if busy (copy_lock) */
	/* ETA baseline: when and with how many regions left (copy_lock) */
	unsigned long eta_since;
	int eta_base;
	struct metro_check check;	/* online verify (copy_lock) */
	/* jiffies of the last application bio; lockless, for the yield */
	unsigned long last_app_io;

	/* Table options; resync_rate changes by message under copy_lock. */
	unsigned int resync_rate;	/* KiB/s, 0 = unlimited */
	unsigned int clear_delay;	/* ms, constant */
	unsigned int io_deadline;	/* ms, 0 = none, constant */
	int write_mostly;		/* leg read only as a fallback, -1: none */
	unsigned int read_mode;		/* METRO_READ_*, constant */
	unsigned int read_legs;		/* its METRO_LEGS_* (metro-table.h), constant */
	unsigned int failfast;		/* METRO_FAILFAST_* legs, constant */
	/* the legs whose reads go through bounce pages (BIT(leg)), constant */
	unsigned int read_bounce;

	/* I/O deadline: clones in flight, remapped reads, the watchdog. */
	struct metro_shard shards[METRO_SHARDS];
	struct metro_read_ages __percpu *read_ages;
	unsigned int read_epoch;	/* written by the watchdog only */
	struct delayed_work watchdog;

	/* Read balancing: tie breaker. */
	atomic_t read_rr;
	/*
	 * Cluster mode: another node copies regions this node does not know
	 * of; read only the source leg meanwhile.  Set by the cluster mode
	 * under md_lock, read locklessly.
	 */
	bool read_source_only;

	/* Statistics. */
	atomic64_t md_writes;

	/*
	 * Cluster mode (metro-cluster.h).  @cluster_ops is set by the ctr for
	 * a clustered volume and pins dm-metro-cluster; @cluster is the
	 * cluster's side of the volume from its join (preresume) to its
	 * leave (postsuspend), NULL otherwise and always on a single host.
	 */
	const struct metro_cluster_ops *cluster_ops;
	struct metro_cluster *cluster;
	/*
	 * The write fast path takes a region whose bit is set here: @dirty
	 * on a single host, the cluster's regions both marked and owned
	 * while joined.  Changed only with the volume suspended.
	 */
	unsigned long *fast;
	/* This node's bitmap slot and where it starts on each leg (sectors). */
	unsigned int bm_slot;
	sector_t bm_offset;
};

/* Kinds of bios, in struct metro_io.kind. */
enum metro_io_kind {
	METRO_IO_READ,
	METRO_IO_WRITE,
	METRO_IO_FLUSH,
};

/*
 * Per-bio data.  Writes (and discards, write zeroes) and flushes are cloned
 * (from the pool's bio set) to every live leg and complete when their clones have:
 * @pending counts the clones and @failed_mask records the legs whose clone
 * failed.  A read goes to one leg, @leg, and is sent again to the other
 * one if it fails there.  A read that may use the reader's pages and has
 * not failed yet is not cloned but @remapped: passed on to its leg as dm
 * gave it, as dm-linear does, after @saved_bdev, @saved_flags and
 * @saved_iter were taken, so that metro_end_io() can put it back for the
 * retry.  Under the deadline it is counted in @epoch of struct
 * metro_read_ages from map until metro_end_io().
 */
struct metro_io {
	struct metro_c *m;
	enum metro_io_kind kind;
	unsigned int leg;		/* read: the leg it went to */
	bool wide;			/* spans regions: counted in gate.wide */
	bool inflight;			/* counted in the gate */
	bool shared;			/* clones borrow its pages (see map) */
	bool remapped;			/* read: passed on as it is */
	bool read_probe;		/* remapped: first on its leg for a while */
	bool failfast;			/* remapped: map added REQ_FAILFAST_TRANSPORT */
	int epoch;			/* remapped: slot counted in, -1: none */
	unsigned long region;		/* first region */
	unsigned long sent_mask;	/* legs the write went to */
	unsigned long failed_mask;	/* legs whose clone failed (bitops) */
	atomic_t pending;
	blk_status_t status;
	/* Remapped reads only. */
	u64 read_start;			/* ktime_get_ns() at submission, or 0 */
	struct block_device *saved_bdev;
	unsigned short saved_flags;
	struct bvec_iter saved_iter;
};

/*
 * How a clone holds its data pages.  A clone the I/O deadline may abandon
 * must not borrow the original's: the original completes when the clone is
 * abandoned and its owner frees or reuses its pages, while the stalled leg
 * may still read them (a write) or fill them (a read, which would also
 * overwrite the data of the retry on the other leg).
 */
enum metro_clone_pages {
	METRO_PAGES_SHARED,	/* bio_alloc_clone(): the original's bio_vecs */
	METRO_PAGES_REFS,	/* own bio_vec table and a reference per page */
	METRO_PAGES_BOUNCE,	/* own bounce pages, copied at the end */
};

/*
 * Front pad of a clone from the pool's bio set.  With an I/O deadline,
 * @list is on shards[@shard] from submission until completion or until
 * the worker abandons the clone; @state (METRO_CLONE_*) decides, with
 * atomic exchanges, whether the completion or the worker ends the
 * original.  The completion of an abandoned clone touches nothing but
 * the clone and @pool: its metro_io, and the volume, may be gone.
 */
enum {
	METRO_CLONE_INFLIGHT,
	METRO_CLONE_DONE,
	METRO_CLONE_ABANDONED,
};

struct metro_clone {
	struct metro_io *io;
	struct metro_pool *pool;
	unsigned int leg;
	int shard;			/* -1: not tracked */
	atomic_t state;			/* tracked clones only */
	unsigned int late_kind;		/* METRO_LATE_*, should it be abandoned */
	bool read_probe;		/* read: first on its leg for a while */
	enum metro_clone_pages pages;
	unsigned long start;		/* jiffies at submission */
	u64 read_start;			/* read: ktime_get_ns() at submission, or 0 */
	struct list_head list;
	struct work_struct submit;	/* submission from metro_c.submit_wq */
	struct bio bio;			/* must be last */
};

/* How often the I/O deadline's watchdog runs: a quarter of the deadline. */
static inline unsigned long metro_watchdog_period(struct metro_c *m)
{
	return DIV_ROUND_UP(msecs_to_jiffies(m->io_deadline), 4);
}

/* "A" or "B", as the table line, the status line and the log name legs. */
static inline char metro_leg_letter(unsigned int leg)
{
	return 'A' + leg;
}

static inline bool metro_leg_alive(struct metro_leg *leg)
{
	return !test_bit(METRO_LEG_DEAD, &leg->flags);
}

static inline unsigned long metro_region(struct metro_c *m, sector_t sector)
{
	return dm_target_offset(m->ti, sector) >> m->region_shift;
}

static inline sector_t metro_data_sector(struct metro_c *m, sector_t sector)
{
	return m->data_offset + dm_target_offset(m->ti, sector);
}

/* Count the region as out of sync; lockless, any context. */
static inline void metro_set_out_of_sync(struct metro_c *m, unsigned long r)
{
	if (!test_bit(r, m->out_of_sync) && !test_and_set_bit(r, m->out_of_sync))
		atomic_inc(&m->nr_out_of_sync);
}

/* Mask of the legs not detached. */
static inline unsigned long metro_alive_mask(struct metro_c *m)
{
	return (metro_leg_alive(&m->legs[0]) ? BIT(0) : 0) |
	       (metro_leg_alive(&m->legs[1]) ? BIT(1) : 0);
}

/*
 * A write reached only the current source leg: the other leg must get the
 * region at resync.  Not when the source is itself a resync target that
 * outlived the real source: out of sync would make the region unreadable,
 * and its bitmap bit, never cleared while a leg is detached, suffices.
 */
static inline void metro_mark_missed(struct metro_c *m, unsigned long r)
{
	if (!READ_ONCE(m->legs[READ_ONCE(m->source)].stale))
		metro_set_out_of_sync(m, r);
}

static inline unsigned int metro_nr_alive(struct metro_c *m)
{
	return metro_leg_alive(&m->legs[0]) + metro_leg_alive(&m->legs[1]);
}

/* The volume's name in kernel messages: the one metroctl commands take. */
static inline const char *metro_name(struct metro_c *m)
{
	return m->name;
}

#endif /* DM_METRO_H */
