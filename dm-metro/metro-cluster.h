/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-metro: the seam between the volume and its cluster mode.
 *
 * A volume whose superblocks name a corosync cluster (format version 2,
 * metro_sb_clustered()) is written by up to METRO_MAX_SLOTS nodes at once.
 * What that takes lives in another module, dm-metro-cluster.ko
 * (metro-cluster.c), on the kernel DLM: it registers the ops below, and
 * dm-metro loads it (request_module) when it activates a clustered
 * volume.  A single-host volume has m->cluster NULL: every wrapper below
 * is then a test of that pointer and nothing else, and dm-metro.ko does
 * not depend on the DLM.
 *
 * What the cluster mode adds, and where dm-metro calls it:
 *
 * - Join and leave (preresume, before the metadata is loaded; postsuspend,
 *   after it is written): the lockspace, this node's bitmap slot
 *   (m->bm_slot) and the state lock.
 * - Region ownership.  A node writes a region only while it holds the
 *   region's DLM lock in EX; it keeps the lock until another node asks
 *   for it (a blocking callback), then drains its writes into the region
 *   and gives it up.  So writes to one block from two nodes are never in
 *   flight at once and both legs see them in the same order.  The write
 *   fast path tests m->fast, which a single host points at m->dirty and
 *   the cluster mode at its own bitmap, set under its lock for regions
 *   both marked and owned: writes to owned regions cost no round trip.
 *   The worker asks metro_cluster_acquire() for the rest, and
 *   metro_dispatch_deferred() checks ownership again after counting the
 *   write in the range gate (metro_cluster_owns()); the revocation clears
 *   ownership first and then waits for the gate, as a copy does
 *   (metro-gate.h).
 * - Cluster-wide state.  Every change of leg state and every superblock
 *   write is one transaction (metro_cluster_tx_begin/end) under the
 *   cluster's state lock in EX; the other nodes hold their new I/O from
 *   the moment it is asked for until they have applied the change
 *   (metro_cluster_hold()).  So a write that skipped a failed leg is
 *   acknowledged only once no node reads that leg any more.
 */
#ifndef DM_METRO_CLUSTER_H
#define DM_METRO_CLUSTER_H

#include "metro.h"

struct metro_cluster_ops {
	/* preresume: join the cluster; 0 or -errno, and a line in the log */
	int (*join)(struct metro_c *m);
	/* postsuspend and dtr: leave it; every lock is given back */
	void (*leave)(struct metro_c *m);
	/*
	 * map: keep @bio while this node may not do I/O (a state change
	 * elsewhere, lockspace recovery); true when taken.
	 */
	bool (*hold)(struct metro_c *m, struct bio *bio);
	/*
	 * Worker: take the bios of @bios into regions this node does not
	 * own off the list, and start asking for those regions; they come
	 * back through the deferred list once owned.
	 */
	void (*acquire)(struct metro_c *m, struct bio_list *bios);
	/* Worker, md_lock held: regions first..last are marked now. */
	void (*marked)(struct metro_c *m, unsigned long first, unsigned long last);
	/* Lockless: does this node own every region of first..last? */
	bool (*owns)(struct metro_c *m, unsigned long first, unsigned long last);
	/*
	 * Resync engine, region @r claimed: may the copy start?  If not, the
	 * region is asked for and the engine kicked once it is owned.
	 */
	bool (*copy_owns)(struct metro_c *m, unsigned long r);
	/* preresume, after the metadata is loaded: take over leftover slots */
	int (*loaded)(struct metro_c *m);
	/* md_lock held, in a transaction: does another node copy regions? */
	bool (*others_resyncing)(struct metro_c *m);
	/* md_lock held: start, and end, a change of the volume's state */
	int (*tx_begin)(struct metro_c *m);
	void (*tx_end)(struct metro_c *m);
	/* status: " <fields>" appended to the INFO line */
	void (*status)(struct metro_c *m, char *result, unsigned int maxlen,
		       unsigned int *sz);
	struct module *owner;
};

/* dm-metro-cluster.ko registers its ops at load and removes them at unload. */
int metro_cluster_register(const struct metro_cluster_ops *ops);
void metro_cluster_unregister(void);

/* metro-target.c: load and pin the cluster module for a clustered volume. */
int metro_cluster_get(struct metro_c *m);
void metro_cluster_put(struct metro_c *m);

/* Joined: between the cluster's join (preresume) and leave (postsuspend). */
static inline bool metro_clustered(struct metro_c *m)
{
	return m->cluster != NULL;
}

static inline bool metro_cluster_hold(struct metro_c *m, struct bio *bio)
{
	return unlikely(metro_clustered(m)) && m->cluster_ops->hold(m, bio);
}

static inline void metro_cluster_acquire(struct metro_c *m, struct bio_list *bios)
{
	if (metro_clustered(m))
		m->cluster_ops->acquire(m, bios);
}

static inline void metro_cluster_marked(struct metro_c *m, unsigned long first,
					unsigned long last)
{
	if (metro_clustered(m))
		m->cluster_ops->marked(m, first, last);
}

static inline bool metro_cluster_owns(struct metro_c *m, unsigned long first,
				      unsigned long last)
{
	return !metro_clustered(m) || m->cluster_ops->owns(m, first, last);
}

static inline bool metro_cluster_copy_owns(struct metro_c *m, unsigned long r)
{
	return !metro_clustered(m) || m->cluster_ops->copy_owns(m, r);
}

/* The clearing pass took region @r's mark away: no fast path any more. */
static inline void metro_cluster_unmarked(struct metro_c *m, unsigned long r)
{
	if (m->fast != m->dirty)
		clear_bit(r, m->fast);
}

static inline bool metro_cluster_others_resyncing(struct metro_c *m)
{
	return metro_clustered(m) && m->cluster_ops->others_resyncing(m);
}

static inline int metro_cluster_tx_begin(struct metro_c *m)
{
	return metro_clustered(m) ? m->cluster_ops->tx_begin(m) : 0;
}

static inline void metro_cluster_tx_end(struct metro_c *m)
{
	if (metro_clustered(m))
		m->cluster_ops->tx_end(m);
}

#endif /* DM_METRO_CLUSTER_H */
