// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-metro: background resync.
 *
 * Out-of-sync regions are copied from the source leg to the other one, up
 * to METRO_RESYNC_SLOTS regions at a time, each one chunk
 * (METRO_COPY_CHUNK_SECTORS, or METRO_YIELD_CHUNK_SECTORS while the
 * application is busy) after the other.  A chunk copy is a work item
 * on an unbound workqueue that reads the chunk into its slot's buffer and
 * writes it out, so that copies run on every CPU: on legs whose submission
 * does the work (a ramdisk copies in submit_bio) one thread would be the
 * limit.  The buffers are allocated when a resync needs them and kept
 * while copying can go on: fresh pages for every chunk, as kcopyd takes
 * them, are cleared by the page allocator first (init_on_alloc), which
 * costs as much as the copy.
 *
 * Each read and write of a copy is waited for at most the I/O deadline.
 * One that does not come back in time is abandoned and takes the chunk
 * buffer with it (its completion frees it, see metro-pool.h); a late
 * write detaches the target leg, a late read pauses the resync like a
 * read error.  So stopping the resync never waits for a stalled leg for
 * longer than the deadline.
 *
 * Copies and writes meet at the range gate (metro-gate.h): a region taken
 * for copying is claimed first; from then on every new write into it goes
 * through metro_resync_admit() under copy_lock, and a chunk copy only
 * starts once the writes in flight in the region's bucket have drained.
 * While a chunk is in flight, writes that do not touch it are admitted
 * (and counted in the bucket, so that the next chunk waits for them);
 * writes into the chunk are parked until it is copied.  Between two
 * chunks, every write into the region is parked until the bucket drains.
 * So a write waits for one chunk copy at most, not for the whole region.
 * A write completing in a bucket with a pending copy kicks the engine; a
 * slow timer covers buckets shared with other regions.
 *
 * The online verify (the "check" and "repair" messages) runs through the
 * same engine, in slot 0, once nothing is out of sync: see "Online
 * verify" below.
 */
#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <linux/overflow.h>
#include <linux/slab.h>

#include "metro-cluster.h"
#include "metro-io.h"
#include "metro-md.h"
#include "metro-resync.h"

/* Retry period for copies waiting on a busy bucket. */
#define METRO_RESYNC_RETRY	(HZ / 20)

/*
 * A bucket may stay busy because of another region that hashes to it; the
 * writes parked behind the copy must not wait for that.  A copy that could
 * not start for this long gives its region back, to be tried again later.
 */
#define METRO_COPY_MAX_WAIT	HZ

/*
 * Without a resync_rate, the resync yields to the application: while bios
 * arrived within this period, only one region is copied at a time, in
 * chunks of METRO_YIELD_CHUNK_SECTORS, and the next region is taken only
 * METRO_RESYNC_YIELD_GAP after the last one was done.  Fewer, shorter
 * copies keep the application's tail latency within about twice its own
 * (the gap lets the writes that queued behind a copy drain), at the cost
 * of a slower resync while the application runs.
 */
#define METRO_RESYNC_YIELD	(HZ / 10)
#define METRO_RESYNC_YIELD_GAP	msecs_to_jiffies(8)

/* How often a running check records its position in the superblocks. */
#define METRO_CHECK_SAVE_PERIOD	(30 * HZ)

/* Have the worker record the check's state in the superblocks. */
static void metro_check_save(struct metro_c *m)
{
	set_bit(METRO_WORK_CHECK_SAVE, &m->work_flags);
	metro_wake_worker(m);
}

static const char *metro_check_word(struct metro_check *ck)
{
	return ck->repair ? "repair" : "check";
}

void metro_resync_kick(struct metro_c *m)
{
	mod_delayed_work(m->wq, &m->resync_work, 0);
}
EXPORT_SYMBOL_GPL(metro_resync_kick);

/* Chunks of the region of copy @c (the last region may be short). */
static unsigned int metro_region_chunks(struct metro_c *m, struct metro_copy *c)
{
	sector_t start = (sector_t)c->region << m->region_shift;
	sector_t len = min_t(sector_t, m->region_sectors, m->data_size - start);

	return DIV_ROUND_UP_SECTOR_T(len, c->chunk_sectors);
}

/* Volume sector where chunk @c->chunk of @c->region starts. */
static sector_t metro_chunk_start(struct metro_c *m, struct metro_copy *c)
{
	return ((sector_t)c->region << m->region_shift) +
	       (sector_t)c->chunk * c->chunk_sectors;
}

/*
 * May a write of @bio into region @r go ahead while @r is being copied?
 * Only while a chunk copy is in flight and the write does not touch that
 * chunk.
 */
static bool metro_copy_admits(struct metro_c *m, unsigned long r, struct bio *bio)
{
	sector_t start = dm_target_offset(m->ti, bio->bi_iter.bi_sector);
	sector_t end = start + bio_sectors(bio);
	unsigned int i;

	lockdep_assert_held(&m->copy_lock);
	for (i = 0; i < METRO_RESYNC_SLOTS; i++) {
		struct metro_copy *c = &m->slots[i];
		sector_t cs;

		if (!c->used || c->region != r)
			continue;
		if (!c->started)
			return false;
		cs = metro_chunk_start(m, c);
		return end <= cs || start >= cs + c->chunk_sectors;
	}
	/* A region is claimed exactly while a slot holds it. */
	WARN_ON_ONCE(1);
	return false;
}

enum metro_admit metro_resync_admit(struct metro_c *m, struct bio *bio,
				    unsigned long first, unsigned long last,
				    atomic_t *count)
{
	enum metro_admit ret;
	unsigned long flags;

	spin_lock_irqsave(&m->copy_lock, flags);
	if (!metro_gate_claimed(&m->gate, first, last)) {
		ret = METRO_ADMIT_RETRY;
	} else if (count && first == last && metro_copy_admits(m, first, bio)) {
		/* Under copy_lock: the next chunk cannot start without seeing it. */
		atomic_inc(count);
		ret = METRO_ADMIT_GO;
	} else {
		bio_list_add(&m->copy_waiters, bio);
		ret = METRO_ADMIT_PARKED;
	}
	spin_unlock_irqrestore(&m->copy_lock, flags);
	return ret;
}

/*
 * Slot @c is done with region @r: the region goes back to the gate, the
 * next region waits METRO_RESYNC_YIELD_GAP, and the writes parked behind
 * copies move to @waiters (for metro_copy_end()).
 */
static void metro_slot_release(struct metro_c *m, struct metro_copy *c,
			       unsigned long r, struct bio_list *waiters)
{
	lockdep_assert_held(&m->copy_lock);
	metro_gate_release(&m->gate, r);
	c->used = false;
	m->yield_next = jiffies + METRO_RESYNC_YIELD_GAP;
	bio_list_merge(waiters, &m->copy_waiters);
	bio_list_init(&m->copy_waiters);
}

/*
 * The end of a chunk copy or compare, once its slot is updated: the
 * writes parked behind it (@waiters) retry, and the copy stops counting.
 */
static void metro_copy_end(struct metro_c *m, struct bio_list *waiters)
{
	unsigned long flags;

	/* Parked writes retry; those still blocked by another copy re-park. */
	metro_defer_bios(m, waiters);
	metro_resync_kick(m);

	/*
	 * Last touch of @m: metro_resync_stop() may free it once it sees
	 * the count drop, so drop it under the lock it takes afterwards.
	 */
	spin_lock_irqsave(&m->copy_lock, flags);
	atomic_dec(&m->copies_inflight);
	wake_up(&m->copy_wait);
	spin_unlock_irqrestore(&m->copy_lock, flags);
}

/*
 * A chunk copy ended: @read and @write are 0, -EIO, or -ETIMEDOUT when the
 * I/O did not complete within the deadline and was abandoned.
 */
static void metro_copy_done(struct metro_copy *c, int read, int write)
{
	struct metro_c *m = c->m;
	unsigned long r = c->region;
	unsigned int dst = c->src ^ 1;
	struct bio_list waiters;
	unsigned long flags;
	/* Nothing else changes @c->chunk while the chunk is in flight. */
	bool more = !read && !write && c->chunk + 1 < metro_region_chunks(m, c);

	if (read) {
		if (read == -ETIMEDOUT)
			DMERR_LIMIT("%s: resync read of region %lu from leg %c (%s) did not complete within %u ms; resync paused: check the leg, then send \"resume_resync\"",
				    metro_name(m), r, metro_leg_letter(c->src),
				    m->legs[c->src].dev->name, m->io_deadline);
		else
			DMERR_LIMIT("%s: resync cannot read region %lu from leg %c; resync paused: check the leg, then send \"resume_resync\"",
				    metro_name(m), r, metro_leg_letter(c->src));
		spin_lock_irqsave(&m->copy_lock, flags);
		m->resync_error = true;
		spin_unlock_irqrestore(&m->copy_lock, flags);
	} else if (write) {
		/* The worker detaches the leg the copy could not write. */
		set_bit((write == -ETIMEDOUT ? METRO_WORK_STALLED : METRO_WORK_FAIL_LEG) + dst,
			&m->work_flags);
		metro_wake_worker(m);
	} else if (!more && test_and_clear_bit(r, m->out_of_sync)) {
		if (atomic_dec_and_test(&m->nr_out_of_sync)) {
			set_bit(METRO_WORK_SYNC_DONE, &m->work_flags);
			metro_wake_worker(m);
		}
	}

	bio_list_init(&waiters);
	spin_lock_irqsave(&m->copy_lock, flags);
	c->started = false;
	if (more && m->resync_running) {
		/* The next chunk, once the writes admitted meanwhile drain. */
		c->chunk++;
		c->since = jiffies;
	} else {
		metro_slot_release(m, c, r, &waiters);
	}
	spin_unlock_irqrestore(&m->copy_lock, flags);
	metro_copy_end(m, &waiters);
}

/*
 * Give back the regions whose copy has not started, and take the writes
 * parked behind copies.  Writes behind a copy still in flight simply park
 * again.
 */
static void metro_release_unstarted(struct metro_c *m, struct bio_list *waiters)
{
	unsigned int i;

	lockdep_assert_held(&m->copy_lock);
	for (i = 0; i < METRO_RESYNC_SLOTS; i++) {
		struct metro_copy *c = &m->slots[i];

		if (c->used && !c->started) {
			metro_gate_release(&m->gate, c->region);
			c->used = false;
		}
	}
	bio_list_merge(waiters, &m->copy_waiters);
	bio_list_init(&m->copy_waiters);
}

/* Next out-of-sync region not already being copied. */
static unsigned long metro_next_region(struct metro_c *m)
{
	unsigned long r = m->resync_cursor;
	bool wrapped = false;

	lockdep_assert_held(&m->copy_lock);
	for (;;) {
		r = find_next_bit(m->out_of_sync, m->nr_regions, r);
		if (r >= m->nr_regions) {
			if (wrapped)
				return m->nr_regions;
			wrapped = true;
			r = 0;
			continue;
		}
		if (!metro_gate_claimed(&m->gate, r, r))
			break;
		r++;
	}
	m->resync_cursor = r + 1;
	return r;
}

/* Charge a copy of @sectors to the rate limit. */
static void metro_resync_charge(struct metro_c *m, sector_t sectors)
{
	u64 j;

	lockdep_assert_held(&m->copy_lock);
	if (!m->resync_rate)
		return;
	j = div_u64((u64)sectors * HZ, (u64)m->resync_rate * 2);
	if (time_before(m->resync_next, jiffies))
		m->resync_next = jiffies;
	m->resync_next += (unsigned long)j;
}

/*
 * May chunks be copied: resync started and neither paused nor stopped by
 * a read error, and both legs alive?  In cluster mode not while another
 * node copies: it copies this node's regions too (it read every slot),
 * and two engines would take the same regions from each other.
 */
static bool metro_copy_allowed(struct metro_c *m)
{
	lockdep_assert_held(&m->copy_lock);
	return m->resync_running && !m->resync_paused && !m->resync_error &&
	       metro_nr_alive(m) == METRO_NR_LEGS && !READ_ONCE(m->read_source_only);
}

/* Is a check due: running, allowed to copy, and nothing out of sync? */
static bool metro_check_due(struct metro_c *m)
{
	lockdep_assert_held(&m->copy_lock);
	return m->check.state == METRO_CHECK_RUNNING && metro_copy_allowed(m) &&
	       !atomic_read(&m->nr_out_of_sync);
}

/*
 * A check cannot go on without both legs: it ends, and says where, so
 * that it can be started again from there once the leg is back.
 */
static void metro_check_end_degraded(struct metro_c *m)
{
	struct metro_check *ck = &m->check;
	unsigned int i;

	lockdep_assert_held(&m->copy_lock);
	if (ck->state != METRO_CHECK_RUNNING || metro_nr_alive(m) == METRO_NR_LEGS)
		return;
	ck->state = METRO_CHECK_FAILED;
	i = metro_leg_alive(&m->legs[0]) ? 1 : 0;
	DMERR("%s: %s stopped at region %lu of %lu: leg %c failed; %lu mismatching region%s found before. Once the leg is restored and resynced, start the check again from that region",
	      metro_name(m), metro_check_word(ck), ck->pos, m->nr_regions,
	      metro_leg_letter(i), ck->mismatches, ck->mismatches == 1 ? "" : "s");
	metro_check_save(m);
}

/* Who ends a chunk copy's I/O: the copy, or its completion (abandoned). */
enum {
	METRO_COPY_PENDING,
	METRO_COPY_DONE,
	METRO_COPY_ABANDONED,
};

/*
 * A chunk buffer, and the I/O of the copy using it.  A slot keeps its
 * buffer from chunk to chunk (struct metro_copy); an I/O abandoned on the
 * deadline takes it over, and its completion frees it.  @state decides,
 * with cmpxchg, which of the two ends the I/O; @leg, @kind, @error and
 * @done are the I/O's, set by the copy before it is issued.
 */
struct metro_copy_buf {
	struct metro_pool *pool;
	atomic_t state;
	unsigned int leg;
	unsigned int kind;		/* METRO_LATE_*, if abandoned */
	unsigned long error;
	struct completion done;
	unsigned int nr;
	struct page_list pl[];		/* @nr pages, chained */
};

static void metro_copy_buf_free(struct metro_copy_buf *buf)
{
	unsigned int i;

	if (!buf)
		return;
	for (i = 0; i < buf->nr; i++)
		if (buf->pl[i].page)
			__free_page(buf->pl[i].page);
	kfree(buf);
}

/* A chunk buffer of the volume's chunk size; NULL without memory. */
static struct metro_copy_buf *metro_copy_buf_alloc(struct metro_c *m, gfp_t gfp)
{
	unsigned int i, n = m->chunk_sectors >> (PAGE_SHIFT - SECTOR_SHIFT);
	struct metro_copy_buf *buf;

	buf = kzalloc(struct_size(buf, pl, n), gfp);
	if (!buf)
		return NULL;
	buf->pool = m->pool;
	buf->nr = n;
	init_completion(&buf->done);
	for (i = 0; i < n; i++) {
		buf->pl[i].page = alloc_page(gfp);
		if (!buf->pl[i].page) {
			metro_copy_buf_free(buf);
			return NULL;
		}
		buf->pl[i].next = i + 1 < n ? &buf->pl[i + 1] : NULL;
	}
	return buf;
}

static void metro_copy_notify(unsigned long error, void *context)
{
	struct metro_copy_buf *buf = context;
	struct metro_pool *pool = buf->pool;
	unsigned int leg = buf->leg, kind = buf->kind;

	buf->error = error;
	if (atomic_cmpxchg(&buf->state, METRO_COPY_PENDING, METRO_COPY_DONE) ==
	    METRO_COPY_PENDING) {
		/* The copy may reuse or free @buf as soon as this returns. */
		complete(&buf->done);
		return;
	}
	/* Abandoned: the buffer is ours to free. */
	metro_copy_buf_free(buf);
	metro_pool_late_put(pool, leg, kind);
}

/*
 * Read or write (@opf) the chunk at @where of leg @leg through the slot's
 * buffer *@bufp, waiting at most the I/O deadline; @what names the I/O in
 * the log.  0, -EIO, or -ETIMEDOUT: the I/O was abandoned and took the
 * buffer with it (*@bufp is NULL then).
 */
static int metro_copy_io(struct metro_c *m, struct metro_copy_buf **bufp,
			 blk_opf_t opf, unsigned int leg,
			 struct dm_io_region *where, const char *what)
{
	struct metro_copy_buf *buf = *bufp;
	struct dm_io_request req = {
		.bi_opf = opf,
		.mem.type = DM_IO_PAGE_LIST,
		.mem.ptr.pl = buf->pl,
		.notify.fn = metro_copy_notify,
		.notify.context = buf,
		.client = m->pool->copy_io,
	};
	unsigned long start = jiffies;
	bool write = op_is_write(opf);

	where->bdev = m->legs[leg].dev->bdev;
	buf->leg = leg;
	buf->kind = write ? METRO_LATE_WRITE : 0;
	buf->error = 0;
	reinit_completion(&buf->done);
	atomic_set(&buf->state, METRO_COPY_PENDING);
	if (metro_dm_io(&req, 1, where, NULL))
		return -EIO;
	if (metro_wait_io(m, &buf->done, start, leg, what))
		return buf->error ? -EIO : 0;
	/* Counted before it may complete and be counted back. */
	metro_pool_late_get(m->pool, leg, buf->kind);
	if (atomic_cmpxchg(&buf->state, METRO_COPY_PENDING, METRO_COPY_ABANDONED) ==
	    METRO_COPY_PENDING) {
		*bufp = NULL;
		return -ETIMEDOUT;
	}
	/* It completed just now. */
	metro_pool_late_put(m->pool, leg, buf->kind);
	wait_for_completion_io(&buf->done);
	return buf->error ? -EIO : 0;
}

static void metro_check_work(struct metro_copy *c, struct dm_io_region *where);

/* One chunk copy: read it from the source leg, write it to the other. */
void metro_copy_work(struct work_struct *ws)
{
	struct metro_copy *c = container_of(ws, struct metro_copy, work);
	struct metro_c *m = c->m;
	sector_t start = metro_chunk_start(m, c);
	struct dm_io_region where = {
		.sector = m->data_offset + start,
		.count = min_t(sector_t, c->chunk_sectors, m->data_size - start),
	};
	int read, write = 0;

	if (c->check) {
		metro_check_work(c, &where);
		return;
	}
	read = metro_copy_io(m, &c->buf, REQ_OP_READ, c->src, &where,
			     "a resync read");
	if (!read)
		write = metro_copy_io(m, &c->buf, REQ_OP_WRITE, c->src ^ 1, &where,
				      "a resync write");
	metro_copy_done(c, read, write);
}

/*
 * Online verify.  Slot 0 compares the legs region by region, from
 * check.pos on, once nothing is out of sync (a resync comes first): it
 * claims the region at the gate exactly as a copy does and reads each
 * chunk from both legs, leg A into its buffer and leg B into @cmp, so
 * that no application write lands between the two reads.  A region that
 * differs is counted once; a repair then writes the chunk read from the
 * leg named (check.from) over the other leg's, still under the gate, and
 * goes on with the region's next chunks.  Only the first error ends the
 * check: a read error or timeout stops it (the leg is not detached for
 * that: the application's own I/O decides), a repair write error stops it
 * and detaches the leg, as a resync write error does.
 */

/* Do the @sectors of chunk buffers @a and @b differ? */
static bool metro_chunk_differ(struct metro_copy_buf *a, struct metro_copy_buf *b,
			       sector_t sectors)
{
	size_t left = (size_t)sectors << SECTOR_SHIFT;
	unsigned int i;
	bool differ = false;

	for (i = 0; i < a->nr && left && !differ; i++) {
		size_t n = min_t(size_t, left, PAGE_SIZE);
		void *pa = kmap_local_page(a->pl[i].page);
		void *pb = kmap_local_page(b->pl[i].page);

		differ = memcmp(pa, pb, n);
		kunmap_local(pb);
		kunmap_local(pa);
		left -= n;
	}
	return differ;
}

/*
 * A chunk compare ended: @err is 0, -EIO or -ETIMEDOUT, of a read of leg
 * @leg, or of the repair write to it (@write); @differ: the legs differ.
 */
static void metro_check_done(struct metro_copy *c, int err, unsigned int leg,
			     bool write, bool differ)
{
	struct metro_c *m = c->m;
	struct metro_check *ck = &m->check;
	unsigned long r = c->region;
	struct bio_list waiters;
	unsigned long flags, found;
	bool more = !err && c->chunk + 1 < metro_region_chunks(m, c);
	bool counted = false, failed = false, done = false, save, yield;
	const char *what;

	if (err && write) {
		/* The worker detaches the leg the repair could not write. */
		set_bit((err == -ETIMEDOUT ? METRO_WORK_STALLED : METRO_WORK_FAIL_LEG) + leg,
			&m->work_flags);
		metro_wake_worker(m);
	}

	bio_list_init(&waiters);
	spin_lock_irqsave(&m->copy_lock, flags);
	what = metro_check_word(ck);
	if (differ && !ck->pos_counted) {
		ck->pos_counted = true;
		ck->mismatches++;
		if (ck->nr_list < METRO_CHECK_LIST)
			ck->list[ck->nr_list++] = r;
		counted = true;
	}
	found = ck->mismatches;
	if (err && ck->state == METRO_CHECK_RUNNING) {
		ck->state = METRO_CHECK_FAILED;
		failed = true;
	} else if (!err && !more) {
		/* Every chunk of the region compared (and repaired). */
		ck->pos = r + 1;
		ck->off = 0;
		ck->pos_counted = false;
		if (ck->pos >= m->nr_regions && ck->state == METRO_CHECK_RUNNING) {
			ck->state = METRO_CHECK_DONE;
			done = true;
		}
	}
	/* The superblocks say where to go on, and when it ended. */
	save = failed || done ||
	       (ck->state == METRO_CHECK_RUNNING &&
		time_after(jiffies, ck->saved + METRO_CHECK_SAVE_PERIOD));
	if (save)
		ck->saved = jiffies;
	/*
	 * A busy application gets the region back after every chunk, and the
	 * next chunk comes METRO_RESYNC_YIELD_GAP later: a check is worth
	 * less to it than a resync (md checks at its minimum speed then).
	 */
	yield = more && !m->resync_rate &&
		time_before(jiffies, READ_ONCE(m->last_app_io) + METRO_RESYNC_YIELD);
	if (more && (yield || ck->state != METRO_CHECK_RUNNING || !m->resync_running))
		ck->off = (sector_t)(c->chunk + 1) * c->chunk_sectors;
	c->started = false;
	if (more && !yield && m->resync_running && ck->state == METRO_CHECK_RUNNING) {
		c->chunk++;
		c->since = jiffies;
	} else {
		metro_slot_release(m, c, r, &waiters);
	}
	spin_unlock_irqrestore(&m->copy_lock, flags);

	if (counted && c->src < METRO_NR_LEGS)
		DMWARN_LIMIT("%s: repair: region %lu (volume sectors %llu..%llu) differs between leg A and leg B; leg %c gets it from leg %c",
			     metro_name(m), r, (unsigned long long)r << m->region_shift,
			     ((unsigned long long)(r + 1) << m->region_shift) - 1,
			     metro_leg_letter(c->src ^ 1), metro_leg_letter(c->src));
	else if (counted)
		DMWARN_LIMIT("%s: check: region %lu (volume sectors %llu..%llu) differs between leg A and leg B",
			     metro_name(m), r, (unsigned long long)r << m->region_shift,
			     ((unsigned long long)(r + 1) << m->region_shift) - 1);
	if (failed && write)
		DMERR("%s: %s stopped at region %lu: cannot write leg %c (%s)%s; the leg is detached: replace it, then \"metroctl restore\" it",
		      metro_name(m), what, r, metro_leg_letter(leg),
		      m->legs[leg].dev->name,
		      err == -ETIMEDOUT ? " within the I/O deadline" : "");
	else if (failed)
		DMERR("%s: %s stopped at region %lu: cannot read leg %c (%s)%s; check the leg, then start the check again from that region",
		      metro_name(m), what, r, metro_leg_letter(leg),
		      m->legs[leg].dev->name,
		      err == -ETIMEDOUT ? " within the I/O deadline" : "");
	if (done && c->src < METRO_NR_LEGS)
		DMINFO("%s: repair complete: %lu region%s differed between the legs; leg %c got them from leg %c",
		       metro_name(m), found, found == 1 ? "" : "s",
		       metro_leg_letter(c->src ^ 1), metro_leg_letter(c->src));
	else if (done)
		DMINFO("%s: check complete: %lu region%s differ between the legs",
		       metro_name(m), found, found == 1 ? "" : "s");
	if (save)
		metro_check_save(m);
	metro_copy_end(m, &waiters);
}

/* One chunk compare of slot 0: both legs read, compared, maybe repaired. */
static void metro_check_work(struct metro_copy *c, struct dm_io_region *where)
{
	struct metro_c *m = c->m;
	struct metro_copy_buf **bufs[METRO_NR_LEGS] = { &c->buf, &c->cmp };
	unsigned int leg, from = c->src;
	bool differ = false, write = false;
	int err = 0;

	for (leg = 0; leg < METRO_NR_LEGS; leg++) {
		err = metro_copy_io(m, bufs[leg], REQ_OP_READ, leg, where,
				    "a verify read");
		if (err)
			break;
	}
	if (!err) {
		differ = metro_chunk_differ(c->buf, c->cmp, where->count);
		/* c->src is METRO_NR_LEGS for a check that only compares. */
		if (differ && from < METRO_NR_LEGS) {
			leg = from ^ 1;
			write = true;
			err = metro_copy_io(m, bufs[from], REQ_OP_WRITE, leg, where,
					    "a repair write");
		}
	}
	metro_check_done(c, err, leg, write, differ);
}

/*
 * Buffers for the slots that are free, while regions are left to copy
 * (or a check to do: slot 0 alone, with its second buffer) and copying
 * may go on; the free slots' buffers back to the allocator once not
 * (done, paused, stopped, or a leg missing).  Only the engine calls this
 * (it is not reentrant) and only it makes a slot @used, so the free slots
 * stay free meanwhile.  It runs on the ordered workqueue that also marks
 * the bitmap for writes, so it does not wait for memory: the engine tries
 * again later.  True when copying could go on but no slot has a buffer
 * (or a check's slot 0 lacks one of its two).
 */
static bool metro_copy_bufs_starved(struct metro_c *m)
{
	struct metro_copy *c0 = &m->slots[0];
	unsigned long used = 0;
	unsigned int i, have = 0;
	bool want, check, resync;

	spin_lock_irq(&m->copy_lock);
	check = metro_check_due(m);
	resync = atomic_read(&m->nr_out_of_sync);
	want = metro_copy_allowed(m) && (resync || check);
	for (i = 0; i < METRO_RESYNC_SLOTS; i++)
		if (m->slots[i].used)
			used |= BIT(i);
	spin_unlock_irq(&m->copy_lock);

	/* A check compares in slot 0, with a second buffer. */
	if (!(used & BIT(0))) {
		if (!check) {
			metro_copy_buf_free(c0->cmp);
			c0->cmp = NULL;
		} else if (!c0->cmp) {
			c0->cmp = metro_copy_buf_alloc(m, GFP_NOIO | __GFP_NORETRY |
						       __GFP_NOWARN);
		}
	}

	for (i = 0; i < METRO_RESYNC_SLOTS; i++) {
		struct metro_copy *c = &m->slots[i];

		if (used & BIT(i)) {
			have++;
		} else if (!want || (i && !resync)) {
			/* A check needs slot 0 only. */
			metro_copy_buf_free(c->buf);
			c->buf = NULL;
		} else {
			if (!c->buf)
				c->buf = metro_copy_buf_alloc(m, GFP_NOIO | __GFP_NORETRY |
							      __GFP_NOWARN);
			have += !!c->buf;
		}
	}
	if (check && !(used & BIT(0)) && (!c0->buf || !c0->cmp))
		return true;
	return want && !have;
}

void metro_resync_free(struct metro_c *m)
{
	unsigned int i;

	for (i = 0; i < METRO_RESYNC_SLOTS; i++) {
		metro_copy_buf_free(m->slots[i].buf);
		m->slots[i].buf = NULL;
		metro_copy_buf_free(m->slots[i].cmp);
		m->slots[i].cmp = NULL;
	}
}

void metro_resync_work(struct work_struct *ws)
{
	struct metro_c *m = container_of(to_delayed_work(ws), struct metro_c,
					 resync_work);
	struct metro_copy *start[METRO_RESYNC_SLOTS];
	struct bio_list waiters;
	unsigned long delay = 0;
	unsigned int i, n = 0, src, used = 0, max_used = METRO_RESYNC_SLOTS;
	bool busy = false;

	bio_list_init(&waiters);
	if (metro_copy_bufs_starved(m)) {
		DMERR_LIMIT("%s: no memory for a resync buffer; trying again in a second",
			    metro_name(m));
		delay = HZ;
	}
	spin_lock_irq(&m->copy_lock);
	src = READ_ONCE(m->source);
	if (!metro_copy_allowed(m)) {
		metro_check_end_degraded(m);
		/* Writes must not wait for copies that will not start. */
		metro_release_unstarted(m, &waiters);
		goto out;
	}

	if (!m->resync_rate &&
	    time_before(jiffies, READ_ONCE(m->last_app_io) + METRO_RESYNC_YIELD)) {
		busy = true;
		max_used = 1;
		/* Look again once the application may have gone quiet. */
		delay = METRO_RESYNC_YIELD;
	}
	for (i = 0; i < METRO_RESYNC_SLOTS; i++)
		used += m->slots[i].used;

	for (i = 0; i < METRO_RESYNC_SLOTS; i++) {
		struct metro_copy *c = &m->slots[i];

		if (!c->used) {
			/* A resync first; a check (slot 0 only) once done. */
			bool check = !atomic_read(&m->nr_out_of_sync);

			if (used >= max_used || !c->buf)
				continue;
			if (check && (i || !c->cmp || !metro_check_due(m) ||
				      metro_gate_claimed(&m->gate, m->check.pos,
							 m->check.pos)))
				continue;
			if (m->resync_rate && time_before(jiffies, m->resync_next)) {
				delay = m->resync_next - jiffies;
				continue;
			}
			if (busy && time_before(jiffies, m->yield_next)) {
				delay = m->yield_next - jiffies;
				continue;
			}
			if (check) {
				c->region = m->check.pos;
			} else {
				c->region = metro_next_region(m);
				if (c->region >= m->nr_regions)
					continue;
			}
			c->check = check;
			c->used = true;
			used++;
			c->started = false;
			c->chunk = 0;
			c->chunk_sectors = m->chunk_sectors;
			if (busy || (check && m->check.off))
				c->chunk_sectors = min_t(sector_t, c->chunk_sectors,
							 METRO_YIELD_CHUNK_SECTORS);
			/* A check goes on inside a region it yielded. */
			if (check)
				c->chunk = div64_u64(m->check.off, c->chunk_sectors);
			c->since = jiffies;
			c->src = src;
			/* A check that only compares copies from no leg. */
			if (check)
				c->src = m->check.repair ? m->check.from : METRO_NR_LEGS;
			metro_gate_claim(&m->gate, c->region);
			metro_resync_charge(m, m->region_sectors);
		}
		if (c->started)
			continue;
		/*
		 * A check stopped between two chunks gives its region back;
		 * cluster mode: a region is copied only by the node owning it.
		 */
		if ((c->check && m->check.state != METRO_CHECK_RUNNING) ||
		    !metro_cluster_copy_owns(m, c->region)) {
			metro_gate_release(&m->gate, c->region);
			c->used = false;
			used--;
			bio_list_merge(&waiters, &m->copy_waiters);
			bio_list_init(&m->copy_waiters);
			continue;
		}
		if (metro_gate_busy(&m->gate, c->region)) {
			delay = METRO_RESYNC_RETRY;
			if (time_after(jiffies, c->since + METRO_COPY_MAX_WAIT)) {
				metro_gate_release(&m->gate, c->region);
				c->used = false;
				bio_list_merge(&waiters, &m->copy_waiters);
				bio_list_init(&m->copy_waiters);
			}
			continue;
		}
		c->started = true;
		atomic_inc(&m->copies_inflight);
		start[n++] = c;
	}
	/* Writes parked between chunks may now pass, unless in the new chunk. */
	if (n) {
		bio_list_merge(&waiters, &m->copy_waiters);
		bio_list_init(&m->copy_waiters);
	}
out:
	spin_unlock_irq(&m->copy_lock);

	metro_defer_bios(m, &waiters);
	for (i = 0; i < n; i++)
		queue_work(m->copy_wq, &start[i]->work);
	if (delay)
		queue_delayed_work(m->wq, &m->resync_work, delay);
}

/* Restart the ETA measurement. */
static void metro_eta_reset(struct metro_c *m)
{
	lockdep_assert_held(&m->copy_lock);
	WRITE_ONCE(m->eta_since, jiffies);
	WRITE_ONCE(m->eta_base, atomic_read(&m->nr_out_of_sync));
}

long long metro_resync_eta(struct metro_c *m)
{
	int left = atomic_read(&m->nr_out_of_sync);
	int done = READ_ONCE(m->eta_base) - left;
	unsigned long elapsed = jiffies - READ_ONCE(m->eta_since);

	if (!left)
		return 0;
	if (done <= 0 || !elapsed || metro_nr_alive(m) != METRO_NR_LEGS ||
	    READ_ONCE(m->resync_paused) || READ_ONCE(m->resync_error))
		return -1;
	return div64_u64((u64)left * elapsed, (u64)done * HZ);
}

void metro_resync_set_rate(struct metro_c *m, unsigned int rate)
{
	spin_lock_irq(&m->copy_lock);
	m->resync_rate = rate;
	m->resync_next = jiffies;
	metro_eta_reset(m);
	spin_unlock_irq(&m->copy_lock);
	metro_resync_kick(m);
}

void metro_resync_start(struct metro_c *m)
{
	spin_lock_irq(&m->copy_lock);
	m->resync_running = true;
	m->resync_next = jiffies;
	m->yield_next = jiffies;
	metro_eta_reset(m);
	spin_unlock_irq(&m->copy_lock);
	/* A stale leg with nothing left to copy is current already. */
	if (!atomic_read(&m->nr_out_of_sync)) {
		set_bit(METRO_WORK_SYNC_DONE, &m->work_flags);
		metro_wake_worker(m);
	}
	metro_resync_kick(m);
}

/* Give back the regions not being copied now; their writes go ahead. */
static void metro_resync_release(struct metro_c *m)
{
	struct bio_list waiters;

	bio_list_init(&waiters);
	spin_lock_irq(&m->copy_lock);
	metro_release_unstarted(m, &waiters);
	spin_unlock_irq(&m->copy_lock);
	metro_defer_bios(m, &waiters);
}

void metro_resync_stop(struct metro_c *m)
{
	int n;

	spin_lock_irq(&m->copy_lock);
	m->resync_running = false;
	spin_unlock_irq(&m->copy_lock);
	cancel_delayed_work_sync(&m->resync_work);
	metro_resync_release(m);

	/* Each copy waits for its I/O at most the deadline, then gives it up. */
	while (!wait_event_timeout(m->copy_wait, !atomic_read(&m->copies_inflight),
				   METRO_WAIT_LOG_PERIOD)) {
		n = atomic_read(&m->copies_inflight);
		if (m->io_deadline)
			DMWARN("%s: waiting for %d resync chunk copies to end", metro_name(m), n);
		else
			DMWARN("%s: waiting for %d resync chunk copies whose legs do not answer; without an io_deadline they are not given up",
			       metro_name(m), n);
	}
	/* Let the last completion leave copy_lock, and drop its kick. */
	spin_lock_irq(&m->copy_lock);
	spin_unlock_irq(&m->copy_lock);
	cancel_delayed_work_sync(&m->resync_work);
	/* Nothing may stay parked behind a region left between two chunks. */
	metro_resync_release(m);
}

void metro_resync_pause(struct metro_c *m, bool pause)
{
	spin_lock_irq(&m->copy_lock);
	m->resync_paused = pause;
	if (!pause) {
		m->resync_error = false;
		metro_eta_reset(m);
	}
	spin_unlock_irq(&m->copy_lock);
	/* Pausing too: the engine gives back copies that have not started. */
	metro_resync_kick(m);
}

int metro_check_start(struct metro_c *m, bool repair, unsigned int from,
		      unsigned long first)
{
	struct metro_check *ck = &m->check;
	const char *what = repair ? "repair" : "check";
	int r = 0;

	if (m->cluster_ops) {
		DMWARN("%s: %s: a clustered volume cannot be checked yet; stop it at every node but one, or compare the legs while it is stopped",
		       metro_name(m), what);
		return -EOPNOTSUPP;
	}
	if (first >= m->nr_regions) {
		DMWARN("%s: %s: region %lu is past the last region, %lu",
		       metro_name(m), what, first, m->nr_regions - 1);
		return -EINVAL;
	}
	spin_lock_irq(&m->copy_lock);
	if (metro_nr_alive(m) != METRO_NR_LEGS) {
		r = -ENODEV;
	} else if (ck->state == METRO_CHECK_RUNNING ||
		   (m->slots[0].used && m->slots[0].check)) {
		/* A stopped check's last chunk may still be in flight. */
		r = -EBUSY;
	} else {
		ck->state = METRO_CHECK_RUNNING;
		ck->repair = repair;
		ck->from = from;
		ck->pos = first;
		ck->off = 0;
		ck->pos_counted = false;
		ck->mismatches = 0;
		ck->nr_list = 0;
		ck->since = jiffies;
		ck->base = first;
		ck->saved = jiffies;
	}
	spin_unlock_irq(&m->copy_lock);
	if (r == -ENODEV)
		DMWARN("%s: %s: a leg is detached; restore it first", metro_name(m), what);
	else if (r == -EBUSY)
		DMWARN("%s: %s: a check is running or still ending; stop it with \"check_stop\", or try again",
		       metro_name(m), what);
	else if (repair)
		DMINFO("%s: repair started at region %lu of %lu: leg %c gets the regions that differ from leg %c",
		       metro_name(m), first, m->nr_regions,
		       metro_leg_letter(from ^ 1), metro_leg_letter(from));
	else
		DMINFO("%s: check started at region %lu of %lu", metro_name(m), first,
		       m->nr_regions);
	if (!r) {
		metro_check_save(m);
		metro_resync_kick(m);
	}
	return r;
}

int metro_check_stop(struct metro_c *m)
{
	struct metro_check *ck = &m->check;
	unsigned long pos, found;
	const char *what;
	bool running;

	spin_lock_irq(&m->copy_lock);
	running = ck->state == METRO_CHECK_RUNNING;
	if (running)
		ck->state = METRO_CHECK_STOPPED;
	pos = ck->pos;
	found = ck->mismatches;
	what = metro_check_word(ck);
	spin_unlock_irq(&m->copy_lock);
	if (!running) {
		DMWARN("%s: check_stop: no check is running", metro_name(m));
		return -EINVAL;
	}
	DMINFO("%s: %s stopped at region %lu of %lu on request: %lu mismatching region%s found",
	       metro_name(m), what, pos, m->nr_regions, found, found == 1 ? "" : "s");
	/* The engine gives back a region left between two chunks. */
	metro_resync_kick(m);
	metro_check_save(m);
	return 0;
}

void metro_check_record(struct metro_c *m, struct metro_sb_info *info)
{
	struct metro_check *ck = &m->check;

	info->check_flags = 0;
	info->check_pos = 0;
	spin_lock_irq(&m->copy_lock);
	if (ck->state == METRO_CHECK_RUNNING) {
		info->check_flags = METRO_SB_C_RUNNING;
		if (ck->repair)
			info->check_flags |= METRO_SB_C_REPAIR |
					     (ck->from ? METRO_SB_C_FROM_B : 0);
		info->check_pos = ck->pos;
	}
	spin_unlock_irq(&m->copy_lock);
}

void metro_check_resume(struct metro_c *m, const struct metro_sb_info *sb)
{
	struct metro_check *ck = &m->check;
	bool repair = sb->check_flags & METRO_SB_C_REPAIR;
	unsigned int from = sb->check_flags & METRO_SB_C_FROM_B ? 1 : 0;
	const char *what = repair ? "repair" : "check";
	int r = 0;

	if (!(sb->check_flags & METRO_SB_C_RUNNING))
		return;
	spin_lock_irq(&m->copy_lock);
	if (ck->state == METRO_CHECK_RUNNING) {
		/* The same table resumed: its check goes on as it was. */
		r = 1;
	} else if (m->cluster_ops || metro_nr_alive(m) != METRO_NR_LEGS) {
		r = -ENODEV;
	} else {
		ck->state = METRO_CHECK_RUNNING;
		ck->repair = repair;
		ck->from = from;
		ck->pos = sb->check_pos;
		ck->off = 0;
		ck->pos_counted = false;
		ck->mismatches = 0;
		ck->nr_list = 0;
		ck->since = jiffies;
		ck->base = ck->pos;
		ck->saved = jiffies;
	}
	spin_unlock_irq(&m->copy_lock);
	if (r == -ENODEV)
		DMWARN("%s: the %s recorded in the superblocks at region %llu is not resumed: %s; start it again from that region",
		       metro_name(m), what, (unsigned long long)sb->check_pos,
		       m->cluster_ops ? "the volume is clustered" : "a leg is missing");
	else if (!r)
		DMINFO("%s: %s resumes at region %llu of %lu, where the last table left it (the regions it found to differ before are in that table's kernel log)",
		       metro_name(m), what, (unsigned long long)sb->check_pos, m->nr_regions);
}

static const char * const metro_check_states[] = {
	[METRO_CHECK_IDLE]	= "idle",
	[METRO_CHECK_RUNNING]	= "check",	/* or "repair" */
	[METRO_CHECK_DONE]	= "done",
	[METRO_CHECK_STOPPED]	= "stopped",
	[METRO_CHECK_FAILED]	= "failed",
};

bool metro_check_running(struct metro_c *m, bool *repair)
{
	bool running;

	spin_lock_irq(&m->copy_lock);
	running = m->check.state == METRO_CHECK_RUNNING;
	*repair = m->check.repair;
	spin_unlock_irq(&m->copy_lock);
	return running;
}

void metro_check_status(struct metro_c *m, char *result, unsigned int maxlen,
			unsigned int *szp)
{
	struct metro_check *ck = &m->check;
	unsigned int sz = *szp, i;
	unsigned long elapsed;
	long long eta = -1;

	spin_lock_irq(&m->copy_lock);
	elapsed = jiffies - ck->since;
	if (ck->state == METRO_CHECK_DONE)
		eta = 0;
	else if (ck->state == METRO_CHECK_RUNNING && ck->pos > ck->base && elapsed &&
		 !atomic_read(&m->nr_out_of_sync))
		eta = div64_u64((u64)(m->nr_regions - ck->pos) * elapsed,
				(u64)(ck->pos - ck->base) * HZ);
	DMEMIT(" check %s %lu/%lu %lu",
	       ck->state == METRO_CHECK_RUNNING ? metro_check_word(ck) :
	       metro_check_states[ck->state],
	       ck->pos, m->nr_regions, ck->mismatches);
	if (eta < 0)
		DMEMIT(" -");
	else
		DMEMIT(" %lld", eta);
	for (i = 0; i < ck->nr_list; i++)
		DMEMIT("%c%lu", i ? ',' : ' ', ck->list[i]);
	if (!ck->nr_list)
		DMEMIT(" -");
	spin_unlock_irq(&m->copy_lock);
	*szp = sz;
}
