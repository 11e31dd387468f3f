// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-metro: the per-volume worker, on the volume's ordered workqueue.
 *
 * It takes what the bio path cannot do in map or in completion context:
 * writes into regions not yet marked in the write-intent bitmap (marked in
 * one batch, then issued), bios that failed on a leg and legs the
 * watchdog or a resync copy found stalled (the legs detached and the
 * detach committed to the superblocks before any of those writes is
 * acknowledged, reads retried on the other leg), the end of a resync, and
 * the superblock writes that record where an online verify is.
 */
#include <linux/bio.h>

#include "metro-cluster.h"
#include "metro-io.h"
#include "metro-log.h"

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
EXPORT_SYMBOL_GPL(metro_defer_bios);

void metro_defer_bio(struct metro_c *m, struct bio *bio, struct bio_list *list)
{
	unsigned long flags;

	spin_lock_irqsave(&m->lock, flags);
	bio_list_add(list, bio);
	spin_unlock_irqrestore(&m->lock, flags);
	metro_wake_worker(m);
}

/* Retry a failed read on the other leg, or fail it.  Worker context. */
static void metro_retry_read(struct metro_c *m, struct bio *bio,
			     struct metro_io *io)
{
	int i = metro_choose_read_leg(m, io->region, io->leg);

	if (i < 0) {
		bio->bi_status = io->status;
		bio_endio(bio);
		return;
	}
	DMWARN_LIMIT("%s: read of region %lu failed on leg %c, retrying on leg %c",
		     metro_name(m), io->region, metro_leg_letter(io->leg), metro_leg_letter(i));
	metro_send_read(m, bio, io, i, true);
}

/*
 * Bios that saw an I/O error on one leg: detach the leg(s), commit the
 * superblocks once for the whole batch, then complete or retry the bios.
 */
static void metro_handle_failed(struct metro_c *m, struct bio_list *bios)
{
	unsigned long r, oos_last, alive, failed_legs = 0, stalled = 0, was_alive;
	unsigned int i;
	struct bio *bio;
	bool detached = false, committed = true;
	char why[64];
	int tx;

	was_alive = metro_alive_mask(m);

	mutex_lock(&m->md_lock);
	/*
	 * Cluster mode: the detach is a change of the cluster's state, and
	 * the transaction brings in what other nodes changed first.  Without
	 * it nothing is detached, and the writes fail.
	 */
	tx = metro_cluster_tx_begin(m);
	for (i = 0; i < METRO_NR_LEGS; i++) {
		if (test_and_clear_bit(METRO_WORK_FAIL_LEG + i, &m->work_flags))
			failed_legs |= BIT(i);
		if (test_and_clear_bit(METRO_WORK_STALLED + i, &m->work_flags))
			stalled |= BIT(i);
	}
	bio_list_for_each(bio, bios) {
		struct metro_io *io = metro_io(bio);

		if (io->kind != METRO_IO_READ)
			failed_legs |= io->failed_mask;
		else
			failed_legs |= BIT(io->leg);
	}
	if (tx)
		failed_legs = stalled = 0;
	for_each_set_bit(i, &stalled, METRO_NR_LEGS) {
		if (!metro_leg_alive(&m->legs[i]))
			continue;
		snprintf(why, sizeof(why), "its I/O deadline (no completion in %u ms)",
			 m->io_deadline);
		if (metro_log_leg_failed(m, i, why))
			detached = true;
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
	if (tx)
		committed = false;
	else
		metro_cluster_tx_end(m);
	mutex_unlock(&m->md_lock);
	if (detached)
		dm_table_event(m->ti->table);
	/*
	 * What is still in flight on a leg detached now, or on a detached
	 * leg the watchdog found stuck, is not waited for.
	 */
	if (m->io_deadline)
		for (i = 0; i < METRO_NR_LEGS; i++)
			if (((was_alive | stalled) & BIT(i)) &&
			    !metro_leg_alive(&m->legs[i]))
				metro_abandon_leg(m, i);

	while ((bio = bio_list_pop(bios))) {
		struct metro_io *io = metro_io(bio);

		switch (io->kind) {
		case METRO_IO_WRITE:
		case METRO_IO_FLUSH:
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
		}
	}
}

static void metro_handle_deferred(struct metro_c *m, struct bio_list *bios)
{
	struct bio *bio;

	/* Cluster mode: writes into regions another node owns wait for them. */
	metro_cluster_acquire(m, bios);
	if (bio_list_empty(bios))
		return;
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
	    test_bit(METRO_WORK_FAIL_LEG + 1, &m->work_flags) ||
	    test_bit(METRO_WORK_STALLED, &m->work_flags) ||
	    test_bit(METRO_WORK_STALLED + 1, &m->work_flags))
		metro_handle_failed(m, &failed);
	if (!bio_list_empty(&deferred))
		metro_handle_deferred(m, &deferred);
	if (test_and_clear_bit(METRO_WORK_SYNC_DONE, &m->work_flags))
		metro_log_sync_done(m);
	if (test_and_clear_bit(METRO_WORK_CHECK_SAVE, &m->work_flags))
		metro_log_check_save(m);
}

