// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-metro: metadata I/O to the legs.
 *
 * Superblocks and bitmap blocks are read and written in requests of their
 * own (struct metro_md_req), one per leg, each holding its own pages from
 * the pool's mempool.  A write copies its data in before it is submitted
 * and a read copies it out once it completed in time, so the memory a
 * request maps is never anybody else's.  A request that is not back within
 * the I/O deadline is abandoned: its leg is then reported failed (the
 * caller detaches it), and the request owns itself, counted as late I/O
 * of the pool, until its completion frees it, whenever that comes.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/jiffies.h>

#include "metro-md.h"

/* Who owns the end of a request: its completion, or a waiter that gave up. */
enum {
	METRO_MD_PENDING,
	METRO_MD_DONE,		/* completed in time: the waiter frees it */
	METRO_MD_ABANDONED,	/* the waiter gave up: the completion frees it */
};

/*
 * One metadata bio to one leg, from the pool's md_bs.  @state decides,
 * with cmpxchg, whether the waiter or the completion frees it; @done is
 * completed when the waiter still owns it.
 */
struct metro_md_req {
	struct metro_pool *pool;
	unsigned int leg;
	unsigned int kind;		/* METRO_LATE_*, should it be abandoned */
	atomic_t state;
	struct completion done;
	struct bio bio;			/* must be last */
};

unsigned int metro_md_req_pad(void)
{
	return offsetof(struct metro_md_req, bio);
}

#define METRO_MD_MAX_SECTORS	(METRO_MD_MAX_PAGES * (PAGE_SIZE >> SECTOR_SHIFT))

static void metro_md_free(struct metro_md_req *req)
{
	struct bvec_iter_all iter_all;
	struct bio_vec *bv;

	bio_for_each_segment_all(bv, &req->bio, iter_all)
		mempool_free(bv->bv_page, &req->pool->md_pages);
	bio_put(&req->bio);
}

static void metro_md_endio(struct bio *bio)
{
	struct metro_md_req *req = container_of(bio, struct metro_md_req, bio);
	struct metro_pool *pool = req->pool;
	unsigned int kind = req->kind, leg = req->leg;

	if (atomic_cmpxchg(&req->state, METRO_MD_PENDING, METRO_MD_DONE) ==
	    METRO_MD_PENDING) {
		/* The waiter may free @req as soon as this returns. */
		complete(&req->done);
		return;
	}
	/* Abandoned: nobody waits for it any more, it is ours to free. */
	metro_md_free(req);
	metro_pool_late_put(pool, leg, kind);
}

/* A request of @sectors at @sector for leg @leg, pages attached.  Never fails. */
static struct metro_md_req *metro_md_alloc(struct metro_c *m, unsigned int leg,
					   blk_opf_t opf, sector_t sector,
					   sector_t sectors)
{
	struct metro_pool *pool = m->pool;
	unsigned int bytes = sectors << SECTOR_SHIFT;
	unsigned int nr = DIV_ROUND_UP(bytes, PAGE_SIZE), len;
	struct metro_md_req *req;
	struct bio *bio;

	bio = bio_alloc_bioset(m->legs[leg].dev->bdev, nr, opf, GFP_NOIO,
			       &pool->md_bs);
	req = container_of(bio, struct metro_md_req, bio);
	req->pool = pool;
	req->leg = leg;
	req->kind = METRO_LATE_MD | (op_is_write(opf) && sectors ? METRO_LATE_WRITE : 0);
	atomic_set(&req->state, METRO_MD_PENDING);
	init_completion(&req->done);
	bio->bi_iter.bi_sector = sector;
	bio->bi_end_io = metro_md_endio;
	while (bytes) {
		len = min_t(unsigned int, bytes, PAGE_SIZE);
		__bio_add_page(bio, mempool_alloc(&pool->md_pages, GFP_NOIO), len, 0);
		bytes -= len;
	}
	return req;
}

/* Copy @buf into the request's pages (@in) or out of them. */
static void metro_md_copy(struct metro_md_req *req, u8 *buf, bool in)
{
	struct bvec_iter_all iter_all;
	struct bio_vec *bv;

	bio_for_each_segment_all(bv, &req->bio, iter_all) {
		if (in)
			memcpy(page_address(bv->bv_page), buf, bv->bv_len);
		else
			memcpy(buf, page_address(bv->bv_page), bv->bv_len);
		buf += bv->bv_len;
	}
}

bool metro_wait_io(struct metro_c *m, struct completion *done, unsigned long start,
		   unsigned int leg, const char *what)
{
	unsigned long end = start + msecs_to_jiffies(m->io_deadline);

	if (!m->io_deadline) {
		while (!wait_for_completion_io_timeout(done, METRO_WAIT_LOG_PERIOD))
			DMWARN("%s: still waiting for %s on leg %c (%s); without an io_deadline it is not given up",
			       metro_name(m), what, metro_leg_letter(leg),
			       m->legs[leg].dev->name);
		return true;
	}
	return wait_for_completion_io_timeout(done, time_before(jiffies, end) ?
					      end - jiffies : 1);
}

/*
 * Wait for @req, sent at @start; false when it was abandoned on the
 * deadline, and from then on belongs to its completion.
 */
static bool metro_md_wait(struct metro_c *m, struct metro_md_req *req,
			  unsigned long start)
{
	unsigned int kind = req->kind, leg = req->leg;

	if (metro_wait_io(m, &req->done, start, leg, "a metadata request"))
		return true;
	/* Counted before it may complete and be counted back. */
	metro_pool_late_get(m->pool, leg, kind);
	if (atomic_cmpxchg(&req->state, METRO_MD_PENDING, METRO_MD_ABANDONED) ==
	    METRO_MD_PENDING) {
		DMERR("%s: metadata %s to leg %c (%s) did not complete within %u ms",
		      metro_name(m), kind & METRO_LATE_WRITE ? "write" :
		      op_is_write(bio_op(&req->bio)) ? "flush" : "read",
		      metro_leg_letter(leg), m->legs[leg].dev->name, m->io_deadline);
		return false;
	}
	/* It completed just now. */
	metro_pool_late_put(m->pool, leg, kind);
	wait_for_completion_io(&req->done);
	return true;
}

unsigned long metro_md_rw(struct metro_c *m, unsigned long mask, blk_opf_t opf,
			  void *const buf[METRO_NR_LEGS], sector_t sector,
			  sector_t count)
{
	struct metro_md_req *req[METRO_NR_LEGS];
	bool write = op_is_write(opf);
	unsigned long failed = 0, sent, start;
	sector_t done = 0, n;
	unsigned int i;

	do {
		n = min_t(sector_t, count - done, METRO_MD_MAX_SECTORS);
		sent = 0;
		start = jiffies;
		for_each_set_bit(i, &mask, METRO_NR_LEGS) {
			if (failed & BIT(i))
				continue;
			/*
			 * A leg holding an abandoned request gets no more: it
			 * is about to be detached, and each request it does
			 * not return keeps its pages.
			 */
			if (atomic_read(&m->pool->legs[i].late_md)) {
				failed |= BIT(i);
				continue;
			}
			req[i] = metro_md_alloc(m, i, opf, sector + done, n);
			if (write && n)
				metro_md_copy(req[i], (u8 *)buf[i] + (done << SECTOR_SHIFT), true);
			submit_bio(&req[i]->bio);
			sent |= BIT(i);
		}
		if (write)
			atomic64_add(hweight_long(sent) *
				     (n >> (ilog2(METRO_BLOCK_SIZE) - SECTOR_SHIFT)),
				     &m->md_writes);
		for_each_set_bit(i, &sent, METRO_NR_LEGS) {
			if (!metro_md_wait(m, req[i], start)) {
				failed |= BIT(i);
				continue;
			}
			if (req[i]->bio.bi_status)
				failed |= BIT(i);
			else if (!write && n)
				metro_md_copy(req[i], (u8 *)buf[i] + (done << SECTOR_SHIFT), false);
			metro_md_free(req[i]);
		}
		done += n;
	} while (done < count);
	return failed;
}
