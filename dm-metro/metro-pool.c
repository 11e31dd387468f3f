// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-metro: the pools that I/O sent to the legs is allocated from, and
 * the accounting of I/O abandoned on a stalled leg (see metro-pool.h for
 * why they live apart from the table), and the read bounce pages.
 */
#include <linux/blkdev.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "metro.h"

/*
 * Every pool that exists, a table's or one a removed table left to its
 * abandoned I/O, so that a new table can see the writes that may still
 * land on a device.  Protects the list and nothing else.
 */
static LIST_HEAD(metro_pools);
static DEFINE_MUTEX(metro_pools_lock);

/* The last reference may drop in bio completion context: release from here. */
static struct workqueue_struct *metro_pool_wq;

int metro_pool_module_init(void)
{
	metro_pool_wq = alloc_workqueue("kmetro_pool", WQ_MEM_RECLAIM, 0);
	return metro_pool_wq ? 0 : -ENOMEM;
}

void metro_pool_module_exit(void)
{
	/* Every pool holds a module reference: none is left, none running. */
	destroy_workqueue(metro_pool_wq);
}

static void metro_free_page_list(struct list_head *pages)
{
	struct page *page, *tmp;

	list_for_each_entry_safe(page, tmp, pages, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
}

static void metro_bounce_exit(struct metro_bounce *b)
{
	metro_free_page_list(&b->free);
	b->nr_free = 0;
	mempool_exit(&b->reserve);
}

/* Move up to @nr reused pages onto @pages; any context. */
void metro_bounce_take(struct metro_bounce *b, struct list_head *pages,
		       unsigned int nr)
{
	unsigned long flags;
	unsigned int i;

	spin_lock_irqsave(&b->lock, flags);
	nr = min(nr, b->nr_free);
	for (i = 0; i < nr; i++)
		list_move(b->free.next, pages);
	b->nr_free -= nr;
	b->low = min(b->low, b->nr_free);
	spin_unlock_irqrestore(&b->lock, flags);
}

/* Give a bounce bio's pages back: reserve first, then reuse; any context. */
void metro_bounce_free_bio(struct metro_bounce *b, struct bio *bio)
{
	struct bvec_iter_all iter_all;
	unsigned int n = 0, keep;
	struct bio_vec *bv;
	unsigned long flags;
	LIST_HEAD(pages);

	bio_for_each_segment_all(bv, bio, iter_all) {
		if (unlikely(READ_ONCE(b->reserve.curr_nr) < b->reserve.min_nr)) {
			mempool_free(bv->bv_page, &b->reserve);
			continue;
		}
		list_add(&bv->bv_page->lru, &pages);
		n++;
	}
	if (!n)
		return;
	spin_lock_irqsave(&b->lock, flags);
	keep = min(n, METRO_BOUNCE_CACHE_MAX - b->nr_free);
	b->nr_free += keep;
	while (keep--)
		list_move(pages.next, &b->free);
	spin_unlock_irqrestore(&b->lock, flags);
	/* Over the cache's limit: back to the page allocator. */
	metro_free_page_list(&pages);
}

/* Free the reused bounce pages that no read needed since the last trim. */
void metro_bounce_trim(struct metro_bounce *b)
{
	unsigned int n;
	LIST_HEAD(pages);

	spin_lock_irq(&b->lock);
	for (n = b->low; n; n--)
		list_move(b->free.prev, &pages);
	b->nr_free -= b->low;
	b->low = b->nr_free;
	spin_unlock_irq(&b->lock);
	metro_free_page_list(&pages);
}

static void metro_pool_free(struct metro_pool *p)
{
	unsigned int i;

	if (p->copy_io)
		dm_io_client_destroy(p->copy_io);
	metro_bounce_exit(&p->bounce);
	mempool_exit(&p->md_pages);
	bioset_exit(&p->md_bs);
	bioset_exit(&p->bs);
	for (i = 0; i < METRO_NR_LEGS; i++)
		if (p->legs[i].dev)
			put_device(p->legs[i].dev);
	kfree(p);
}

static void metro_pool_release(struct work_struct *ws)
{
	struct metro_pool *p = container_of(ws, struct metro_pool, release);

	mutex_lock(&metro_pools_lock);
	list_del(&p->list);
	mutex_unlock(&metro_pools_lock);
	metro_pool_free(p);
	/* Last: module exit drains metro_pool_wq, so this work has returned. */
	module_put(THIS_MODULE);
}

struct metro_pool *metro_pool_create(const char *name, unsigned int clone_pad,
				     unsigned int md_pad, bool bounce,
				     const char **error)
{
	struct metro_pool *p;

	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p) {
		*error = "Cannot allocate the I/O pool";
		return NULL;
	}
	refcount_set(&p->ref, 1);
	strscpy(p->name, name, sizeof(p->name));
	INIT_WORK(&p->release, metro_pool_release);
	spin_lock_init(&p->bounce.lock);
	INIT_LIST_HEAD(&p->bounce.free);
	mutex_init(&p->bounce.reserve_lock);

	*error = "Cannot allocate the bio sets";
	if (bioset_init(&p->bs, BIO_POOL_SIZE, clone_pad,
			BIOSET_NEED_BVECS | BIOSET_NEED_RESCUER))
		goto bad;
	/* One request per leg in flight, one per leg abandoned. */
	if (bioset_init(&p->md_bs, 2 * METRO_NR_LEGS, md_pad, BIOSET_NEED_BVECS))
		goto bad;
	*error = "Cannot allocate the metadata pages";
	if (mempool_init_page_pool(&p->md_pages,
				   2 * METRO_NR_LEGS * METRO_MD_MAX_PAGES, 0))
		goto bad;
	if (bounce && mempool_init_page_pool(&p->bounce.reserve,
					     METRO_BOUNCE_MAX_PAGES, 0)) {
		*error = "Cannot allocate the read bounce pages (try read_mode direct)";
		goto bad;
	}
	p->copy_io = dm_io_client_create();
	if (IS_ERR(p->copy_io)) {
		p->copy_io = NULL;
		*error = "Cannot create dm-io client";
		goto bad;
	}

	/* The table's module reference lasts as long as the table. */
	__module_get(THIS_MODULE);
	mutex_lock(&metro_pools_lock);
	list_add(&p->list, &metro_pools);
	mutex_unlock(&metro_pools_lock);
	return p;
bad:
	metro_pool_free(p);
	return NULL;
}

void metro_pool_set_leg(struct metro_pool *p, unsigned int i,
			struct block_device *bdev)
{
	struct metro_pool_leg *pl = &p->legs[i];

	pl->devt = bdev->bd_dev;
	pl->dev = get_device(&bdev->bd_device);
	snprintf(pl->name, sizeof(pl->name), "%u:%u", MAJOR(pl->devt),
		 MINOR(pl->devt));
}

void metro_pool_put(struct metro_pool *p)
{
	if (refcount_dec_and_test(&p->ref))
		queue_work(metro_pool_wq, &p->release);
}

void metro_pool_orphan(struct metro_pool *p)
{
	unsigned int i;
	int n;

	WRITE_ONCE(p->orphan, true);
	for (i = 0; i < METRO_NR_LEGS; i++) {
		n = metro_pool_late(p, i);
		if (n)
			DMWARN("%s: %d I/Os abandoned on leg %c (%s) are still held by the device; their memory stays allocated until it returns them, and the device cannot be used in a metro table until then",
			       p->name, n, metro_leg_letter(i), p->legs[i].name);
	}
	metro_pool_put(p);
}

void metro_pool_late_get(struct metro_pool *p, unsigned int i, unsigned int kind)
{
	struct metro_pool_leg *pl = &p->legs[i];

	refcount_inc(&p->ref);
	atomic_inc(&pl->late);
	if (kind & METRO_LATE_WRITE)
		atomic_inc(&pl->late_writes);
	if (kind & METRO_LATE_MD)
		atomic_inc(&pl->late_md);
}

void metro_pool_late_put(struct metro_pool *p, unsigned int i, unsigned int kind)
{
	struct metro_pool_leg *pl = &p->legs[i];

	if (kind & METRO_LATE_MD)
		atomic_dec(&pl->late_md);
	if (kind & METRO_LATE_WRITE)
		atomic_dec(&pl->late_writes);
	if (atomic_dec_and_test(&pl->late) && READ_ONCE(p->orphan))
		DMINFO("%s: the I/O abandoned on leg %c (%s) has all returned; the device can be used again",
		       p->name, metro_leg_letter(i), pl->name);
	metro_pool_put(p);
}

int metro_pool_check_late(struct metro_pool *p, dev_t devt, char *who)
{
	struct metro_pool *o;
	unsigned int i;
	int n = 0;

	mutex_lock(&metro_pools_lock);
	list_for_each_entry(o, &metro_pools, list) {
		if (o == p)
			continue;
		for (i = 0; i < METRO_NR_LEGS && !n; i++) {
			if (o->legs[i].devt != devt)
				continue;
			n = atomic_read(&o->legs[i].late_writes);
			if (n)
				strscpy(who, o->name, DM_NAME_LEN);
		}
		if (n)
			break;
	}
	mutex_unlock(&metro_pools_lock);
	return n;
}
