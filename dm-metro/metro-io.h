/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-metro: what the bio path (metro-io.c), the I/O deadline
 * (metro-deadline.c) and the worker (metro-worker.c) offer each other and
 * the target glue.
 */
#ifndef DM_METRO_IO_H
#define DM_METRO_IO_H

#include "metro.h"

static inline struct metro_io *metro_io(struct bio *bio)
{
	return dm_per_bio_data(bio, sizeof(struct metro_io));
}

static inline struct bio *metro_io_bio(struct metro_io *io)
{
	return dm_bio_from_per_bio_data(io, sizeof(struct metro_io));
}

static inline unsigned long metro_last_region(struct metro_c *m, struct bio *bio)
{
	return metro_region(m, bio_end_sector(bio) - 1);
}

/* metro-io.c: target hooks. */
int metro_map(struct dm_target *ti, struct bio *bio);
/* A bio the cluster mode held in map goes on; process context. */
void metro_map_held(struct metro_c *m, struct bio *bio);
int metro_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error);

/* metro-io.c: for the worker and the deadline.  Any context unless noted. */
void metro_clone_put(struct metro_clone *mc);
void metro_inflight_put(struct metro_c *m, struct metro_io *io);
/* One clone of a write or flush ended (or was abandoned) with @status. */
void metro_fan_out_put(struct metro_io *io, unsigned int leg, blk_status_t status);
/* A read ended on its leg with @status: complete it or have it retried. */
void metro_read_done(struct metro_io *io, blk_status_t status);
/* The leg to read region @r from, never @exclude; -1: none holds it. */
int metro_choose_read_leg(struct metro_c *m, unsigned long r, int exclude);
/* Send a read clone to leg @i; @retry: from the worker. */
void metro_send_read(struct metro_c *m, struct bio *bio, struct metro_io *io,
		     unsigned int i, bool retry);
/* The worker: a write whose regions are marked on disk now. */
void metro_dispatch_deferred(struct metro_c *m, struct bio *bio);

/* metro-deadline.c: clones and reads in flight under the I/O deadline. */
void metro_track(struct metro_c *m, struct metro_clone *mc);
/* A clone completed: true when it had been abandoned (and is freed now). */
bool metro_untrack(struct metro_clone *mc);
/* The worker: end the originals of leg @leg's clones still in flight. */
void metro_abandon_leg(struct metro_c *m, unsigned int leg);
/* The watchdog (delayed work on system_wq). */
void metro_watchdog(struct work_struct *ws);

/*
 * Under the deadline, count a remapped read in the current epoch (see
 * struct metro_read_ages).  Without preemption between reading the epoch
 * and counting: a read counted in an epoch long gone would look late.
 */
static inline void metro_read_age_add(struct metro_c *m, struct metro_io *io)
{
	if (!m->io_deadline) {
		io->epoch = -1;
		return;
	}
	preempt_disable();
	io->epoch = READ_ONCE(m->read_epoch) % METRO_READ_EPOCHS;
	this_cpu_inc(m->read_ages->n[io->leg][io->epoch]);
	preempt_enable();
}

/* A remapped read completed; any CPU, any context. */
static inline void metro_read_age_del(struct metro_c *m, struct metro_io *io)
{
	if (io->epoch >= 0)
		this_cpu_dec(m->read_ages->n[io->leg][io->epoch]);
}

/* metro-worker.c: the per-volume worker (work on m->wq). */
void metro_worker(struct work_struct *ws);
/* Ask the worker to run; any context. */
void metro_wake_worker(struct metro_c *m);
/* Hand @bio to the worker on @list (m->deferred or m->failed); any context. */
void metro_defer_bio(struct metro_c *m, struct bio *bio, struct bio_list *list);
/* Hand @bios (writes) back to the worker's deferred list; any context. */
void metro_defer_bios(struct metro_c *m, struct bio_list *bios);

#endif /* DM_METRO_IO_H */
