/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-metro: what the I/O sent to the legs is made of, owned apart from the
 * table so that it can outlive it.
 *
 * The I/O deadline abandons bios on a stalled leg: their originals
 * complete and the table may be removed, but the bios themselves come
 * back whenever the leg's transport gives them back, or never (NVMe/TCP
 * with ctrl_loss_tmo -1 holds them for as long as the link is down).
 * Everything such a bio may still touch when it completes lives in a
 * struct metro_pool, never in struct metro_c: the bio sets it came from,
 * the pages it reads or writes, and a reference on its leg's block
 * device.  The table holds one reference on its pool and every abandoned
 * I/O one more, so removing a table never waits for a dead leg, and the
 * pool goes away when the last of its abandoned I/O has returned.
 *
 * The rule every I/O path follows: memory an I/O sent to a leg may still
 * touch after it was abandoned belongs to that I/O (clones hold their own
 * page references or bounce pages, metadata requests their own pages,
 * resync copies their own buffer) and is freed by its completion.
 */
#ifndef DM_METRO_POOL_H
#define DM_METRO_POOL_H

#include <linux/bio.h>
#include <linux/device.h>
#include <linux/dm-io.h>
#include <linux/dm-ioctl.h>
#include <linux/list.h>
#include <linux/mempool.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "metro-format.h"

/*
 * With an I/O deadline, reads are bounced through pages of the pool's
 * struct metro_bounce, one per segment; a read of more segments than this
 * is split so that one clone never needs more pages than the reserve holds.
 */
#define METRO_BOUNCE_MAX_PAGES		BIO_MAX_VECS

/* Most bounce pages a volume keeps for reuse (16 MiB with 4 KiB pages). */
#define METRO_BOUNCE_CACHE_MAX		4096U

/* Pages of one metadata request: a superblock, or a run of bitmap blocks. */
#define METRO_MD_MAX_PAGES		8U

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

/* Kinds of abandoned I/O, for struct metro_pool_leg's counters. */
#define METRO_LATE_WRITE	BIT(0)	/* writes data or metadata to the leg */
#define METRO_LATE_MD		BIT(1)	/* a metadata request */

/*
 * One leg's device as the pool holds it.  @devt and @name are set at the
 * ctr, before any I/O, and never change.  The counters are atomics, any
 * context: I/O abandoned on the leg and not returned yet, of which writes
 * (a device holding those must not join a new table: see
 * metro_pool_check_late()) and metadata requests (one at a time per leg:
 * see metro_md_rw()).
 */
struct metro_pool_leg {
	dev_t devt;			/* 0: no device */
	struct device *dev;		/* reference on the block device */
	char name[16];			/* "major:minor", for messages */
	atomic_t late;
	atomic_t late_writes;
	atomic_t late_md;
};

/*
 * @ref: one for the table, one per abandoned I/O (refcount, any context).
 * @orphan is set once the table is gone (then the last return of a leg's
 * I/O is logged).  @list is on the module's list of pools under
 * metro_pools_lock (metro-pool.c).  The rest is set up at creation and
 * torn down by the release work.
 */
struct metro_pool {
	refcount_t ref;
	bool orphan;
	struct list_head list;
	char name[DM_NAME_LEN];			/* the volume, for messages */
	struct metro_pool_leg legs[METRO_NR_LEGS];
	struct bio_set bs;			/* clones: struct metro_clone */
	struct bio_set md_bs;			/* struct metro_md_req */
	mempool_t md_pages;			/* their pages */
	struct dm_io_client *copy_io;		/* resync chunk copies */
	struct metro_bounce bounce;
	struct work_struct release;
};

/* Module init and exit: the workqueue pools are released on. */
int metro_pool_module_init(void);
void metro_pool_module_exit(void);

/*
 * A pool for volume @name; @bounce: with bounce pages for reads.  NULL
 * and @error (a literal) on failure.  May block.
 */
struct metro_pool *metro_pool_create(const char *name, unsigned int clone_pad,
				     unsigned int md_pad, bool bounce,
				     const char **error);

/* Take a reference on leg @i's device (ctr, before any I/O to it). */
void metro_pool_set_leg(struct metro_pool *p, unsigned int i,
			struct block_device *bdev);

/* The table is done with @p (dtr): log what is still outstanding, put it. */
void metro_pool_orphan(struct metro_pool *p);

/* Drop a reference; the last one releases the pool.  Any context. */
void metro_pool_put(struct metro_pool *p);

/*
 * An I/O of @kind (METRO_LATE_*) on leg @i was abandoned: it holds a
 * reference until metro_pool_late_put().  Any context.
 */
void metro_pool_late_get(struct metro_pool *p, unsigned int i, unsigned int kind);
void metro_pool_late_put(struct metro_pool *p, unsigned int i, unsigned int kind);

static inline int metro_pool_late(struct metro_pool *p, unsigned int i)
{
	return atomic_read(&p->legs[i].late);
}

/*
 * 0 when no other pool holds abandoned writes on @devt, else their count
 * and the name of the volume in @who (DM_NAME_LEN bytes).
 */
int metro_pool_check_late(struct metro_pool *p, dev_t devt, char *who);

/* Bounce pages (metro-pool.c). */
void metro_bounce_take(struct metro_bounce *b, struct list_head *pages,
		       unsigned int nr);
void metro_bounce_free_bio(struct metro_bounce *b, struct bio *bio);
void metro_bounce_trim(struct metro_bounce *b);

#endif /* DM_METRO_POOL_H */
