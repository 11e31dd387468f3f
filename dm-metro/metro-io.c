// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-metro: the bio path.
 *
 * Writes and empty flushes are cloned to every live leg, and the original
 * completes when its clones have.  A write into a region already marked in
 * the write-intent bitmap is issued straight from map; any other write
 * goes to the worker (metro-worker.c), which marks its regions first
 * (batched, one bitmap write per changed block and leg) and then issues
 * it.  Every write is counted in the range gate (metro-gate.h) while it is
 * in flight, so that a region copy and a write into it never overlap.  A
 * read goes to the in-sync leg where it should complete first (reads in
 * flight times service time), and to the other leg if it fails.  A read
 * that may fill the reader's pages (no deadline, or a leg whose reads are
 * not bounced: read_mode in metro-table.h) is not cloned: it is remapped
 * to its leg like a dm-linear bio, and metro_end_io() hands it to the
 * worker if it fails.
 *
 * Discards and write zeroes may span many regions (dm does not split them
 * at max_io_len): they always take the worker path and are counted in the
 * gate's @wide count, which holds back every clear and copy while they run.
 *
 * An I/O error on one leg detaches that leg, but a write is only
 * acknowledged after the detach is recorded in the survivor's superblock
 * (the worker does both), so that a later activation knows which leg is
 * stale.
 *
 * In cluster mode (metro-cluster.h) the fast path is for regions both
 * marked and owned by this node (m->fast), the worker's writes are
 * dispatched only while this node owns their regions, and map holds every
 * bio while the cluster changes its state or recovers.
 *
 * With an I/O deadline, clones own their data, so that one abandoned on a
 * stalled leg (metro-deadline.c) touches no memory the original's owner
 * got back when it completes late: a write clone has its own bio_vec table
 * and a reference on each page, a read clone reads into bounce pages that
 * are copied to the original only when it completes in time (on the legs
 * whose reads are bounced; on the others it shares the original's pages
 * and is waited for).
 */
#include <linux/bio.h>
#include <linux/mm.h>
#include <linux/timekeeping.h>

#include "metro-cluster.h"
#include "metro-io.h"
#include "metro-resync.h"

/* Free a clone and what it holds of its pages; any context. */
void metro_clone_put(struct metro_clone *mc)
{
	struct bvec_iter_all iter_all;
	struct bio_vec *bv;

	switch (mc->pages) {
	case METRO_PAGES_SHARED:
		break;
	case METRO_PAGES_REFS:
		bio_for_each_segment_all(bv, &mc->bio, iter_all)
			put_page(bv->bv_page);
		break;
	case METRO_PAGES_BOUNCE:
		metro_bounce_free_bio(&mc->pool->bounce, &mc->bio);
		break;
	}
	bio_put(&mc->bio);
}

/* An empty bio for @bdev like @bio, with room for @nr bio_vecs. */
static struct bio *metro_alloc_own(struct metro_c *m, struct bio *bio,
				   struct block_device *bdev, unsigned int nr)
{
	struct bio *clone = bio_alloc_bioset(bdev, nr, bio->bi_opf, GFP_NOIO,
					     &m->pool->bs);

	clone->bi_ioprio = bio->bi_ioprio;
	bio_clone_blkg_association(clone, bio);
	return clone;
}

/*
 * A write clone with its own bio_vec table, holding a reference on every
 * page: whatever the original's owner does once it is completed, the
 * pages stay allocated until this clone is freed.
 */
static struct bio *metro_clone_refs(struct metro_c *m, struct bio *bio,
				    struct block_device *bdev)
{
	struct bvec_iter_all iter_all;
	struct bvec_iter iter;
	struct bio_vec bv, *pv;
	unsigned int nr = 0;
	struct bio *clone;

	bio_for_each_bvec(bv, bio, iter)
		nr++;
	clone = metro_alloc_own(m, bio, bdev, nr);
	bio_for_each_bvec(bv, bio, iter)
		__bio_add_page(clone, bv.bv_page, bv.bv_len, bv.bv_offset);
	bio_for_each_segment_all(pv, clone, iter_all)
		get_page(pv->bv_page);
	return clone;
}

/*
 * A read clone into bounce pages laid out like the original's segments
 * (same offsets and lengths, one page each), so that the leg and the copy
 * back see the same alignment as a clone sharing the original's pages
 * would.  Reused pages first, then new ones taken without waiting.
 * Failing that, as in dm-crypt, one allocation at a time may wait on the
 * reserve, which holds enough for the largest clone (metro_limit_owned()
 * keeps reads within BIO_MAX_VECS segments).
 */
static struct bio *metro_clone_bounce(struct metro_c *m, struct bio *bio,
				      struct block_device *bdev)
{
	unsigned int nr = bio_segments(bio);
	struct bio *clone = metro_alloc_own(m, bio, bdev, nr);
	struct bvec_iter iter;
	struct page *page;
	struct bio_vec bv;
	bool wait = false;
	LIST_HEAD(pages);

	metro_bounce_take(&m->pool->bounce, &pages, nr);
	bio_for_each_segment(bv, bio, iter) {
		page = list_first_entry_or_null(&pages, struct page, lru);
		if (page) {
			list_del(&page->lru);
		} else {
			if (!wait)
				page = alloc_page(GFP_NOWAIT | __GFP_NOWARN);
			if (unlikely(!page)) {
				if (!wait)
					mutex_lock(&m->pool->bounce.reserve_lock);
				wait = true;
				page = mempool_alloc(&m->pool->bounce.reserve, GFP_NOIO);
			}
		}
		__bio_add_page(clone, page, bv.bv_len, bv.bv_offset);
	}
	if (unlikely(wait))
		mutex_unlock(&m->pool->bounce.reserve_lock);
	return clone;
}

static struct metro_clone *metro_clone_bio(struct metro_c *m, struct bio *bio,
					   struct metro_io *io, unsigned int leg,
					   bio_end_io_t *endio)
{
	struct block_device *bdev = m->legs[leg].dev->bdev;
	enum metro_clone_pages pages = METRO_PAGES_SHARED;
	struct metro_clone *mc;
	struct bio *clone;

	if (m->io_deadline && bio_has_data(bio) && !io->shared) {
		if (op_is_write(bio_op(bio)))
			pages = METRO_PAGES_REFS;
		else if (m->read_bounce & BIT(leg))
			pages = METRO_PAGES_BOUNCE;
	}
	switch (pages) {
	case METRO_PAGES_SHARED:
		clone = bio_alloc_clone(bdev, bio, GFP_NOIO, &m->pool->bs);
		break;
	case METRO_PAGES_REFS:
		clone = metro_clone_refs(m, bio, bdev);
		break;
	case METRO_PAGES_BOUNCE:
		clone = metro_clone_bounce(m, bio, bdev);
		break;
	}
	mc = container_of(clone, struct metro_clone, bio);
	mc->io = io;
	mc->pool = m->pool;
	mc->leg = leg;
	mc->pages = pages;
	/* Data a late completion may still have written: writes, discards, zeroes. */
	mc->late_kind = op_is_write(bio_op(bio)) && bio_sectors(bio) ? METRO_LATE_WRITE : 0;
	if (bio_sectors(bio))
		clone->bi_iter.bi_sector = metro_data_sector(m, bio->bi_iter.bi_sector);
	clone->bi_end_io = endio;
	return mc;
}

/* Drop the gate count a write holds; any context. */
void metro_inflight_put(struct metro_c *m, struct metro_io *io)
{
	if (!io->inflight)
		return;
	io->inflight = false;
	/* A copy held back by this write may start now. */
	if (metro_gate_leave(&m->gate, metro_gate_count(&m->gate, io->region, io->wide),
			     io->region))
		metro_resync_kick(m);
}

static void metro_clone_endio(struct bio *clone);

/*
 * Submit a clone handed over by metro_fan_out().  The work lives in the
 * clone, not in the metro_io: a clone abandoned by the I/O deadline before
 * this ran outlives its original.
 */
static void metro_submit_work(struct work_struct *ws)
{
	struct metro_clone *mc = container_of(ws, struct metro_clone, submit);

	/* The clone may complete, and be freed, once it is sent. */
	submit_bio_noacct(&mc->bio);
}

/*
 * Should a write's clone to leg B be submitted from another CPU?  Only
 * large writes to both legs: a small one costs more to hand over than to
 * submit.
 */
static bool metro_offload(struct bio *bio, unsigned long mask)
{
	return mask == (BIT(0) | BIT(1)) &&
	       bio_sectors(bio) >= METRO_OFFLOAD_MIN_SECTORS &&
	       num_online_cpus() > 1;
}

/* Send clones of a write or flush to the legs in @mask. */
static void metro_fan_out(struct metro_c *m, struct bio *bio,
			  struct metro_io *io, unsigned long mask)
{
	bool offload = metro_offload(bio, mask);
	unsigned int i;

	io->sent_mask = mask;
	io->failed_mask = 0;
	io->status = BLK_STS_OK;
	atomic_set(&io->pending, hweight_long(mask));
	for_each_set_bit(i, &mask, METRO_NR_LEGS) {
		struct metro_clone *mc = metro_clone_bio(m, bio, io, i, metro_clone_endio);

		metro_track(m, mc);
		if (offload && i == 1) {
			unsigned int cpu = cpumask_next(raw_smp_processor_id(),
							cpu_online_mask);

			if (cpu >= nr_cpu_ids)
				cpu = cpumask_first(cpu_online_mask);
			INIT_WORK(&mc->submit, metro_submit_work);
			queue_work_on(cpu, m->submit_wq, &mc->submit);
		} else {
			dm_submit_bio_remap(bio, &mc->bio);
		}
	}
}

/*
 * Issue a write to every live leg.  The caller holds an in-flight count
 * for the bio's regions.
 */
static void metro_dispatch_write(struct metro_c *m, struct bio *bio,
				 struct metro_io *io)
{
	unsigned long r, mask = metro_alive_mask(m);
	unsigned long last = io->wide ? metro_last_region(m, bio) : io->region;

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

	metro_fan_out(m, bio, io, mask);
}

static void metro_fan_out_complete(struct metro_io *io)
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

/* One clone of a write or flush is done (or abandoned, @status set). */
void metro_fan_out_put(struct metro_io *io, unsigned int leg,
			      blk_status_t status)
{
	if (unlikely(status)) {
		set_bit(leg, &io->failed_mask);
		io->status = status;
	}
	if (atomic_dec_and_test(&io->pending))
		metro_fan_out_complete(io);
}

static void metro_clone_endio(struct bio *clone)
{
	struct metro_clone *mc = container_of(clone, struct metro_clone, bio);
	blk_status_t status = clone->bi_status;
	unsigned int leg = mc->leg;
	struct metro_io *io;

	/* Abandoned: its metro_io may be gone; it was freed there. */
	if (metro_untrack(mc))
		return;
	io = mc->io;
	metro_clone_put(mc);
	metro_fan_out_put(io, leg, status);
}

/*
 * The write fast path: no lock, no worker.  Taken when the region is
 * already marked on disk and not claimed by a copy.  See the range gate
 * (metro-gate.h) and metro_collect_quiet() for the other side.
 */
static bool metro_write_fast(struct metro_c *m, struct bio *bio,
			     struct metro_io *io)
{
	unsigned long r = io->region;
	atomic_t *bucket = metro_gate_count(&m->gate, r, false);

	metro_gate_enter(bucket);
	if (likely(test_bit(r, m->fast) && !metro_gate_claimed(&m->gate, r, r))) {
		io->inflight = true;
		metro_dispatch_write(m, bio, io);
		return true;
	}
	atomic_dec(bucket);
	if (!metro_gate_claimed(&m->gate, r, r) || !test_bit(r, m->fast))
		return false;
	/* Being copied: our count must not hold a chunk copy back. */
	metro_resync_kick(m);
	switch (metro_resync_admit(m, bio, r, r, bucket)) {
	case METRO_ADMIT_GO:
		io->inflight = true;
		metro_dispatch_write(m, bio, io);
		return true;
	case METRO_ADMIT_PARKED:
		return true;
	default:
		return false;
	}
}

/* Called by the worker once the bio's regions are marked on disk. */
void metro_dispatch_deferred(struct metro_c *m, struct bio *bio)
{
	struct metro_io *io = metro_io(bio);
	unsigned long last = io->wide ? metro_last_region(m, bio) : io->region;
	atomic_t *count = metro_gate_count(&m->gate, io->region, io->wide);

	for (;;) {
		metro_gate_enter(count);
		if (unlikely(!metro_cluster_owns(m, io->region, last))) {
			/* Given back to another node meanwhile: ask again. */
			if (metro_gate_leave(&m->gate, count, io->region))
				metro_resync_kick(m);
			metro_defer_bio(m, bio, &m->deferred);
			return;
		}
		if (likely(!metro_gate_claimed(&m->gate, io->region, last)))
			break;
		/* Our count must not hold a chunk copy back. */
		atomic_dec(count);
		metro_resync_kick(m);
		switch (metro_resync_admit(m, bio, io->region, last,
					   io->wide ? NULL : count)) {
		case METRO_ADMIT_GO:
			goto dispatch;
		case METRO_ADMIT_PARKED:
			return;
		case METRO_ADMIT_RETRY:
			break;
		}
	}
dispatch:
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
 * out of sync, which only a current source leg holds, and (cluster mode)
 * any region while another node copies regions this one does not know.
 */
static bool metro_leg_can_read(struct metro_c *m, unsigned int i, unsigned long r)
{
	struct metro_leg *leg = &m->legs[i];

	if (!metro_leg_alive(leg))
		return false;
	if (!test_bit(r, m->out_of_sync) && !READ_ONCE(m->read_source_only))
		return true;
	return i == READ_ONCE(m->source) && !READ_ONCE(leg->stale);
}

/* A leg passed over for reads this long gets one, to be measured again. */
#define METRO_READ_PROBE	HZ

/*
 * The expected wait for a read sent to @leg, which has @inflight reads in
 * flight: those and this one, times its service time.  A leg not measured
 * yet counts as instant, so that it is measured at once.
 */
static u64 metro_read_cost(struct metro_leg *leg, int inflight)
{
	return (u64)(inflight + 1) * max(READ_ONCE(leg->read_ns), 1U);
}

/*
 * Pick the leg for a read.  With write_mostly, the other one.  Else the one
 * where the read should complete first, as dm-mpath's service-time path
 * selector does: a remote leg gets reads only while the local one is
 * saturated.  Costs within a factor of two of each other (legs alike,
 * measured with noise) go to the leg with the fewest reads in flight, ties
 * alternating.  A leg passed over gets a read every METRO_READ_PROBE, so
 * that a leg that became fast again is seen to.
 */
int metro_choose_read_leg(struct metro_c *m, unsigned long r, int exclude)
{
	bool ok0 = exclude != 0 && metro_leg_can_read(m, 0, r);
	bool ok1 = exclude != 1 && metro_leg_can_read(m, 1, r);
	u64 c0, c1;
	int a, b, i;

	if (ok0 && ok1) {
		if (m->write_mostly >= 0)
			return !m->write_mostly;
		a = atomic_read(&m->legs[0].reads_inflight);
		b = atomic_read(&m->legs[1].reads_inflight);
		c0 = metro_read_cost(&m->legs[0], a);
		c1 = metro_read_cost(&m->legs[1], b);
		if (c0 * 2 < c1) {
			i = 0;
		} else if (c1 * 2 < c0) {
			i = 1;
		} else {
			if (a != b)
				return a < b ? 0 : 1;
			return atomic_inc_return(&m->read_rr) & 1;
		}
		if (time_after(jiffies, READ_ONCE(m->legs[!i].read_last) + METRO_READ_PROBE))
			return !i;
		return i;
	}
	if (ok0)
		return 0;
	if (ok1)
		return 1;
	return -1;
}

/*
 * Fold a read's service time into its leg's moving average (weight 1/8),
 * or make it the average if the leg had no read for METRO_READ_PROBE: the
 * average is out of date then.
 */
static void metro_read_sample(struct metro_leg *leg, u64 start, bool probe)
{
	unsigned int avg = READ_ONCE(leg->read_ns);
	unsigned int ns = min_t(u64, ktime_get_ns() - start, UINT_MAX);

	if (probe || !avg)
		avg = max(ns, 1U);
	else
		avg = avg - avg / 8 + ns / 8;
	WRITE_ONCE(leg->read_ns, avg);
}

/*
 * Is a read that ended with @status to be retried on the other leg (and
 * its leg detached)?  Readahead may fail; it says nothing about the leg.
 */
static bool metro_read_retry(struct bio *bio, blk_status_t status)
{
	return unlikely(status) && status != BLK_STS_NOTSUPP && status != BLK_STS_AGAIN &&
	       !(bio->bi_opf & REQ_RAHEAD);
}

/*
 * A read clone is done: complete the original, or hand it to the worker to
 * be retried on the other leg.
 */
void metro_read_done(struct metro_io *io, blk_status_t status)
{
	struct metro_c *m = io->m;
	struct bio *bio = metro_io_bio(io);

	atomic_dec(&m->legs[io->leg].reads_inflight);
	if (!metro_read_retry(bio, status)) {
		bio->bi_status = status;
		bio_endio(bio);
		return;
	}
	io->status = status;
	metro_defer_bio(m, bio, &m->failed);
}

/*
 * Copy a bounce clone's data into the original, segment by segment (see
 * metro_clone_bounce()): whole pages by copy_page(), quicker than memcpy()
 * at that size.
 */
static void metro_copy_bounce(struct bio *bio, struct bio *clone)
{
	struct bio_vec *src = clone->bi_io_vec;
	struct bvec_iter iter;
	struct bio_vec bv;
	char *dst, *from;

	bio_for_each_segment(bv, bio, iter) {
		dst = bvec_kmap_local(&bv);
		from = bvec_kmap_local(src);
		if (bv.bv_len == PAGE_SIZE)
			copy_page(dst, from);
		else
			memcpy(dst, from, bv.bv_len);
		kunmap_local(from);
		kunmap_local(dst);
		src++;
	}
}

static void metro_read_endio(struct bio *clone)
{
	struct metro_clone *mc = container_of(clone, struct metro_clone, bio);
	struct metro_io *io = mc->io;
	blk_status_t status = clone->bi_status;

	/* Abandoned: its metro_io may be gone; it was freed there. */
	if (metro_untrack(mc))
		return;
	if (!status && mc->read_start)
		metro_read_sample(&io->m->legs[mc->leg], mc->read_start, mc->read_probe);
	if (mc->pages == METRO_PAGES_BOUNCE && !status)
		metro_copy_bounce(metro_io_bio(io), clone);
	metro_clone_put(mc);
	metro_read_done(io, status);
}

/* One read in this many is timed for its leg's average service time. */
#define METRO_READ_SAMPLE	8

/*
 * Count a read sent to leg @i.  Returns when it starts if it is to be
 * timed, else 0: the first read for METRO_READ_PROBE (@probe: its service
 * time replaces the leg's average) and one in METRO_READ_SAMPLE, since
 * reading the clock twice for every read costs more than the average
 * needs.  With write_mostly, the choice of leg needs no service time.
 */
static u64 metro_count_read(struct metro_c *m, struct metro_io *io, unsigned int i,
			    bool *probe)
{
	struct metro_leg *leg = &m->legs[i];
	unsigned long last = READ_ONCE(leg->read_last);
	s64 n;

	io->leg = i;
	atomic_inc(&leg->reads_inflight);
	n = atomic64_inc_return(&leg->reads);
	/* One store per jiffy at most: every CPU's reads pass here. */
	if (time_after(jiffies, last))
		WRITE_ONCE(leg->read_last, jiffies);
	*probe = time_after(jiffies, last + METRO_READ_PROBE);
	if (m->write_mostly >= 0 ||
	    (!*probe && n % METRO_READ_SAMPLE && READ_ONCE(leg->read_ns)))
		return 0;
	return ktime_get_ns();
}

/*
 * Does a read of @io sent to leg @i ask the transport not to retry it
 * (failfast)?  Only while the other leg holds the region as well: the
 * error such a read may end with detaches leg @i and the read is sent
 * there.  A read of the last copy waits for as long as its transport does.
 */
static bool metro_read_failfast(struct metro_c *m, struct metro_io *io, unsigned int i)
{
	return (m->failfast & BIT(i)) && metro_leg_can_read(m, !i, io->region);
}

/* Send a read clone to leg @i; @retry: from the worker. */
void metro_send_read(struct metro_c *m, struct bio *bio,
			    struct metro_io *io, unsigned int i, bool retry)
{
	struct metro_clone *mc = metro_clone_bio(m, bio, io, i, metro_read_endio);

	mc->read_start = metro_count_read(m, io, i, &mc->read_probe);
	if (metro_read_failfast(m, io, i))
		mc->bio.bi_opf |= REQ_FAILFAST_TRANSPORT;
	metro_track(m, mc);
	if (retry)
		submit_bio_noacct(&mc->bio);
	else
		dm_submit_bio_remap(bio, &mc->bio);
}

/*
 * Pass a read on to leg @i as it is, without a clone: only when it may
 * fill the reader's pages (see metro_limit_owned()).  What metro_end_io()
 * needs to send it to the other leg instead is saved first.
 */
static int metro_remap_read(struct metro_c *m, struct bio *bio,
			    struct metro_io *io, unsigned int i)
{
	io->read_start = metro_count_read(m, io, i, &io->read_probe);
	io->saved_bdev = bio->bi_bdev;
	io->saved_flags = bio->bi_flags;
	io->saved_iter = bio->bi_iter;
	io->remapped = true;
	io->failfast = !(bio->bi_opf & REQ_FAILFAST_TRANSPORT) &&
		       metro_read_failfast(m, io, i);
	if (io->failfast)
		bio->bi_opf |= REQ_FAILFAST_TRANSPORT;
	metro_read_age_add(m, io);
	bio_set_dev(bio, m->legs[i].dev->bdev);
	bio->bi_iter.bi_sector = metro_data_sector(m, bio->bi_iter.bi_sector);
	return DM_MAPIO_REMAPPED;
}

/*
 * The end of every bio dm-metro was given.  Only a remapped read has work
 * left here: its leg's service time, and if it failed, to be put back as
 * map had it and handed to the worker, which retries it on the other leg
 * (metro_retry_read()) and completes it, calling this again.  Any context.
 */
int metro_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error)
{
	struct metro_io *io = metro_io(bio);
	struct metro_c *m = ti->private;
	struct metro_leg *leg;

	if (!io->remapped)
		return DM_ENDIO_DONE;
	io->remapped = false;
	if (io->failfast)
		bio->bi_opf &= ~REQ_FAILFAST_TRANSPORT;
	leg = &m->legs[io->leg];
	metro_read_age_del(m, io);
	if (!*error && io->read_start)
		metro_read_sample(leg, io->read_start, io->read_probe);
	atomic_dec(&leg->reads_inflight);
	if (!metro_read_retry(bio, *error))
		return DM_ENDIO_DONE;
	bio->bi_bdev = io->saved_bdev;
	bio->bi_flags = io->saved_flags;
	bio->bi_iter = io->saved_iter;
	bio->bi_status = BLK_STS_OK;
	io->status = *error;
	metro_defer_bio(m, bio, &m->failed);
	return DM_ENDIO_INCOMPLETE;
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
	if (!(m->read_bounce & BIT(i)) || io->shared)
		return metro_remap_read(m, bio, io, i);
	metro_send_read(m, bio, io, i, false);
	return DM_MAPIO_SUBMITTED;
}

/* An empty flush goes to every live leg (num_flush_bios is 1). */
static int metro_map_flush(struct metro_c *m, struct bio *bio,
			   struct metro_io *io)
{
	unsigned long mask = metro_alive_mask(m);

	io->kind = METRO_IO_FLUSH;
	if (!mask) {
		bio_io_error(bio);
		return DM_MAPIO_SUBMITTED;
	}
	metro_fan_out(m, bio, io, mask);
	return DM_MAPIO_SUBMITTED;
}

/*
 * Under the I/O deadline, clones own their data (see metro_clone_bio()):
 * keep a read within METRO_BOUNCE_MAX_PAGES segments (a bounce page each)
 * and a write within one bio_vec table.  A bio too long for that which
 * cannot be cut at a page boundary (only tiny segments do that) borrows the
 * original's pages, and is then waited for even on a stalled leg.  So do
 * all reads when no leg's reads are bounced (read_mode), and those sent to
 * a leg whose reads are not (metro_map_read(), metro_clone_bio()).
 */
static void metro_limit_owned(struct metro_c *m, struct bio *bio,
			      struct metro_io *io)
{
	unsigned int nr = 0, bytes = 0;
	struct bvec_iter iter;
	struct bio_vec bv;

	io->shared = false;
	if (!m->io_deadline || !bio_has_data(bio))
		return;
	if (bio_data_dir(bio) == READ && !m->read_bounce) {
		io->shared = true;
		return;
	}
	if (bio_data_dir(bio) == READ) {
		bio_for_each_segment(bv, bio, iter) {
			if (++nr > BIO_MAX_VECS)
				break;
			bytes += bv.bv_len;
		}
	} else {
		bio_for_each_bvec(bv, bio, iter) {
			if (++nr > BIO_MAX_VECS)
				break;
			bytes += bv.bv_len;
		}
	}
	if (nr <= BIO_MAX_VECS)
		return;
	/* Any logical block size divides a page. */
	bytes = round_down(bytes, PAGE_SIZE);
	if (bytes)
		dm_accept_partial_bio(bio, bytes >> SECTOR_SHIFT);
	else
		io->shared = true;
}

static int metro_map_bio(struct metro_c *m, struct bio *bio, struct metro_io *io)
{
	if (unlikely(bio->bi_opf & REQ_PREFLUSH))
		return metro_map_flush(m, bio, io);
	if (bio_data_dir(bio) == READ)
		return metro_map_read(m, bio, io);
	return metro_map_write(m, bio, io);
}

int metro_map(struct dm_target *ti, struct bio *bio)
{
	struct metro_c *m = ti->private;
	struct metro_io *io = metro_io(bio);

	/* One store per jiffy at most: the resync yields while this moves. */
	if (time_after(jiffies, READ_ONCE(m->last_app_io)))
		WRITE_ONCE(m->last_app_io, jiffies);

	io->m = m;
	io->inflight = false;
	io->wide = false;
	io->remapped = false;
	metro_limit_owned(m, bio, io);

	if (metro_cluster_hold(m, bio))
		return DM_MAPIO_SUBMITTED;
	return metro_map_bio(m, bio, io);
}

/*
 * A bio the cluster mode held in map (metro_cluster_hold()) goes on now;
 * process context.  It was cut to size in map already.
 */
void metro_map_held(struct metro_c *m, struct bio *bio)
{
	if (metro_map_bio(m, bio, metro_io(bio)) == DM_MAPIO_REMAPPED)
		dm_submit_bio_remap(bio, NULL);
}
EXPORT_SYMBOL_GPL(metro_map_held);

/* Retry a failed read on the other leg, or fail it.  Worker context. */
