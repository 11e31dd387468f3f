/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-metro: synchronous two-leg mirror with a write-intent bitmap on each
 * leg.  This header holds the volume structure shared by the target glue
 * (metro-target.c), the I/O path (metro-io.c), the metadata code
 * (metro-log.c) and the resync engine (metro-resync.c).
 *
 * Locking overview
 * ----------------
 * The write fast path takes no lock: it pairs an atomic per-bucket in-flight
 * counter with the @dirty and @copying bitmaps (see metro_write_fast()).
 * Everything that changes the on-disk bitmap or a superblock runs under
 * @md_lock, normally from the volume's ordered workqueue.  @lock (a
 * spinlock, taken from bio completion context) protects the bio lists that
 * hand work to the worker.  @copy_lock protects the resync slots and the
 * list of writes waiting for a region copy.  With an I/O deadline, every
 * bio sent to a leg is on one of the @shards lists (a spinlock each, picked
 * by CPU) from submission to completion, so that the watchdog can find the
 * bios of a stalled leg and the worker can abandon them.
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
#include "metro-table.h"	/* option defaults and limits */

#define DM_MSG_PREFIX "metro"

/* Writes in flight are counted per bucket of region numbers. */
#define METRO_INFLIGHT_BITS	12
#define METRO_INFLIGHT_BUCKETS	(1U << METRO_INFLIGHT_BITS)

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
 * With an I/O deadline, reads are bounced through pages of the volume's
 * struct metro_bounce, one per segment; a read of more segments than this
 * is split so that one clone never needs more pages than the reserve holds.
 */
#define METRO_BOUNCE_MAX_PAGES		BIO_MAX_VECS

/* Most bounce pages a volume keeps for reuse (16 MiB with 4 KiB pages). */
#define METRO_BOUNCE_CACHE_MAX		4096U

/* struct metro_c.work_flags bits: requests to the worker. */
#define METRO_WORK_SYNC_DONE	0	/* check for the end of resync */
#define METRO_WORK_FAIL_LEG	1	/* + leg index: resync write failed */
#define METRO_WORK_STALLED	3	/* + leg index: the I/O deadline expired */

/* struct metro_leg.flags bits. */
#define METRO_LEG_DEAD		0	/* detached after an error: no more I/O */

/*
 * A synchronous metadata write to one leg, waited for with the I/O
 * deadline.  @state (METRO_MD_*) decides, with cmpxchg, whether the
 * completion or the timed-out waiter owns the end of the request; an
 * abandoned request is counted in metro_c.late until it completes.
 */
enum { METRO_MD_IDLE, METRO_MD_PENDING, METRO_MD_DONE, METRO_MD_ABANDONED };
struct metro_md_req {
	struct metro_c *m;
	atomic_t state;
	unsigned long error;
	struct completion done;
};

/*
 * One leg of the mirror.  @dev and @index never change after the ctr; @dev
 * is NULL for a leg given as "-" (absent from the start, and DEAD).
 * @flags is changed with atomic bitops by the worker only (under md_lock)
 * and read locklessly by the I/O path.  @stale is written under md_lock
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
	struct metro_md_req md;		/* metadata write in flight (md_lock) */
	atomic_t late;			/* abandoned I/O not returned yet */
};

/*
 * A region being copied, one chunk (@chunk_sectors) at a time;
 * the slots are protected by copy_lock.  While a chunk is in flight
 * (@started), only writes into that chunk wait; between chunks, writes into
 * the region wait until those already admitted have drained.  @buf is the
 * slot's chunk buffer, kept while copying goes on: the engine allocates and
 * frees it only while the slot is not @used, and @work, which reads the
 * chunk into it and writes it out, owns it while the chunk is in flight.
 */
struct metro_copy {
	struct metro_c *m;
	unsigned long region;
	unsigned int src;		/* leg copied from */
	unsigned int chunk;		/* chunk of the region copied next or now */
	sector_t chunk_sectors;		/* chunk size of this region's copy */
	bool used;			/* slot holds a region (copying bit set) */
	unsigned long since;		/* jiffies when the chunk became due */
	unsigned long issued;		/* jiffies when the chunk copy was issued */
	bool started;			/* copy of @chunk issued */
	struct page_list *buf;		/* chunk_sectors of pages, or NULL */
	struct work_struct work;	/* the chunk copy, on copy_wq */
};

/*
 * Bounce pages of reads under the I/O deadline (only then set up).  Pages
 * a read is done with wait on @free for the next read instead of going
 * back to the page allocator, which would clear them again on the next
 * allocation (init_on_alloc); the watchdog frees those that one of its
 * periods did not use.  @reserve holds enough pages for the largest clone
 * in case the allocator fails; @reserve_lock lets one allocation at a
 * time wait on it, so that two reads cannot each hold half of it.
 */
struct metro_bounce {
	/* Protects @free, @nr_free and @low; taken from completion context. */
	spinlock_t lock;
	struct list_head free;		/* pages by page->lru */
	unsigned int nr_free;
	unsigned int low;		/* fewest on @free since the last trim */
	mempool_t reserve;
	struct mutex reserve_lock;
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
 * @copying:     a slot is copying the region; writes into it go through
 *               metro_resync_admit().  Changed under copy_lock, read
 *               locklessly.
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
	unsigned long *copying;
	unsigned long *clearing;
	atomic_t nr_out_of_sync;	/* bits set in @out_of_sync */
	atomic_t nr_dirty;		/* bits set in @dirty, changed under md_lock */

	/* Writes in flight per region bucket, and multi-region writes. */
	atomic_t inflight[METRO_INFLIGHT_BUCKETS];
	atomic_t inflight_wide;

	/*
	 * Serialises all metadata I/O and changes of the on-disk bitmap
	 * (@disk_bm, @bm_changed), of leg state and of superblocks.
	 */
	struct mutex md_lock;
	u8 *disk_bm;			/* on-disk bitmap image (md_lock) */
	unsigned long *bm_changed;	/* 4 KiB blocks to write (md_lock) */
	size_t bm_bytes;
	unsigned int bm_blocks;
	void *sb_buf;			/* METRO_SB_SIZE bytes (md_lock) */
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

	struct dm_io_client *io_client;	/* metadata I/O */
	struct dm_io_client *copy_io;	/* resync copies */
	struct workqueue_struct *copy_wq;	/* unbound: chunk copies */
	struct bio_set bs;
	struct metro_bounce bounce;

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
	/* jiffies of the last application bio; lockless, for the yield */
	unsigned long last_app_io;

	/* Table options; resync_rate changes by message under copy_lock. */
	unsigned int resync_rate;	/* KiB/s, 0 = unlimited */
	unsigned int clear_delay;	/* ms, constant */
	unsigned int io_deadline;	/* ms, 0 = none, constant */
	int write_mostly;		/* leg read only as a fallback, -1: none */
	unsigned int read_mode;		/* METRO_READ_*, constant */
	unsigned int failfast;		/* METRO_FAILFAST_* legs, constant */

	/* I/O deadline: bios in flight, the watchdog, abandoned I/O. */
	struct metro_shard shards[METRO_SHARDS];
	struct metro_read_ages __percpu *read_ages;
	unsigned int read_epoch;	/* written by the watchdog only */
	struct delayed_work watchdog;
	atomic_t late;			/* abandoned bios and metadata writes */
	wait_queue_head_t late_wait;

	/* Read balancing: tie breaker. */
	atomic_t read_rr;

	/* Statistics. */
	atomic64_t md_writes;

	/* On the list of all volumes (metro-target.c, metro_volumes_lock). */
	struct list_head volumes;
};

/* Kinds of bios, in struct metro_io.kind. */
enum metro_io_kind {
	METRO_IO_READ,
	METRO_IO_WRITE,
	METRO_IO_FLUSH,
};

/*
 * Per-bio data.  Writes (and discards, write zeroes) and flushes are cloned
 * (from @bs) to every live leg and complete when their clones have:
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
	bool wide;			/* counted in inflight_wide */
	bool inflight;			/* holds an inflight count */
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
 * Front pad of a clone from @bs.  With an I/O deadline, @list is on
 * shards[@shard] from submission until completion or until the worker
 * abandons the clone (@abandoned, under the shard lock): the completion of
 * an abandoned clone only frees it, since its metro_io may be gone.
 */
struct metro_clone {
	struct metro_io *io;
	unsigned int leg;
	int shard;			/* -1: not tracked */
	bool abandoned;
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

static inline atomic_t *metro_bucket(struct metro_c *m, unsigned long region)
{
	return &m->inflight[region & (METRO_INFLIGHT_BUCKETS - 1)];
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

/*
 * Abandoned I/O is counted per volume (the dtr waits for it: the bio set
 * and the buffers must outlive it) and per leg: a new table does not take
 * a device that may still write what an older one abandoned.
 */
static inline void metro_late_get(struct metro_c *m, unsigned int leg)
{
	atomic_inc(&m->legs[leg].late);
	atomic_inc(&m->late);
}

static inline void metro_late_put(struct metro_c *m, unsigned int leg)
{
	atomic_dec(&m->legs[leg].late);
	if (atomic_dec_and_test(&m->late))
		wake_up(&m->late_wait);
}

/* The volume's name in kernel messages: the one metroctl commands take. */
static inline const char *metro_name(struct metro_c *m)
{
	return m->name;
}

#endif /* DM_METRO_H */
