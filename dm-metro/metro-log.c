// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-metro: superblocks, generations, leg state and the write-intent
 * bitmap.
 *
 * The on-disk bitmap of every live leg always holds the same bits; @disk_bm
 * is its in-core image.  A region's bit is set (and committed with REQ_FUA)
 * before the first write into it, and cleared lazily by a periodic pass
 * once the region has been quiet for a whole pass and its data has been
 * flushed on both legs.  All of it runs under md_lock, mostly from the
 * volume's ordered workqueue, so bitmap writes are naturally batched: bios
 * needing a mark pile up on the deferred list while the worker writes.
 *
 * The superblocks record each leg's state and data generation, and where
 * a running online verify is (metro-resync.c fills that in); a leg that
 * fails is detached here, and activation (metro_log_load()) decides from
 * them which leg is current and resumes a recorded check.  The I/O itself goes through metro-md.c,
 * whose requests own their pages: what is encoded here is copied before
 * it is sent.
 */
#include <linux/blkdev.h>
#include <linux/crc32c.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "metro-cluster.h"
#include "metro-log.h"
#include "metro-md.h"
#include "metro-resync.h"

#define METRO_BITS_PER_BLOCK	(METRO_BLOCK_SIZE * 8)

__u32 metro_crc32c(__u32 seed, const void *buf, size_t len)
{
	return crc32c(seed, buf, len);
}

int metro_log_read_sb(struct metro_c *m, struct metro_leg *leg, const char **err)
{
	void *bufs[METRO_NR_LEGS] = { NULL };
	struct metro_sb_info info;
	void *buf;
	int r;

	buf = kmalloc(METRO_SB_SIZE, GFP_KERNEL);
	if (!buf) {
		*err = "out of memory";
		return -ENOMEM;
	}
	bufs[leg->index] = buf;
	if (metro_md_rw(m, BIT(leg->index), REQ_OP_READ, bufs, METRO_SB_OFFSET,
			METRO_BLOCK_SECTORS)) {
		*err = "cannot read the superblock";
		r = -EIO;
		goto out;
	}
	r = metro_sb_decode(buf, bdev_nr_sectors(leg->dev->bdev), &info, err);
	if (!r)
		leg->sb = info;
out:
	kfree(buf);
	return r;
}
EXPORT_SYMBOL_GPL(metro_log_read_sb);

static u32 metro_leg_state(struct metro_c *m, unsigned int i)
{
	if (!metro_leg_alive(&m->legs[i]))
		return METRO_LEG_F_FAILED;
	return METRO_LEG_F_ACTIVE | (m->legs[i].stale ? METRO_LEG_F_STALE : 0);
}

/*
 * The table's optional arguments, as every superblock write records them
 * (metroctl puts them back on the table lines of later activations).
 */
static void metro_record_opts(struct metro_c *m, struct metro_sb_info *info)
{
	/* Each node has its own: a clustered volume keeps those of create. */
	if (metro_clustered(m))
		return;
	info->opt_flags = METRO_SB_O_RECORDED;
	info->opts.resync_rate = READ_ONCE(m->resync_rate);
	info->opts.clear_delay = m->clear_delay;
	info->opts.io_deadline = m->io_deadline;
	info->opts.write_mostly = m->write_mostly < 0 ? 0 :
				  metro_leg_letter(m->write_mostly);
	info->opts.read_mode = m->read_mode;
	info->opts.read_legs = m->read_legs;
	info->opts.failfast = m->failfast;
}

/*
 * Write one superblock per live leg, all legs at once.  Each leg's is
 * encoded into its own block of @sb_buf, which the requests copy: nothing
 * an abandoned write maps is ever encoded again.  Returns the mask of
 * legs that failed.
 */
static unsigned long metro_write_sbs(struct metro_c *m)
{
	struct metro_sb_info info[METRO_NR_LEGS];
	void *bufs[METRO_NR_LEGS];
	unsigned long failed, alive = metro_alive_mask(m);
	unsigned int i, j;

	lockdep_assert_held(&m->md_lock);
	m->events++;
	for_each_set_bit(i, &alive, METRO_NR_LEGS) {
		info[i] = m->legs[i].sb;
		info[i].flags = m->clean ? METRO_SB_F_CLEAN : 0;
		info[i].events = m->events;
		info[i].utime = ktime_get_real_seconds();
		metro_record_opts(m, &info[i]);
		metro_check_record(m, &info[i]);
		for (j = 0; j < METRO_NR_LEGS; j++) {
			struct metro_leg *other = &m->legs[j];

			/*
			 * A live leg is the authority on its own identity and
			 * generation; of a detached one, the writer keeps what
			 * it last knew.
			 */
			if (metro_leg_alive(other)) {
				info[i].legs[j] = other->sb.legs[j];
				info[i].legs[j].events = m->events;
			}
			info[i].legs[j].state = metro_leg_state(m, j);
		}
		bufs[i] = (u8 *)m->sb_buf + i * METRO_SB_SIZE;
		metro_sb_encode(&info[i], bufs[i]);
	}
	failed = metro_md_rw(m, alive, REQ_OP_WRITE | REQ_SYNC | REQ_FUA, bufs,
			     METRO_SB_OFFSET, METRO_BLOCK_SECTORS);
	for_each_set_bit(i, &alive, METRO_NR_LEGS)
		if (!(failed & BIT(i)))
			m->legs[i].sb = info[i];
	return failed;
}

/* @leg carries on alone: it starts a new data generation (md_lock). */
static void metro_new_generation(struct metro_c *m, struct metro_leg *leg)
{
	u64 gen;

	lockdep_assert_held(&m->md_lock);

	do {
		gen = get_random_u64();
	} while (!gen || gen == metro_own_gen(&leg->sb));
	metro_gen_push(&leg->sb, gen);
	DMINFO("%s: leg %c starts data generation %016llx (was %016llx)",
	       metro_name(m), metro_leg_letter(leg->index),
	       (unsigned long long)gen,
	       (unsigned long long)leg->sb.gen_history[0]);
}

/*
 * May leg @i be detached?  Not when it is the last live leg, nor while the
 * other leg is a resync target still missing regions: @i then holds the
 * only complete copy, and its I/O errors go to the caller instead.
 */
static bool metro_can_detach(struct metro_c *m, unsigned int i)
{
	struct metro_leg *other = &m->legs[i ^ 1];

	return metro_leg_alive(other) &&
	       !(other->stale && atomic_read(&m->nr_out_of_sync));
}

bool metro_log_leg_failed(struct metro_c *m, unsigned int i, const char *why)
{
	struct metro_leg *leg = &m->legs[i];
	unsigned int o = i ^ 1;
	struct metro_leg *other = &m->legs[o];
	unsigned long r;

	lockdep_assert_held(&m->md_lock);
	if (!metro_leg_alive(leg))
		return true;
	if (!metro_can_detach(m, i)) {
		if (metro_leg_alive(other))
			DMERR_LIMIT("%s: leg %c (%s) failed on %s, but leg %c is still being resynced from it: leg %c stays attached and the failed I/O is returned. Repair leg %c; the resync resumes with \"resume_resync\"",
				    metro_name(m), metro_leg_letter(i), leg->dev->name,
				    why, metro_leg_letter(o), metro_leg_letter(i),
				    metro_leg_letter(i));
		else
			DMERR_LIMIT("%s: leg %c (%s) failed on %s and is the last live leg: the failed I/O is returned",
				    metro_name(m), metro_leg_letter(i), leg->dev->name, why);
		return false;
	}

	set_bit(METRO_LEG_DEAD, &leg->flags);
	/* The survivor now holds the only current copy of every region. */
	m->source = o;
	if (other->stale) {
		/* A resync target with nothing left to copy is current. */
		metro_gen_adopt(&other->sb, &leg->sb);
		other->stale = false;
	}
	/* The survivor's writes from now on are a generation @leg lacks. */
	metro_new_generation(m, other);
	/*
	 * Whatever the leg got since its last successful flush may be lost,
	 * and that is at most the regions marked now.  Their bits stay set
	 * (no clearing while a leg is detached); count them out of sync too.
	 */
	for_each_set_bit(r, m->dirty, m->nr_regions)
		metro_set_out_of_sync(m, r);
	DMERR("%s: leg %c (%s) failed on %s and is detached; the volume runs on leg %c alone. Repair the leg, then re-add it with \"metroctl restore %s %c\" (only the regions written meanwhile are copied)",
	      metro_name(m), metro_leg_letter(i), leg->dev->name, why,
	      metro_leg_letter(o), metro_name(m), metro_leg_letter(i));
	/* A check running ends (metro-resync.c). */
	metro_resync_kick(m);
	return true;
}

/*
 * Another node of the cluster detached leg @i (and wrote the superblocks):
 * this node stops using it too.  What it wrote here may be missing on
 * that leg, as in metro_log_leg_failed().
 */
void metro_log_leg_detached_elsewhere(struct metro_c *m, unsigned int i)
{
	unsigned long r;

	lockdep_assert_held(&m->md_lock);
	if (!metro_leg_alive(&m->legs[i]))
		return;
	set_bit(METRO_LEG_DEAD, &m->legs[i].flags);
	m->source = i ^ 1;
	m->legs[i ^ 1].stale = false;
	for_each_set_bit(r, m->dirty, m->nr_regions)
		metro_set_out_of_sync(m, r);
	DMERR("%s: another node of the cluster detached leg %c (%s); this node runs on leg %c alone too",
	      metro_name(m), metro_leg_letter(i),
	      m->legs[i].dev ? m->legs[i].dev->name : "-", metro_leg_letter(i ^ 1));
}
EXPORT_SYMBOL_GPL(metro_log_leg_detached_elsewhere);

/*
 * Commit the superblocks of the live legs.  A leg whose superblock write
 * fails is detached and the other one rewritten, so that the failure is on
 * disk before anybody relies on it.  Returns -EIO when no leg took it.
 */
static int metro_commit_sb(struct metro_c *m)
{
	unsigned long failed;
	unsigned int i;

	lockdep_assert_held(&m->md_lock);
	for (;;) {
		if (!metro_alive_mask(m))
			return -EIO;
		failed = metro_write_sbs(m);
		if (!failed)
			return 0;
		if (failed == metro_alive_mask(m))
			return -EIO;
		for (i = 0; i < METRO_NR_LEGS; i++)
			if ((failed & BIT(i)) &&
			    !metro_log_leg_failed(m, i, "a superblock write"))
				return -EIO;
	}
}

/* In cluster mode every superblock write is a change of the cluster's state. */
int metro_log_commit_sb(struct metro_c *m)
{
	int r;

	lockdep_assert_held(&m->md_lock);
	r = metro_cluster_tx_begin(m);
	if (r)
		return r;
	r = metro_commit_sb(m);
	metro_cluster_tx_end(m);
	return r;
}

/*
 * Detach the legs in @failed after a metadata I/O or flush failed on them,
 * then commit the superblocks.  -EIO when a failed leg cannot be detached
 * (it holds the only complete copy) or no superblock could be written.
 */
static int metro_detach_failed(struct metro_c *m, unsigned long failed,
			       const char *why)
{
	unsigned int i;
	int r;

	lockdep_assert_held(&m->md_lock);

	r = metro_cluster_tx_begin(m);
	if (r)
		return -EIO;
	for (i = 0; i < METRO_NR_LEGS; i++)
		if ((failed & BIT(i)) && !metro_log_leg_failed(m, i, why)) {
			metro_cluster_tx_end(m);
			return -EIO;
		}
	r = metro_log_commit_sb(m);
	metro_cluster_tx_end(m);
	return r;
}

/*
 * Write the changed bitmap blocks to every live leg.  Legs that fail are
 * detached (and the superblocks rewritten); returns -EIO if none took it.
 */
static int metro_write_bitmap(struct metro_c *m)
{
	unsigned long failed, mask, all_failed = 0;
	void *bufs[METRO_NR_LEGS];
	unsigned int b = 0, e;

	lockdep_assert_held(&m->md_lock);
	mask = metro_alive_mask(m);
	while ((b = find_next_bit(m->bm_changed, m->bm_blocks, b)) < m->bm_blocks) {
		e = find_next_zero_bit(m->bm_changed, m->bm_blocks, b);
		bitmap_clear(m->bm_changed, b, e - b);
		bufs[0] = bufs[1] = m->disk_bm + (size_t)b * METRO_BLOCK_SIZE;
		failed = metro_md_rw(m, mask & ~all_failed,
				     REQ_OP_WRITE | REQ_SYNC | REQ_FUA, bufs,
				     m->bm_offset + (sector_t)b * METRO_BLOCK_SECTORS,
				     (sector_t)(e - b) * METRO_BLOCK_SECTORS);
		all_failed |= failed;
		b = e;
	}
	if (!all_failed)
		return 0;
	if (all_failed == mask)
		return -EIO;
	return metro_detach_failed(m, all_failed, "a bitmap write");
}

static void metro_bm_mark(struct metro_c *m, unsigned long r)
{
	lockdep_assert_held(&m->md_lock);
	metro_bm_set(m->disk_bm, r);
	set_bit(r / METRO_BITS_PER_BLOCK, m->bm_changed);
}

static void metro_bm_unmark(struct metro_c *m, unsigned long r)
{
	lockdep_assert_held(&m->md_lock);
	metro_bm_clear(m->disk_bm, r);
	set_bit(r / METRO_BITS_PER_BLOCK, m->bm_changed);
}

static void metro_bio_regions(struct metro_c *m, struct bio *bio,
			      unsigned long *first, unsigned long *last)
{
	*first = metro_region(m, bio->bi_iter.bi_sector);
	*last = bio_sectors(bio) ?
		metro_region(m, bio_end_sector(bio) - 1) : *first;
}

/*
 * Outside md_lock, a region's bit in @disk_bm is set exactly when it is in
 * @dirty: on disk on every live leg.  A mark that no leg took is undone
 * in @disk_bm, so that the next write into the region marks it again
 * instead of finding it marked; a bit it may have left on a disk only
 * costs a copy at the next resync.
 */
int metro_log_mark(struct metro_c *m, struct bio_list *bios)
{
	unsigned long r, first, last;
	struct bio *bio;
	bool changed = false;
	int ret = 0;

	mutex_lock(&m->md_lock);
	bio_list_for_each(bio, bios) {
		metro_bio_regions(m, bio, &first, &last);
		for (r = first; r <= last; r++) {
			if (metro_bm_test(m->disk_bm, r))
				continue;
			metro_bm_mark(m, r);
			changed = true;
		}
	}
	if (changed)
		ret = metro_write_bitmap(m);
	bio_list_for_each(bio, bios) {
		metro_bio_regions(m, bio, &first, &last);
		for (r = first; r <= last; r++) {
			if (ret && !test_bit(r, m->dirty))
				metro_bm_clear(m->disk_bm, r);
			else if (!ret && !test_and_set_bit(r, m->dirty))
				atomic_inc(&m->nr_dirty);
		}
		if (!ret)
			metro_cluster_marked(m, first, last);
	}
	mutex_unlock(&m->md_lock);
	return ret;
}

/* Flush the data of every live leg; failing legs are detached. */
static int metro_flush_legs(struct metro_c *m)
{
	unsigned long failed, mask = metro_alive_mask(m);
	void *bufs[METRO_NR_LEGS] = { NULL };

	lockdep_assert_held(&m->md_lock);
	/* An empty REQ_PREFLUSH write: a flush, under the I/O deadline. */
	failed = metro_md_rw(m, mask, REQ_OP_WRITE | REQ_PREFLUSH | REQ_SYNC,
			     bufs, 0, 0);
	if (!failed)
		return 0;
	if (failed == mask)
		return -EIO;
	return metro_detach_failed(m, failed, "a flush");
}

/*
 * Clear the on-disk bits of the regions collected in @clearing, after
 * flushing the legs so that the data the bits protect is durable.  If the
 * flush fails everywhere the bits go back into @dirty.
 */
static void metro_clear_collected(struct metro_c *m, unsigned long n)
{
	unsigned long r, alive;

	lockdep_assert_held(&m->md_lock);

	if (!n)
		return;
	alive = metro_alive_mask(m);
	if (metro_flush_legs(m) || metro_alive_mask(m) != alive) {
		/*
		 * A leg that failed its flush may have lost these regions:
		 * keep them marked, and out of sync if a leg was detached.
		 */
		for_each_set_bit(r, m->clearing, m->nr_regions) {
			set_bit(r, m->dirty);
			if (metro_alive_mask(m) != alive &&
			    !m->legs[m->source].stale)
				metro_set_out_of_sync(m, r);
		}
		bitmap_zero(m->clearing, m->nr_regions);
		return;
	}
	for_each_set_bit(r, m->clearing, m->nr_regions) {
		metro_bm_unmark(m, r);
		atomic_dec(&m->nr_dirty);
	}
	bitmap_zero(m->clearing, m->nr_regions);
	/* A failure here leaves bits set on disk: harmless, only more resync. */
	metro_write_bitmap(m);
}

/*
 * Move quiet dirty regions to @clearing.  This pairs with the write fast
 * path (metro_write_fast()) at the range gate: the writer counts itself in
 * the gate and then tests @dirty, we clear @dirty and then read the count,
 * with a full barrier on each side.  Either the writer sees the bit clear
 * and takes the slow path (which sets it again on disk first), or we see
 * the writer and leave the region alone.  The slow path marks and issues
 * in one run of the ordered workqueue this also runs on.
 */
static unsigned long metro_collect_quiet(struct metro_c *m, bool all_quiet)
{
	unsigned long r, n = 0;

	lockdep_assert_held(&m->md_lock);
	/* A detached leg must find every region it may lack still marked. */
	if (metro_nr_alive(m) != METRO_NR_LEGS)
		return 0;

	for_each_set_bit(r, m->dirty, m->nr_regions) {
		if (test_bit(r, m->out_of_sync))
			continue;
		if (!all_quiet && test_bit(r, m->active))
			continue;
		clear_bit(r, m->dirty);
		metro_cluster_unmarked(m, r);
		/* Clear before reading the count: pairs with the write path. */
		smp_mb__after_atomic();
		if (metro_gate_busy(&m->gate, r)) {
			set_bit(r, m->dirty);
			continue;
		}
		__set_bit(r, m->clearing);
		n++;
	}
	return n;
}

void metro_log_clear_work(struct work_struct *ws)
{
	struct metro_c *m = container_of(to_delayed_work(ws), struct metro_c,
					 clear_work);
	unsigned long i, n, words = BITS_TO_LONGS(m->nr_regions);

	mutex_lock(&m->md_lock);
	if (!READ_ONCE(m->suspended)) {
		n = metro_collect_quiet(m, false);
		/* Start the next observation period. */
		for (i = 0; i < words; i++)
			if (m->active[i])
				xchg(&m->active[i], 0);
		metro_clear_collected(m, n);
	}
	mutex_unlock(&m->md_lock);

	spin_lock_irq(&m->lock);
	if (!m->suspended)
		queue_delayed_work(m->wq, &m->clear_work,
				   msecs_to_jiffies(m->clear_delay));
	spin_unlock_irq(&m->lock);
}

void metro_log_suspend(struct metro_c *m)
{
	unsigned long n;

	mutex_lock(&m->md_lock);
	if (metro_alive_mask(m)) {
		/* dm has drained all I/O: every region not out of sync is quiet. */
		n = metro_collect_quiet(m, true);
		metro_clear_collected(m, n);
		bitmap_zero(m->active, m->nr_regions);
		/* Clean says every bitmap is: not while other nodes may write. */
		m->clean = !metro_clustered(m);
		if (metro_log_commit_sb(m))
			DMERR("%s: cannot mark the superblocks clean", metro_name(m));
	}
	mutex_unlock(&m->md_lock);
}

static bool metro_sync_done_due(struct metro_c *m)
{
	return !atomic_read(&m->nr_out_of_sync) && metro_nr_alive(m) == METRO_NR_LEGS &&
	       (m->legs[0].stale || m->legs[1].stale || metro_clustered(m));
}

void metro_log_sync_done(struct metro_c *m)
{
	unsigned int i;
	bool changed = false, tx = false;

	mutex_lock(&m->md_lock);
	/*
	 * Cluster mode: the end of this node's copy is a change of the
	 * cluster's state (the others read only the source meanwhile), and
	 * a stale leg is in sync only once no node copies to it any more.
	 */
	if (metro_clustered(m) && metro_sync_done_due(m)) {
		tx = !metro_cluster_tx_begin(m);
		if (!tx || metro_cluster_others_resyncing(m))
			goto out;
	}
	if (metro_sync_done_due(m)) {
		for (i = 0; i < METRO_NR_LEGS; i++) {
			if (m->legs[i].stale) {
				/* It now holds the source's generation. */
				metro_gen_adopt(&m->legs[i].sb, &m->legs[i ^ 1].sb);
				m->legs[i].stale = false;
				changed = true;
			}
		}
		if (changed) {
			if (metro_log_commit_sb(m))
				DMERR("%s: cannot record the end of resync",
				      metro_name(m));
			else
				DMINFO("%s: resync complete, both legs in sync",
				       metro_name(m));
		}
	}
out:
	if (tx)
		metro_cluster_tx_end(m);
	mutex_unlock(&m->md_lock);
	if (changed)
		dm_table_event(m->ti->table);
}

/*
 * Cluster mode: take over the bits of bitmap slot @slot (another node's,
 * or one nobody holds) as the live legs hold it: they join this node's
 * slot, on disk first, and count as out of sync (unless a leg is stale:
 * they are copied anyway).  With @zero, @slot is then cleared on disk:
 * its bits live on in this node's slot.  @buf holds bm_bytes.  Needs
 * md_lock.  0, or -EIO when no leg could be read or written.
 */
int metro_log_merge_slot(struct metro_c *m, unsigned int slot, bool zero,
			 u8 *buf, unsigned long *merged)
{
	void *bufs[METRO_NR_LEGS] = { NULL };
	sector_t off = metro_slot_offset(&m->legs[m->source].sb, slot);
	unsigned long r, alive = metro_alive_mask(m), failed;
	unsigned int i;
	int ret;

	lockdep_assert_held(&m->md_lock);
	*merged = 0;
	for_each_set_bit(i, &alive, METRO_NR_LEGS) {
		bufs[i] = buf;
		failed = metro_md_rw(m, BIT(i), REQ_OP_READ, bufs, off,
				     m->bm_bytes >> SECTOR_SHIFT);
		bufs[i] = NULL;
		if (failed)
			return -EIO;
		for (r = 0; r < m->nr_regions; r++) {
			if (!metro_bm_test(buf, r) || metro_bm_test(m->disk_bm, r))
				continue;
			metro_bm_mark(m, r);
			if (!test_and_set_bit(r, m->dirty))
				atomic_inc(&m->nr_dirty);
			metro_mark_missed(m, r);
			(*merged)++;
		}
	}
	if (*merged) {
		ret = metro_write_bitmap(m);
		if (ret)
			return ret;
	}
	if (!zero)
		return 0;
	memset(buf, 0, m->bm_bytes);
	for_each_set_bit(i, &alive, METRO_NR_LEGS)
		bufs[i] = buf;
	failed = metro_md_rw(m, alive & metro_alive_mask(m),
			     REQ_OP_WRITE | REQ_SYNC | REQ_FUA, bufs, off,
			     m->bm_bytes >> SECTOR_SHIFT);
	/* A slot left set only costs another copy of its regions. */
	if (failed)
		DMWARN("%s: cannot clear bitmap slot %u on leg(s) %s%s",
		       metro_name(m), slot, failed & 1 ? "A" : "", failed & 2 ? "B" : "");
	return 0;
}
EXPORT_SYMBOL_GPL(metro_log_merge_slot);

/* Newest superblock among the live legs, by events. */
static struct metro_sb_info *metro_newest_sb(struct metro_c *m)
{
	struct metro_sb_info *newest = NULL;
	unsigned int i;

	for (i = 0; i < METRO_NR_LEGS; i++) {
		if (!metro_leg_alive(&m->legs[i]))
			continue;
		if (!newest || m->legs[i].sb.events > newest->events)
			newest = &m->legs[i].sb;
	}
	return newest;
}

void metro_log_split_brain(struct metro_c *m)
{
	struct metro_leg *a = &m->legs[0], *b = &m->legs[1];

	DMERR("%s: split brain in volume %s: leg A (%s) holds data generation %016llx and leg B (%s) generation %016llx, and each was written while the other was away. Refusing to resync in either direction: keep one copy with \"metroctl resolve %s --winner DEV\"",
	      metro_name(m), a->sb.name, a->dev->name,
	      (unsigned long long)metro_own_gen(&a->sb), b->dev->name,
	      (unsigned long long)metro_own_gen(&b->sb), a->sb.name);
}

int metro_log_check_alone(struct metro_c *m, unsigned int i)
{
	struct metro_leg *leg = &m->legs[i];

	if (!(leg->sb.legs[i].state & METRO_LEG_F_STALE))
		return 0;
	DMERR("%s: leg %c (%s) was being resynced and holds no complete copy: it cannot run alone. Bring back leg %c",
	      metro_name(m), metro_leg_letter(i), leg->dev->name,
	      metro_leg_letter(i ^ 1));
	return -EINVAL;
}

/*
 * Decide which leg is the resync target.  With both legs present the data
 * generations decide (metro_gen_compare()); on the same generation, a leg
 * is stale when it says so itself, or when the newest superblock records
 * it FAILED or STALE; should that condemn both, the newest writer wins.
 */
static int metro_pick_source(struct metro_c *m)
{
	struct metro_leg *a = &m->legs[0], *b = &m->legs[1];
	struct metro_sb_info *newest;
	unsigned int i;

	lockdep_assert_held(&m->md_lock);
	if (metro_nr_alive(m) == 1) {
		i = metro_leg_alive(a) ? 0 : 1;
		if (metro_log_check_alone(m, i))
			return -EINVAL;
		m->legs[i].stale = false;
		m->legs[i ^ 1].stale = true;
		m->source = i;
		return 0;
	}

	switch (metro_gen_compare(&a->sb, &b->sb)) {
	case METRO_GEN_SPLIT:
		metro_log_split_brain(m);
		return -EINVAL;
	case METRO_GEN_A_NEWER:
		a->stale = false;
		b->stale = true;
		break;
	case METRO_GEN_B_NEWER:
		a->stale = true;
		b->stale = false;
		break;
	case METRO_GEN_SAME:
		newest = metro_newest_sb(m);
		for (i = 0; i < METRO_NR_LEGS; i++)
			m->legs[i].stale =
				(m->legs[i].sb.legs[i].state & METRO_LEG_F_STALE) ||
				(newest->legs[i].state &
				 (METRO_LEG_F_FAILED | METRO_LEG_F_STALE));
		if (a->stale && b->stale)
			m->legs[newest->leg].stale = false;
		break;
	}
	m->source = a->stale ? 1 : 0;
	return 0;
}

static const char *metro_leg_word(struct metro_leg *leg)
{
	if (!leg->dev)
		return "absent";
	if (!metro_leg_alive(leg))
		return "failed";
	return leg->stale ? "stale" : "current";
}

/*
 * A leg that cannot be used at activation: it is detached before any
 * decision is taken, so the generations are not touched here.  -EIO when
 * it was the last one.
 */
static int metro_load_drop(struct metro_c *m, unsigned int i)
{
	lockdep_assert_held(&m->md_lock);
	if (metro_nr_alive(m) == 1)
		return -EIO;
	set_bit(METRO_LEG_DEAD, &m->legs[i].flags);
	return 0;
}

int metro_log_load(struct metro_c *m)
{
	void *bufs[METRO_NR_LEGS] = { NULL };
	struct metro_leg *src;
	unsigned long r, n_oos = 0;
	const char *err;
	unsigned int i;
	u8 *buf;
	int ret = 0;

	buf = kvmalloc(m->bm_bytes, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;

	mutex_lock(&m->md_lock);
	/* Cluster mode: the joining node's decisions are one change. */
	ret = metro_cluster_tx_begin(m);
	if (ret)
		goto out_unlock;
	/* Re-read: the previous table may have written them at its suspend. */
	for (i = 0; i < METRO_NR_LEGS; i++) {
		struct metro_leg *leg = &m->legs[i];
		u8 vol_uuid[METRO_UUID_LEN];

		if (!metro_leg_alive(leg))
			continue;
		memcpy(vol_uuid, leg->sb.vol_uuid, METRO_UUID_LEN);
		ret = metro_log_read_sb(m, leg, &err);
		if (!ret && memcmp(vol_uuid, leg->sb.vol_uuid, METRO_UUID_LEN)) {
			err = "superblock now belongs to another volume";
			ret = -EINVAL;
		}
		if (ret) {
			DMERR("%s: leg %c (%s): %s", metro_name(m),
			      metro_leg_letter(i), leg->dev->name, err);
			if (metro_load_drop(m, i))
				goto out;
		}
	}
	ret = metro_pick_source(m);
	if (ret)
		goto out;

	/* The union of the bitmaps is the set of regions that may differ. */
	memset(m->disk_bm, 0, m->bm_bytes);
	for (i = 0; i < METRO_NR_LEGS; i++) {
		size_t k;

		if (!metro_leg_alive(&m->legs[i]))
			continue;
		bufs[i] = buf;
		if (metro_md_rw(m, BIT(i), REQ_OP_READ, bufs, m->bm_offset,
				m->bm_bytes >> SECTOR_SHIFT)) {
			DMERR("%s: leg %c (%s): cannot read the bitmap",
			      metro_name(m), metro_leg_letter(i),
			      m->legs[i].dev->name);
			ret = metro_load_drop(m, i);
			if (!ret)
				ret = metro_pick_source(m);
			if (ret)
				goto out;
			continue;
		}
		for (k = 0; k < m->bm_bytes; k++)
			m->disk_bm[k] |= buf[k];
	}
	m->events = metro_newest_sb(m)->events;
	/* Before the superblocks are written again: they record it. */
	metro_check_resume(m, metro_newest_sb(m));
	src = &m->legs[m->source];
	/*
	 * Alone: the writes from now on are a generation the absent leg
	 * lacks, unless this leg already carried on without it before.
	 */
	if (metro_nr_alive(m) == 1 &&
	    !(src->sb.legs[m->source ^ 1].state & METRO_LEG_F_FAILED))
		metro_new_generation(m, src);

	bitmap_zero(m->dirty, m->nr_regions);
	bitmap_zero(m->out_of_sync, m->nr_regions);
	bitmap_zero(m->active, m->nr_regions);
	bitmap_zero(m->clearing, m->nr_regions);
	/* Bits past the last region are padding and stay zero on disk. */
	for (r = m->nr_regions; r < (unsigned long)m->bm_bytes * 8; r++)
		metro_bm_clear(m->disk_bm, r);
	for (r = 0; r < m->nr_regions; r++) {
		if (metro_bm_test(m->disk_bm, r)) {
			__set_bit(r, m->dirty);
			__set_bit(r, m->out_of_sync);
			n_oos++;
		}
	}
	atomic_set(&m->nr_dirty, n_oos);
	atomic_set(&m->nr_out_of_sync, n_oos);
	m->resync_cursor = 0;

	/* Both live legs get the union, then superblocks saying "in use". */
	bitmap_fill(m->bm_changed, m->bm_blocks);
	m->clean = false;
	ret = metro_write_bitmap(m);
	if (!ret)
		ret = metro_log_commit_sb(m);
	if (ret) {
		DMERR("%s: cannot write metadata to any leg", metro_name(m));
		goto out;
	}
	DMINFO("%s: activated: leg A %s, leg B %s, %lu of %lu regions to resync from leg %c",
	       metro_name(m), metro_leg_word(&m->legs[0]),
	       metro_leg_word(&m->legs[1]), n_oos, m->nr_regions,
	       metro_leg_letter(m->source));
out:
	metro_cluster_tx_end(m);
out_unlock:
	mutex_unlock(&m->md_lock);
	kvfree(buf);
	return ret;
}

void metro_log_check_save(struct metro_c *m)
{
	bool suspended;

	mutex_lock(&m->md_lock);
	/* Suspended, the legs may belong to the next table already. */
	spin_lock_irq(&m->lock);
	suspended = m->suspended;
	spin_unlock_irq(&m->lock);
	if (!suspended && metro_nr_alive(m) && metro_log_commit_sb(m))
		DMERR_LIMIT("%s: cannot record the check's position in the superblocks",
			    metro_name(m));
	mutex_unlock(&m->md_lock);
}
