/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-metro: superblocks, generations, leg state and the write-intent
 * bitmap: what is on disk and what decides which leg is current.
 *
 * Each function says whether it takes md_lock itself or needs it held;
 * all but metro_log_split_brain() and metro_log_check_alone() may block
 * (for metadata I/O, at most the I/O deadline per request).
 */
#ifndef DM_METRO_LOG_H
#define DM_METRO_LOG_H

#include "metro.h"

/* Read and decode the superblock of @leg into leg->sb (ctr, no md_lock). */
int metro_log_read_sb(struct metro_c *m, struct metro_leg *leg, const char **err);

/* Load superblocks and bitmaps and take ownership of the legs (preresume). */
int metro_log_load(struct metro_c *m);

/* Mark every region of @bios in the bitmap, committed on every live leg. */
int metro_log_mark(struct metro_c *m, struct bio_list *bios);

/* The periodic clearing pass (delayed work on m->wq). */
void metro_log_clear_work(struct work_struct *ws);

/* Clear every quiet region and mark the superblocks clean (postsuspend). */
void metro_log_suspend(struct metro_c *m);

/*
 * Detach @leg after an error; needs md_lock.  Returns false (and detaches
 * nothing) when @leg is the last live leg.  The caller must then call
 * metro_log_commit_sb() before completing any bio that depends on it.
 */
bool metro_log_leg_failed(struct metro_c *m, unsigned int leg, const char *why);

/* Another cluster node detached leg @leg: stop using it; needs md_lock. */
void metro_log_leg_detached_elsewhere(struct metro_c *m, unsigned int leg);

/*
 * Write the superblocks of the live legs (events++); needs md_lock.  In
 * cluster mode, inside a transaction of the cluster's state.
 */
int metro_log_commit_sb(struct metro_c *m);

/* Explain in the kernel log why the legs' generations cannot be ordered. */
void metro_log_split_brain(struct metro_c *m);

/* 0 when leg @leg (superblock read) may run without the other one. */
int metro_log_check_alone(struct metro_c *m, unsigned int leg);

/*
 * Cluster mode: add the bits of bitmap slot @slot to this node's (and to
 * the regions out of sync), then clear @slot on disk if @zero.  @buf:
 * bm_bytes of scratch; *@merged: how many regions were new here.  Needs
 * md_lock.
 */
int metro_log_merge_slot(struct metro_c *m, unsigned int slot, bool zero,
			 u8 *buf, unsigned long *merged);

/* Clear the stale flag once resync has copied everything; takes md_lock. */
void metro_log_sync_done(struct metro_c *m);

/* Record the check's state in the superblocks (worker; takes md_lock). */
void metro_log_check_save(struct metro_c *m);

#endif /* DM_METRO_LOG_H */
