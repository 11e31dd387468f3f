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
		metro_gate_release(&m->gate, r);
		c->used = false;
		m->yield_next = jiffies + METRO_RESYNC_YIELD_GAP;
		bio_list_merge(&waiters, &m->copy_waiters);
		bio_list_init(&m->copy_waiters);
	}
	spin_unlock_irqrestore(&m->copy_lock, flags);

	/* Parked writes retry; those still blocked by another copy re-park. */
	metro_defer_bios(m, &waiters);
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
 * buffer, waiting at most the I/O deadline.  0, -EIO, or -ETIMEDOUT: the
 * I/O was abandoned and took the buffer with it (@c->buf is NULL then).
 */
static int metro_copy_io(struct metro_c *m, struct metro_copy *c, blk_opf_t opf,
			 unsigned int leg, struct dm_io_region *where)
{
	struct metro_copy_buf *buf = c->buf;
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
	if (metro_wait_io(m, &buf->done, start, leg,
			  write ? "a resync write" : "a resync read"))
		return buf->error ? -EIO : 0;
	/* Counted before it may complete and be counted back. */
	metro_pool_late_get(m->pool, leg, buf->kind);
	if (atomic_cmpxchg(&buf->state, METRO_COPY_PENDING, METRO_COPY_ABANDONED) ==
	    METRO_COPY_PENDING) {
		c->buf = NULL;
		return -ETIMEDOUT;
	}
	/* It completed just now. */
	metro_pool_late_put(m->pool, leg, buf->kind);
	wait_for_completion_io(&buf->done);
	return buf->error ? -EIO : 0;
}

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

	read = metro_copy_io(m, c, REQ_OP_READ, c->src, &where);
	if (!read)
		write = metro_copy_io(m, c, REQ_OP_WRITE, c->src ^ 1, &where);
	metro_copy_done(c, read, write);
}

/*
 * Buffers for the slots that are free, while regions are left to copy and
 * copying may go on; the free slots' buffers back to the allocator once
 * not (done, paused, stopped, or a leg missing).  Only the
 * engine calls this (it is not reentrant) and only it makes a slot @used,
 * so the free slots stay free meanwhile.  It runs on the ordered
 * workqueue that also marks the bitmap for writes, so it does not wait
 * for memory: the engine tries again later.  True when copying could go on
 * but no slot has a buffer.
 */
static bool metro_copy_bufs_starved(struct metro_c *m)
{
	unsigned long used = 0;
	unsigned int i, have = 0;
	bool want;

	spin_lock_irq(&m->copy_lock);
	want = metro_copy_allowed(m) && atomic_read(&m->nr_out_of_sync);
	for (i = 0; i < METRO_RESYNC_SLOTS; i++)
		if (m->slots[i].used)
			used |= BIT(i);
	spin_unlock_irq(&m->copy_lock);

	for (i = 0; i < METRO_RESYNC_SLOTS; i++) {
		struct metro_copy *c = &m->slots[i];

		if (used & BIT(i)) {
			have++;
		} else if (!want) {
			metro_copy_buf_free(c->buf);
			c->buf = NULL;
		} else {
			if (!c->buf)
				c->buf = metro_copy_buf_alloc(m, GFP_NOIO | __GFP_NORETRY |
							      __GFP_NOWARN);
			have += !!c->buf;
		}
	}
	return want && !have;
}

void metro_resync_free(struct metro_c *m)
{
	unsigned int i;

	for (i = 0; i < METRO_RESYNC_SLOTS; i++) {
		metro_copy_buf_free(m->slots[i].buf);
		m->slots[i].buf = NULL;
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
			if (!atomic_read(&m->nr_out_of_sync) || used >= max_used ||
			    !c->buf)
				continue;
			if (m->resync_rate && time_before(jiffies, m->resync_next)) {
				delay = m->resync_next - jiffies;
				continue;
			}
			if (busy && time_before(jiffies, m->yield_next)) {
				delay = m->yield_next - jiffies;
				continue;
			}
			c->region = metro_next_region(m);
			if (c->region >= m->nr_regions)
				continue;
			c->used = true;
			used++;
			c->started = false;
			c->chunk = 0;
			c->chunk_sectors = m->chunk_sectors;
			if (busy)
				c->chunk_sectors = min_t(sector_t, c->chunk_sectors,
							 METRO_YIELD_CHUNK_SECTORS);
			c->since = jiffies;
			c->src = src;
			metro_gate_claim(&m->gate, c->region);
			metro_resync_charge(m, m->region_sectors);
		}
		if (c->started)
			continue;
		/* Cluster mode: a region is copied only by the node owning it. */
		if (!metro_cluster_copy_owns(m, c->region)) {
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
