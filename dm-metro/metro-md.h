/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-metro: metadata I/O to the legs, and waits bounded by the I/O
 * deadline.
 */
#ifndef DM_METRO_MD_H
#define DM_METRO_MD_H

#include "metro.h"

/*
 * Metadata I/O of @count sectors at @sector to each leg in @mask: a write
 * of @buf[leg] (REQ_OP_WRITE, with REQ_PREFLUSH and no @count: a flush)
 * or a read into it.  All legs at once, in requests of at most
 * METRO_MD_MAX_PAGES pages that own their pages: data is copied into them
 * before submission and out of them after completion, so a request
 * abandoned on the I/O deadline never maps memory that anybody reuses.
 * Returns the mask of legs whose I/O failed or was abandoned.  May block,
 * each request at most the I/O deadline.
 */
unsigned long metro_md_rw(struct metro_c *m, unsigned long mask, blk_opf_t opf,
			  void *const buf[METRO_NR_LEGS], sector_t sector,
			  sector_t count);

/*
 * Wait for @done, an I/O to leg @leg that started no earlier than
 * @start (jiffies), until the I/O deadline has passed since: true when it
 * completed, false when it is late.  Without a deadline, wait for as long
 * as it takes, saying every METRO_WAIT_LOG_PERIOD in the kernel log what
 * is waited for (@what: "a metadata write", ...).  May block.
 */
bool metro_wait_io(struct metro_c *m, struct completion *done, unsigned long start,
		   unsigned int leg, const char *what);

/* Front pad of the pool's md_bs for a request (metro_pool_create()). */
unsigned int metro_md_req_pad(void);

/* How often a wait with no deadline says that it still waits. */
#define METRO_WAIT_LOG_PERIOD	(10 * HZ)

#endif /* DM_METRO_MD_H */
