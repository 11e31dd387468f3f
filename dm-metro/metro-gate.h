/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-metro: the range gate, what writes and region copies must not do at
 * the same time.
 *
 * A write is counted in the gate from before it is sent to the legs until
 * it completes: per bucket of region numbers, or in @wide for a write over
 * several regions.  A copy claims its region first (@copying) and starts
 * only once the region's bucket and @wide have drained; a write that finds
 * its region claimed is not sent but handed to metro_resync_admit(), which
 * lets it go or parks it until the copy is done.  The two sides pair like
 * Dekker's algorithm, with a full barrier on each side: the writer counts
 * itself, then tests the claim; the copier claims, then reads the count.
 * Either the writer sees the claim, or the copier sees the writer.
 *
 * The clearing pass of the write-intent bitmap reads the same count the
 * same way, after clearing the region's @dirty bit (metro_collect_quiet()).
 *
 * A bucket shared by two regions only delays a copy or a clear.  Any
 * context, no lock: @copying is changed under copy_lock (metro-resync.c).
 */
#ifndef DM_METRO_GATE_H
#define DM_METRO_GATE_H

#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/bitmap.h>

/* Writes in flight are counted per bucket of region numbers. */
#define METRO_INFLIGHT_BITS	12
#define METRO_INFLIGHT_BUCKETS	(1U << METRO_INFLIGHT_BITS)

struct metro_gate {
	atomic_t inflight[METRO_INFLIGHT_BUCKETS];
	atomic_t wide;			/* writes over several regions */
	unsigned long *copying;		/* a bit per region claimed by a copy */
};

/* The count a write into region @r (@wide: several regions) is in. */
static inline atomic_t *metro_gate_count(struct metro_gate *g, unsigned long r,
					 bool wide)
{
	return wide ? &g->wide : &g->inflight[r & (METRO_INFLIGHT_BUCKETS - 1)];
}

/* Writer: count the write in @count, then test the claims. */
static inline void metro_gate_enter(atomic_t *count)
{
	atomic_inc(count);
	/* Count before testing a claim: pairs with metro_gate_claim(). */
	smp_mb__after_atomic();
}

/*
 * Writer: the write counted in @count of region @r is done (or is not sent
 * after all).  True when a copy of @r may be waiting for the count to
 * drain: the caller kicks the resync engine.
 */
static inline bool metro_gate_leave(struct metro_gate *g, atomic_t *count,
				    unsigned long r)
{
	atomic_dec(count);
	return count == &g->wide || unlikely(test_bit(r, g->copying));
}

/* Is any region of first..last claimed by a copy? */
static inline bool metro_gate_claimed(struct metro_gate *g, unsigned long first,
				      unsigned long last)
{
	return find_next_bit(g->copying, last + 1, first) <= last;
}

/* Copier: claim region @r, then read the count (metro_gate_busy()). */
static inline void metro_gate_claim(struct metro_gate *g, unsigned long r)
{
	set_bit(r, g->copying);
	/* Claim before reading the count: pairs with metro_gate_enter(). */
	smp_mb__after_atomic();
}

static inline void metro_gate_release(struct metro_gate *g, unsigned long r)
{
	clear_bit(r, g->copying);
}

/* Copier and clearer: may a write into region @r be in flight? */
static inline bool metro_gate_busy(struct metro_gate *g, unsigned long r)
{
	return atomic_read(metro_gate_count(g, r, false)) ||
	       atomic_read(&g->wide);
}

#endif /* DM_METRO_GATE_H */
