/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-metro: background copy of out-of-sync regions, and the online
 * verify (check, repair) that compares the legs through the same engine.
 */
#ifndef DM_METRO_RESYNC_H
#define DM_METRO_RESYNC_H

#include "metro.h"

/* Allow copies and kick the engine (resume).  May block. */
void metro_resync_start(struct metro_c *m);

/*
 * Stop starting copies and wait for those in flight (presuspend, dtr): at
 * most the I/O deadline per chunk copy, which then gives its I/O up.
 */
void metro_resync_stop(struct metro_c *m);

/* Kick the engine; any context. */
void metro_resync_kick(struct metro_c *m);

/* Seconds until the resync is done, 0 when done, -1 when unknown; lockless. */
long long metro_resync_eta(struct metro_c *m);

/* Message: change the rate limit (KiB/s, 0 = none).  May block. */
void metro_resync_set_rate(struct metro_c *m, unsigned int rate);

/* Messages: pause and resume copying.  May block. */
void metro_resync_pause(struct metro_c *m, bool pause);

/*
 * Messages "check", "repair" and "check_stop": start comparing the legs
 * at region @first (@repair: and copy what differs from leg @from), or
 * stop.  0, or an error with the reason in the kernel log.  May block.
 */
int metro_check_start(struct metro_c *m, bool repair, unsigned int from,
		      unsigned long first);
int metro_check_stop(struct metro_c *m);

/*
 * Superblocks: record a running check in @info (every superblock write,
 * md_lock held), and go on with the check @sb recorded (activation).
 */
void metro_check_record(struct metro_c *m, struct metro_sb_info *info);
void metro_check_resume(struct metro_c *m, const struct metro_sb_info *sb);

/* Is a check running (@repair: a repair)?  For the status line. */
bool metro_check_running(struct metro_c *m, bool *repair);

/*
 * Status: " check <state> <pos>/<total> <mismatches> <eta> <regions>"
 * appended at *@szp of @result (Documentation/dm-metro.rst).
 */
void metro_check_status(struct metro_c *m, char *result, unsigned int maxlen,
			unsigned int *szp);

/* The engine, as delayed work on m->wq. */
void metro_resync_work(struct work_struct *ws);

/* A chunk copy, a slot's work on m->copy_wq. */
void metro_copy_work(struct work_struct *ws);

/* Free the chunk buffers (dtr, after metro_resync_stop()). */
void metro_resync_free(struct metro_c *m);

/*
 * A write found one of its regions being copied.  METRO_ADMIT_GO: it does
 * not touch the chunk in flight and may go; its in-flight count on @count
 * is taken.  METRO_ADMIT_PARKED: it waits for a copy and is handed back
 * to the worker later.  METRO_ADMIT_RETRY: no copy any more, try the
 * normal path again.  A NULL @count (a write over several regions) is
 * never admitted during a copy.  Any context; the caller must not hold an
 * in-flight count for the bio.
 */
enum metro_admit {
	METRO_ADMIT_RETRY,
	METRO_ADMIT_GO,
	METRO_ADMIT_PARKED,
};

enum metro_admit metro_resync_admit(struct metro_c *m, struct bio *bio,
				    unsigned long first, unsigned long last,
				    atomic_t *count);

#endif /* DM_METRO_RESYNC_H */
