// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-metro: the I/O path.
 *
 * Writes are cloned to every live leg from a private bio_set and the
 * original completes when all clones have.  A write into a region already
 * marked in the write-intent bitmap is issued straight from map; any other
 * write goes to the worker, which marks its regions first (batched, one
 * bitmap write per changed block and leg) and then issues it.  Reads are
 * remapped to the in-sync leg with the fewest reads in flight.
 *
 * Empty flushes arrive as two bios (num_flush_bios = 2), one per leg.
 * Discards and write zeroes may span many regions (dm does not split them
 * at max_io_len): they always take the worker path and are counted in
 * inflight_wide, which holds back every clear and copy while they run.
 *
 * An I/O error on one leg detaches that leg, but a write is only
 * acknowledged after the detach is recorded in the survivor's superblock,
 * so that a later activation knows which leg is stale.
 */
#include <linux/bio.h>

#include "metro-io.h"
#include "metro-log.h"
#include "metro-resync.h"

void metro_wake_worker(struct metro_c *m)
{
	queue_work(m->wq, &m->worker);
}

void metro_defer_bios(struct metro_c *m, struct bio_list *bios)
{
	unsigned long flags;

	if (bio_list_empty(bios))
		return;
	spin_lock_irqsave(&m->lock, flags);
	bio_list_merge(&m->deferred, bios);
	spin_unlock_irqrestore(&m->lock, flags);
	metro_wake_worker(m);
}

static void metro_defer_bio(struct metro_c *m, struct bio *bio, struct bio_list *list)
{
	unsigned long flags;

	spin_lock_irqsave(&m->lock, flags);
	bio_list_add(list, bio);
	spin_unlock_irqrestore(&m->lock, flags);
	metro_wake_worker(m);
}

static struct metro_io *metro_io(struct bio *bio)
{
	return dm_per_bio_data(bio, sizeof(struct metro_io));
}

static struct bio *metro_io_bio(struct metro_io *io)
{
	return dm_bio_from_per_bio_data(io, sizeof(struct metro_io));
}

static unsigned long metro_last_region(struct metro_c *m, struct bio *bio)
{
	return metro_region(m, bio_end_sector(bio) - 1);
}

/* Drop the in-flight count a write holds; any context. */
static void metro_inflight_put(struct metro_c *m, struct metro_io *io)
{
	if (!io->inflight)
		return;
	io->inflight = false;
	if (io->wide) {
		atomic_dec(&m->inflight_wide);
		/* Rare: let any copy held back by this write start. */
		metro_resync_kick(m);
		return;
	}
	atomic_dec(metro_bucket(m, io->region));
	/* A copy of this region may be waiting for the bucket to drain. */
	if (unlikely(test_bit(io->region, m->copying)))
		metro_resync_kick(m);
}

static void metro_clone_endio(struct bio *clone);

/*
 * Issue a write to every live leg.  The caller holds an in-flight count
 * for the bio's regions.
 */
static void metro_dispatch_write(struct metro_c *m, struct bio *bio,
				 struct metro_io *io)
{
	unsigned long r, mask = metro_alive_mask(m);
	unsigned long last = io->wide ? metro_last_region(m, bio) : io->region;
	unsigned int i;

	if (unlikely(!mask)) {
		metro_inflight_put(m, io);
		bio_io_error(bio);
		return;
	}
	/*
	 * Degraded: the absent leg misses this write, so the region must be
	 * copied when the leg comes back.  The bit is already set on disk.
	 */
	if (unlikely(hweight_long(mask) < METRO_NR_LEGS))
		for (r = io->region; r <= last; r++)
			metro_mark_missed(m, r);
	if (!test_bit(io->region, m->active))
		set_bit(io->region, m->active);

	io->sent_mask = mask;
	io->failed_mask = 0;
	io->status = BLK_STS_OK;
	atomic_set(&io->pending, hweight_long(mask));
	for_each_set_bit(i, &mask, METRO_NR_LEGS) {
		struct metro_clone *mc;
		struct bio *clone;

		clone = bio_alloc_clone(m->legs[i].dev->bdev, bio, GFP_NOIO, &m->bs);
		mc = container_of(clone, struct metro_clone, bio);
		mc->io = io;
		mc->leg = i;
		clone->bi_iter.bi_sector = metro_data_sector(m, bio->bi_iter.bi_sector);
		clone->bi_end_io = metro_clone_endio;
		dm_submit_bio_remap(bio, clone);
	}
}

static void metro_write_complete(struct metro_io *io)
{
	struct metro_c *m = io->m;
	struct bio *bio = metro_io_bio(io);

	if (unlikely(io->failed_mask)) {
		/*
		 * A failed discard only loses a hint; a write that failed
		 * everywhere is simply an error.  Otherwise the failed leg
		 * must be detached (on disk) before the write is acked.
		 */
		if (io->failed_mask == io->sent_mask || bio_op(bio) == REQ_OP_DISCARD) {
			bio->bi_status = io->status;
			metro_inflight_put(m, io);
			bio_endio(bio);
			return;
		}
		metro_defer_bio(m, bio, &m->failed);
		return;
	}
	metro_inflight_put(m, io);
	bio_endio(bio);
}

static void metro_clone_endio(struct bio *clone)
{
	struct metro_clone *mc = container_of(clone, struct metro_clone, bio);
	struct metro_io *io = mc->io;

	if (unlikely(clone->bi_status)) {
		set_bit(mc->leg, &io->failed_mask);
		io->status = clone->bi_status;
	}
	bio_put(clone);
	if (atomic_dec_and_test(&io->pending))
		metro_write_complete(io);
}

/*
 * The write fast path: no lock, no worker.  Taken when the region is
 * already marked on disk and not being copied.  See metro_collect_quiet()
 * and metro_resync_work() for the other side of the barrier.
 */
static bool metro_write_fast(struct metro_c *m, struct bio *bio,
			     struct metro_io *io)
{
	unsigned long r = io->region;
	atomic_t *bucket = metro_bucket(m, r);

	atomic_inc(bucket);
	/* Count before testing dirty/copying: pairs with clear and copy. */
	smp_mb__after_atomic();
	if (likely(test_bit(r, m->dirty) && !test_bit(r, m->copying))) {
		io->inflight = true;
		metro_dispatch_write(m, bio, io);
		return true;
	}
	atomic_dec(bucket);
	if (test_bit(r, m->copying))
		metro_resync_kick(m);
	return false;
}

/* Called by the worker once the bio's regions are marked on disk. */
static void metro_dispatch_deferred(struct metro_c *m, struct bio *bio)
{
	struct metro_io *io = metro_io(bio);
	unsigned long last = io->wide ? metro_last_region(m, bio) : io->region;
	atomic_t *count = io->wide ? &m->inflight_wide : metro_bucket(m, io->region);

	for (;;) {
		atomic_inc(count);
		/* Count before testing copying: pairs with metro_resync_work(). */
		smp_mb__after_atomic();
		if (likely(!metro_range_copying(m, io->region, last)))
			break;
		/* Wait for the copy; our count must not hold it back. */
		atomic_dec(count);
		metro_resync_kick(m);
		if (metro_resync_park(m, bio, io->region, last))
			return;
	}
	io->inflight = true;
	metro_dispatch_write(m, bio, io);
}

static int metro_map_write(struct metro_c *m, struct bio *bio,
			   struct metro_io *io)
{
	io->kind = METRO_IO_WRITE;
	io->region = metro_region(m, bio->bi_iter.bi_sector);
	io->wide = metro_last_region(m, bio) != io->region;

	if (likely(!io->wide) && metro_write_fast(m, bio, io))
		return DM_MAPIO_SUBMITTED;
	metro_defer_bio(m, bio, &m->deferred);
	return DM_MAPIO_SUBMITTED;
}

/*
 * Can @i serve reads of region @r?  Every live leg can, except for regions
 * out of sync, which only a current source leg holds.
 */
static bool metro_leg_can_read(struct metro_c *m, unsigned int i, unsigned long r)
{
	struct metro_leg *leg = &m->legs[i];

	if (!metro_leg_alive(leg))
		return false;
	if (!test_bit(r, m->out_of_sync))
		return true;
	return i == READ_ONCE(m->source) && !READ_ONCE(leg->stale);
}

/* Pick the leg for a read: least reads in flight, ties alternate. */
static int metro_choose_read_leg(struct metro_c *m, unsigned long r, int exclude)
{
	bool ok0 = exclude != 0 && metro_leg_can_read(m, 0, r);
	bool ok1 = exclude != 1 && metro_leg_can_read(m, 1, r);
	int a, b;

	if (ok0 && ok1) {
		a = atomic_read(&m->legs[0].reads_inflight);
		b = atomic_read(&m->legs[1].reads_inflight);
		if (a != b)
			return a < b ? 0 : 1;
		return atomic_inc_return(&m->read_rr) & 1;
	}
	if (ok0)
		return 0;
	if (ok1)
		return 1;
	return -1;
}

static void metro_remap_read(struct metro_c *m, struct bio *bio,
			     struct metro_io *io, unsigned int i)
{
	struct metro_leg *leg = &m->legs[i];

	io->leg = i;
	atomic_inc(&leg->reads_inflight);
	atomic64_inc(&leg->reads);
	bio_set_dev(bio, leg->dev->bdev);
	bio->bi_iter.bi_sector = metro_data_sector(m, bio->bi_iter.bi_sector);
}

static int metro_map_read(struct metro_c *m, struct bio *bio,
			  struct metro_io *io)
{
	int i;

	io->kind = METRO_IO_READ;
	io->region = metro_region(m, bio->bi_iter.bi_sector);
	i = metro_choose_read_leg(m, io->region, -1);
	if (i < 0) {
		DMERR_LIMIT("%s: no leg holds a current copy of region %lu",
			    metro_name(m), io->region);
		return DM_MAPIO_KILL;
	}
	io->iter = bio->bi_iter;
	io->bdev = bio->bi_bdev;
	metro_remap_read(m, bio, io, i);
	return DM_MAPIO_REMAPPED;
}

static int metro_map_flush(struct metro_c *m, struct bio *bio,
			   struct metro_io *io)
{
	unsigned int i = dm_bio_get_target_bio_nr(bio);

	io->kind = METRO_IO_FLUSH;
	io->leg = i;
	if (i >= METRO_NR_LEGS || !metro_leg_alive(&m->legs[i])) {
		/* Nothing to flush on a detached leg. */
		io->finished = true;
		bio_endio(bio);
		return DM_MAPIO_SUBMITTED;
	}
	bio_set_dev(bio, m->legs[i].dev->bdev);
	return DM_MAPIO_REMAPPED;
}

int metro_map(struct dm_target *ti, struct bio *bio)
{
	struct metro_c *m = ti->private;
	struct metro_io *io = metro_io(bio);

	/* One store per jiffy at most: the resync yields while this moves. */
	if (time_after(jiffies, READ_ONCE(m->last_app_io)))
		WRITE_ONCE(m->last_app_io, jiffies);

	io->m = m;
	io->finished = false;
	io->inflight = false;
	io->wide = false;

	if (unlikely(bio->bi_opf & REQ_PREFLUSH))
		return metro_map_flush(m, bio, io);
	if (bio_data_dir(bio) == READ)
		return metro_map_read(m, bio, io);
	return metro_map_write(m, bio, io);
}

int metro_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error)
{
	struct metro_c *m = ti->private;
	struct metro_io *io = metro_io(bio);

	if (io->kind == METRO_IO_WRITE || io->finished)
		return DM_ENDIO_DONE;

	if (io->kind == METRO_IO_READ)
		atomic_dec(&m->legs[io->leg].reads_inflight);

	if (!*error || *error == BLK_STS_NOTSUPP || *error == BLK_STS_AGAIN)
		return DM_ENDIO_DONE;
	/* Readahead may fail; it says nothing about the leg. */
	if (io->kind == METRO_IO_READ && (bio->bi_opf & REQ_RAHEAD))
		return DM_ENDIO_DONE;

	io->status = *error;
	metro_defer_bio(m, bio, &m->failed);
	return DM_ENDIO_INCOMPLETE;
}

/* Retry a failed read on the other leg, or fail it.  Worker context. */
static void metro_retry_read(struct metro_c *m, struct bio *bio,
			     struct metro_io *io)
{
	int i = metro_choose_read_leg(m, io->region, io->leg);

	if (i < 0) {
		io->finished = true;
		bio->bi_status = io->status;
		bio_endio(bio);
		return;
	}
	DMWARN_LIMIT("%s: read of region %lu failed on leg %c, retrying on leg %c",
		     metro_name(m), io->region, 'A' + io->leg, 'A' + i);
	/* The first completion left its error in the bio. */
	bio->bi_status = BLK_STS_OK;
	bio->bi_iter = io->iter;
	bio_set_dev(bio, io->bdev);
	metro_remap_read(m, bio, io, i);
	submit_bio_noacct(bio);
}

/*
 * Bios that saw an I/O error on one leg: detach the leg(s), commit the
 * superblocks once for the whole batch, then complete or retry the bios.
 */
static void metro_handle_failed(struct metro_c *m, struct bio_list *bios)
{
	unsigned long r, oos_last, alive, failed_legs = 0;
	unsigned int i;
	struct bio *bio;
	bool detached = false, committed = true;

	mutex_lock(&m->md_lock);
	for (i = 0; i < METRO_NR_LEGS; i++) {
		if (test_and_clear_bit(METRO_WORK_FAIL_LEG + i, &m->work_flags))
			failed_legs |= BIT(i);
	}
	bio_list_for_each(bio, bios) {
		struct metro_io *io = metro_io(bio);

		if (io->kind == METRO_IO_WRITE)
			failed_legs |= io->failed_mask;
		else
			failed_legs |= BIT(io->leg);
	}
	for_each_set_bit(i, &failed_legs, METRO_NR_LEGS) {
		if (!metro_leg_alive(&m->legs[i]))
			continue;
		if (metro_log_leg_failed(m, i, "an I/O error"))
			detached = true;
	}
	/* The writes are on the survivor only (if anywhere). */
	bio_list_for_each(bio, bios) {
		struct metro_io *io = metro_io(bio);

		if (io->kind != METRO_IO_WRITE)
			continue;
		oos_last = io->wide ? metro_last_region(m, bio) : io->region;
		for (r = io->region; r <= oos_last; r++)
			metro_mark_missed(m, r);
	}
	if (detached)
		committed = !metro_log_commit_sb(m);
	mutex_unlock(&m->md_lock);
	if (detached)
		dm_table_event(m->ti->table);

	while ((bio = bio_list_pop(bios))) {
		struct metro_io *io = metro_io(bio);

		switch (io->kind) {
		case METRO_IO_WRITE:
			/*
			 * Good if every leg it failed on is detached now and
			 * a leg that took it is still attached.
			 */
			alive = metro_alive_mask(m);
			if (committed && !(io->failed_mask & alive) &&
			    (io->sent_mask & ~io->failed_mask & alive))
				bio->bi_status = BLK_STS_OK;
			else
				bio->bi_status = io->status ? io->status : BLK_STS_IOERR;
			metro_inflight_put(m, io);
			bio_endio(bio);
			break;
		case METRO_IO_READ:
			metro_retry_read(m, bio, io);
			break;
		case METRO_IO_FLUSH:
			io->finished = true;
			bio->bi_status = metro_leg_alive(&m->legs[io->leg]) ?
					 io->status : BLK_STS_OK;
			bio_endio(bio);
			break;
		}
	}
}

static void metro_handle_deferred(struct metro_c *m, struct bio_list *bios)
{
	struct bio *bio;

	if (metro_log_mark(m, bios)) {
		DMERR_LIMIT("%s: cannot write the write-intent bitmap to any leg; failing writes",
			    metro_name(m));
		while ((bio = bio_list_pop(bios)))
			bio_io_error(bio);
		return;
	}
	while ((bio = bio_list_pop(bios)))
		metro_dispatch_deferred(m, bio);
}

void metro_worker(struct work_struct *ws)
{
	struct metro_c *m = container_of(ws, struct metro_c, worker);
	struct bio_list deferred, failed;

	spin_lock_irq(&m->lock);
	deferred = m->deferred;
	failed = m->failed;
	bio_list_init(&m->deferred);
	bio_list_init(&m->failed);
	spin_unlock_irq(&m->lock);

	if (!bio_list_empty(&failed) ||
	    test_bit(METRO_WORK_FAIL_LEG, &m->work_flags) ||
	    test_bit(METRO_WORK_FAIL_LEG + 1, &m->work_flags))
		metro_handle_failed(m, &failed);
	if (!bio_list_empty(&deferred))
		metro_handle_deferred(m, &deferred);
	if (test_and_clear_bit(METRO_WORK_SYNC_DONE, &m->work_flags))
		metro_log_sync_done(m);
}
