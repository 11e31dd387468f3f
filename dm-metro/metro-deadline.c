// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-metro: the I/O deadline, for the application's bios.
 *
 * With an io_deadline, every clone sent to a leg sits on a shard list (a
 * spinlock each, picked by the submitting CPU) from submission until it
 * completes, and every read remapped to a leg is counted in its epoch
 * (struct metro_read_ages).  The watchdog runs every quarter of the
 * deadline; a leg with a clone or a read older than the deadline is
 * reported stalled to the worker, which detaches it like a failing leg
 * and then abandons the clones it still has in flight: their originals
 * complete (writes on the other leg, reads retried there), and their own
 * completions, whenever they come, only free them and what they own (see
 * metro-pool.h).  A clone borrowing the original's pages, and a remapped
 * read, are never abandoned: they are the original's to wait for.
 *
 * Metadata requests and resync copies wait for their own deadline where
 * they are issued (metro-md.c, metro-resync.c).
 */
#include <linux/bio.h>
#include <linux/jiffies.h>

#include "metro-io.h"

void metro_track(struct metro_c *m, struct metro_clone *mc)
{
	struct metro_shard *sh;
	unsigned long flags;

	if (!m->io_deadline) {
		mc->shard = -1;
		return;
	}
	atomic_set(&mc->state, METRO_CLONE_INFLIGHT);
	mc->shard = raw_smp_processor_id() % METRO_SHARDS;
	mc->start = jiffies;
	sh = &m->shards[mc->shard];
	spin_lock_irqsave(&sh->lock, flags);
	list_add_tail(&mc->list, &sh->clones);
	spin_unlock_irqrestore(&sh->lock, flags);
}

/*
 * The completion of an abandoned clone: free it and its pages, and give
 * back the reference its pool held for it.  Touches nothing else: the
 * volume may be gone.  Any context.
 */
static void metro_clone_late(struct metro_clone *mc)
{
	struct metro_pool *pool = mc->pool;
	unsigned int leg = mc->leg, kind = mc->late_kind;

	metro_clone_put(mc);
	metro_pool_late_put(pool, leg, kind);
}

bool metro_untrack(struct metro_clone *mc)
{
	struct metro_shard *sh;
	unsigned long flags;

	if (mc->shard < 0)
		return false;
	if (atomic_xchg(&mc->state, METRO_CLONE_DONE) == METRO_CLONE_ABANDONED) {
		metro_clone_late(mc);
		return true;
	}
	/* Not abandoned, so its metro_io and volume are still there. */
	sh = &mc->io->m->shards[mc->shard];
	spin_lock_irqsave(&sh->lock, flags);
	/* metro_abandon_leg() may have taken it off already. */
	list_del_init(&mc->list);
	spin_unlock_irqrestore(&sh->lock, flags);
	return false;
}

/* Originals completed per pass of metro_abandon_leg() over the lists. */
#define METRO_ABANDON_BATCH	32

/*
 * Leg @leg is detached: complete the originals of its clones still in
 * flight as if those had failed, and leave the clones to complete (or
 * not) on their own.  Worker context.
 *
 * Under the shard lock a clone is taken off its list, then either taken
 * from its completion (state INFLIGHT to ABANDONED) or found completing
 * (DONE), in which case its completion ends it as usual.  Once taken, the
 * clone is its completion's to free at any moment: only its original,
 * which cannot complete without this function, is used afterwards.  Its
 * pool reference is counted before the exchange, since the completion may
 * give it back at once.
 */
void metro_abandon_leg(struct metro_c *m, unsigned int leg)
{
	struct metro_io *ios[METRO_ABANDON_BATCH];
	struct metro_clone *mc, *tmp;
	unsigned int i, n, kind;

	do {
		n = 0;
		for (i = 0; i < METRO_SHARDS && n < METRO_ABANDON_BATCH; i++) {
			struct metro_shard *sh = &m->shards[i];

			spin_lock_irq(&sh->lock);
			list_for_each_entry_safe(mc, tmp, &sh->clones, list) {
				struct metro_io *io = mc->io;

				if (n == METRO_ABANDON_BATCH)
					break;
				/* A clone borrowing the original's pages must end first. */
				if (mc->leg != leg ||
				    (mc->pages == METRO_PAGES_SHARED && bio_has_data(&mc->bio)))
					continue;
				kind = mc->late_kind;
				list_del_init(&mc->list);
				metro_pool_late_get(m->pool, leg, kind);
				if (atomic_cmpxchg(&mc->state, METRO_CLONE_INFLIGHT,
						   METRO_CLONE_ABANDONED) != METRO_CLONE_INFLIGHT) {
					metro_pool_late_put(m->pool, leg, kind);
					continue;
				}
				ios[n++] = io;
			}
			spin_unlock_irq(&sh->lock);
		}
		for (i = 0; i < n; i++) {
			if (ios[i]->kind == METRO_IO_READ)
				metro_read_done(ios[i], BLK_STS_IOERR);
			else
				metro_fan_out_put(ios[i], leg, BLK_STS_IOERR);
		}
	} while (n == METRO_ABANDON_BATCH);
}

/*
 * The legs with a remapped read in flight since METRO_READ_LATE epochs
 * ago or earlier, then a new epoch.  Every epoch lasts at least a quarter
 * of the deadline (the watchdog's period), so such a read is late.
 */
static unsigned long metro_reads_late(struct metro_c *m)
{
	unsigned int e = m->read_epoch, age, cpu, slot, i;
	unsigned long late = 0;
	int n;

	for (i = 0; i < METRO_NR_LEGS; i++) {
		for (age = METRO_READ_LATE; age < METRO_READ_EPOCHS; age++) {
			slot = (e - age) % METRO_READ_EPOCHS;
			n = 0;
			for_each_possible_cpu(cpu)
				n += READ_ONCE(per_cpu_ptr(m->read_ages, cpu)->n[i][slot]);
			if (n > 0)
				late |= BIT(i);
		}
	}
	WRITE_ONCE(m->read_epoch, e + 1);
	return late;
}

/*
 * The I/O deadline watchdog: every quarter of the deadline, look for
 * clones and remapped reads in flight for longer than the deadline and
 * ask the worker to detach their leg.  Runs on system_wq, not on m->wq,
 * whose worker may be the one waiting.
 */
void metro_watchdog(struct work_struct *ws)
{
	struct metro_c *m = container_of(to_delayed_work(ws), struct metro_c,
					 watchdog);
	unsigned long limit = msecs_to_jiffies(m->io_deadline);
	unsigned long now = jiffies, stuck;
	struct metro_clone *mc;
	unsigned int i;

	stuck = metro_reads_late(m);
	for (i = 0; i < METRO_SHARDS; i++) {
		struct metro_shard *sh = &m->shards[i];

		spin_lock_irq(&sh->lock);
		list_for_each_entry(mc, &sh->clones, list)
			if (time_after(now, mc->start + limit))
				stuck |= BIT(mc->leg);
		spin_unlock_irq(&sh->lock);
	}
	for_each_set_bit(i, &stuck, METRO_NR_LEGS)
		set_bit(METRO_WORK_STALLED + i, &m->work_flags);
	if (stuck)
		metro_wake_worker(m);
	metro_bounce_trim(&m->pool->bounce);

	spin_lock_irq(&m->lock);
	if (!m->suspended)
		queue_delayed_work(system_wq, &m->watchdog, metro_watchdog_period(m));
	spin_unlock_irq(&m->lock);
}
