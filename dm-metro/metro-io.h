/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-metro: the I/O path.
 */
#ifndef DM_METRO_IO_H
#define DM_METRO_IO_H

#include "metro.h"

/* Target hooks. */
int metro_map(struct dm_target *ti, struct bio *bio);
int metro_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error);

/* The bounce pages of reads under the I/O deadline (ctr and dtr). */
void metro_bounce_setup(struct metro_bounce *b);
int metro_bounce_init(struct metro_bounce *b);
void metro_bounce_exit(struct metro_bounce *b);

/* The I/O deadline watchdog (delayed work on system_wq). */
void metro_watchdog(struct work_struct *ws);

/* Wait until every abandoned bio and metadata write has completed. */
void metro_wait_late(struct metro_c *m);

/* The per-volume worker (work on m->wq). */
void metro_worker(struct work_struct *ws);

/* Hand @bios (writes) back to the worker; any context. */
void metro_defer_bios(struct metro_c *m, struct bio_list *bios);

/* Ask the worker to run; any context. */
void metro_wake_worker(struct metro_c *m);

#endif /* DM_METRO_IO_H */
