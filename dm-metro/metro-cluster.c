// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-metro-cluster: the cluster mode of dm-metro, on the kernel DLM.
 *
 * A clustered volume (its superblocks name a corosync cluster) joins one
 * DLM lockspace, "metro-<volume uuid>", at every node that activates it;
 * dlm_controld joins the lockspace to corosync's membership and stops it
 * on a node without quorum.  Three kinds of locks live in it:
 *
 *   slot-<n>   EX while node holds bitmap slot n (the DLM numbers the
 *              members' slots; ours comes with the first recovery).
 *   token      EX while a node changes the volume's state: one changer
 *              at a time, so that no two state conversions deadlock.
 *   state      PR at every node doing I/O; EX for a change.  Its value
 *              block (struct metro_state_lvb) carries the state every
 *              node must agree on: the legs detached cluster-wide and the
 *              superblock events.
 *   r<region>  EX while the node owns the region: it alone writes it.
 *              Kept (cached, at most METRO_CL_LOCKS at once) until
 *              another node asks, like a GFS2 glock.
 *
 * A change (a leg detached, any superblock write) is a transaction under
 * token and state in EX (metro_cl_tx_begin/end, with md_lock held).  The
 * other nodes are asked for their PR by the DLM (a blocking callback):
 * they hold every new bio (metro_cl_hold) and convert to NL, then queue a
 * PR request again, granted once the changer is back at PR with the new
 * value block, which they apply (metro_cl_apply_work) before letting the
 * held bios go.  So no node has a bio in map while another changes the
 * state, and the changer acknowledges a write that skipped a leg only
 * once every node has stopped reading that leg.
 *
 * Region ownership is described in metro-cluster.h.  The revocation
 * (metro_cl_revoke_work) waits for the writes counted in the range gate
 * and for a copy of the region, at most the I/O deadline each, since the
 * region's bits and the gate are what a write and a copy test.
 *
 * Every wait on the DLM is bounded or says every METRO_WAIT_LOG_PERIOD in
 * the kernel log what it waits for: a node without quorum waits for as
 * long as it has none, and acknowledges no write meanwhile.
 */
#include <linux/bio.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/dlm.h>
#include <linux/hash.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "metro.h"
#include "metro-cluster.h"
#include "metro-io.h"
#include "metro-log.h"
#include "metro-md.h"
#include "metro-resync.h"

/* Region locks a node keeps at most; more are given back, oldest first. */
#define METRO_CL_LOCKS		1024
#define METRO_CL_HASH_BITS	8

/*
 * A region granted is kept at least this long, as GFS2 keeps a glock: the
 * write or copy that asked for it gets to run before another node takes
 * it back, and regions two nodes write at once move at most every 20 ms.
 */
#define METRO_CL_MIN_HOLD	msecs_to_jiffies(20)

/* Bytes of the state lock's value block (a multiple of 8). */
#define METRO_CL_LVB_LEN	32

/* How long a join waits for the lockspace and its first recovery. */
#define METRO_CL_JOIN_TIMEOUT	(60 * HZ)

/*
 * The state every node agrees on, in the state lock's value block: what
 * the superblocks say, so that a node need not read them to follow a
 * change, and which nodes copy regions the others do not know of.
 */
struct metro_state_lvb {
	__le64 seq;		/* bumped by every transaction */
	__le64 events;		/* superblock events of the last write */
	__le32 legs;		/* METRO_CL_DEAD(leg) | METRO_CL_STALE(leg) */
	__le32 resyncing;	/* slots whose node copies regions (bit per slot) */
	__le32 magic;		/* METRO_CL_LVB_MAGIC once written */
	__le32 reserved;
};

#define METRO_CL_DEAD(leg)	BIT(leg)
#define METRO_CL_STALE(leg)	BIT(8 + (leg))
#define METRO_CL_LVB_MAGIC	0x4d43u

/* A lock the node waits for synchronously: slot, token, state. */
struct metro_dlock {
	struct metro_cluster *c;
	struct dlm_lksb lksb;
	struct completion done;	/* the last request completed */
	int mode;		/* granted mode, DLM_LOCK_IV when none */
	char name[16];
	char lvb[METRO_CL_LVB_LEN];
};

/* Region lock states (struct metro_rlock.state), under metro_cluster.lock. */
enum {
	METRO_RL_FREE,		/* on the free list */
	METRO_RL_TO_ASK,	/* in the hash, the request not sent yet */
	METRO_RL_ASKING,	/* EX requested */
	METRO_RL_OWNED,		/* EX granted: the region's owned bit is set */
	METRO_RL_REVOKING,	/* asked for: draining, then unlocked */
	METRO_RL_UNLOCKING,	/* unlock requested */
};

/*
 * A region lock.  @state, @region, @hash and @lru are protected by the
 * cluster's @lock; @lksb belongs to the DLM while a request is out.
 */
struct metro_rlock {
	struct metro_cluster *c;
	unsigned long region;
	int state;
	struct hlist_node hash;
	struct list_head lru;		/* free list, or owned by last grant */
	unsigned long since;		/* jiffies: revocation started */
	bool wanted;			/* asked for before our grant came */
	unsigned long granted;		/* jiffies: EX granted */
	struct dlm_lksb lksb;
	char name[20];
};

/*
 * The cluster side of a volume.
 *
 * @lock (a spinlock, taken from DLM callbacks and from map) protects the
 * region locks, @owned and @fast, the @waiting and @held lists and
 * @holding.  md_lock protects @tx_depth and @seq (the last state applied).
 */
struct metro_cluster {
	struct metro_c *m;
	dlm_lockspace_t *ls;
	char ls_name[DLM_LOCKSPACE_LEN + 1];
	struct completion recovered;	/* the first recover_done came */
	int our_slot;			/* DLM's, 1-based; 0 until recovered */
	atomic_t recovering;		/* lockspace stopped for recovery */

	struct metro_dlock slot, token, state;
	unsigned int tx_depth;
	u64 seq;
	u32 resyncing;			/* from the value block: see above */
	bool loaded;			/* this node's metadata is loaded */
	bool in_tx;			/* token held: ignore state callbacks */
	unsigned long dead_slots;	/* slots of nodes that left, to take over */
	struct work_struct recovery_work;

	spinlock_t lock;
	unsigned long *owned;		/* regions whose lock we hold in EX */
	unsigned long *fast;		/* owned and marked: m->fast */
	struct metro_rlock *rl;		/* METRO_CL_LOCKS of them */
	struct hlist_head hash[1 << METRO_CL_HASH_BITS];
	struct list_head free, lru;
	unsigned int nr_owned;
	struct bio_list waiting;	/* writes into regions not owned */
	struct bio_list held;		/* bios held during a state change */
	bool holding;
	/* no region is kept any more, the state lock not converted (lock) */
	bool leaving;
	bool reattaching;		/* see metro_cl_wait_late() */

	struct workqueue_struct *wq;
	struct delayed_work revoke_work;
	struct delayed_work hold_log_work; /* says what held I/O waits for */
	unsigned long recover_since;	/* jiffies: the lockspace stopped */
	struct work_struct apply_work;
	struct work_struct ask_work;	/* sends the region requests */
	struct work_struct event_work;	/* a dm event for a change applied in a tx */
	struct work_struct wake_work;	/* hands @waiting back to the worker */
};

static struct metro_cluster *metro_cl(struct metro_c *m)
{
	return m->cluster;
}

/* ---------------------------------------------------------------------- */
/* Synchronous locks                                                      */
/* ---------------------------------------------------------------------- */

static void metro_dlock_ast(void *arg)
{
	struct metro_dlock *l = arg;

	complete(&l->done);
}

static void metro_state_bast(void *arg, int mode);

/*
 * Wait for the request on @l, saying every METRO_WAIT_LOG_PERIOD what it
 * waits for.  The DLM answers every request; a node without quorum waits
 * until it has quorum again, and says so.
 */
static int metro_dlock_wait(struct metro_dlock *l, const char *what)
{
	struct metro_c *m = l->c->m;
	unsigned long start = jiffies;

	while (!wait_for_completion_timeout(&l->done, METRO_WAIT_LOG_PERIOD))
		DMWARN("%s: waiting %us for the cluster lock %s (%s): no answer from the DLM; does this node have quorum (corosync-quorumtool)?",
		       metro_name(m), jiffies_to_msecs(jiffies - start) / 1000,
		       l->name, what);
	return l->lksb.sb_status;
}

/* Request or convert @l to @mode and wait; 0 or -errno. */
static int metro_dlock(struct metro_dlock *l, int mode, u32 flags,
		       const char *what)
{
	struct metro_cluster *c = l->c;
	int r;

	if (l->mode != DLM_LOCK_IV)
		flags |= DLM_LKF_CONVERT;
	reinit_completion(&l->done);
	r = dlm_lock(c->ls, mode, &l->lksb, flags, l->name, strlen(l->name), 0,
		     metro_dlock_ast, l, l == &c->state ? metro_state_bast : NULL);
	if (r)
		return r;
	r = metro_dlock_wait(l, what);
	if (!r)
		l->mode = mode;
	return r;
}

static void metro_dunlock(struct metro_dlock *l)
{
	struct metro_cluster *c = l->c;

	if (l->mode == DLM_LOCK_IV)
		return;
	reinit_completion(&l->done);
	if (!dlm_unlock(c->ls, l->lksb.sb_lkid, 0, &l->lksb, l))
		metro_dlock_wait(l, "an unlock");
	l->mode = DLM_LOCK_IV;
}

static void metro_dlock_init(struct metro_cluster *c, struct metro_dlock *l,
			     const char *name)
{
	l->c = c;
	init_completion(&l->done);
	l->mode = DLM_LOCK_IV;
	l->lksb.sb_lvbptr = l->lvb;
	strscpy(l->name, name, sizeof(l->name));
}

/* ---------------------------------------------------------------------- */
/* The state lock: holding I/O while another node changes the state       */
/* ---------------------------------------------------------------------- */

static bool metro_cl_hold(struct metro_c *m, struct bio *bio)
{
	struct metro_cluster *c = metro_cl(m);
	unsigned long flags;
	bool held = false;

	if (!READ_ONCE(c->holding) && !atomic_read(&c->recovering))
		return false;
	spin_lock_irqsave(&c->lock, flags);
	if (c->holding || atomic_read(&c->recovering)) {
		bio_list_add(&c->held, bio);
		held = true;
	}
	spin_unlock_irqrestore(&c->lock, flags);
	return held;
}

/* Let the held bios go (no state change and no recovery in progress). */
static void metro_cl_release_held(struct metro_cluster *c)
{
	struct bio_list held;
	struct bio *bio;

	spin_lock_irq(&c->lock);
	if (atomic_read(&c->recovering) || READ_ONCE(c->dead_slots)) {
		spin_unlock_irq(&c->lock);
		return;
	}
	c->holding = false;
	held = c->held;
	bio_list_init(&c->held);
	spin_unlock_irq(&c->lock);
	while ((bio = bio_list_pop(&held)))
		metro_map_held(c->m, bio);
}

/*
 * The PR request queued after a blocking callback was granted: the
 * changer is done.  Apply what it changed, then let the held bios go.
 */
static void metro_state_regrant_ast(void *arg)
{
	struct metro_dlock *l = arg;
	struct metro_cluster *c = l->c;

	if (l->lksb.sb_status) {
		DMERR("%s: the cluster state lock was not granted again (error %d): I/O stays held; stop the volume and assemble it again",
		      metro_name(c->m), l->lksb.sb_status);
		return;
	}
	l->mode = DLM_LOCK_PR;
	complete(&l->done);
	queue_work(c->wq, &c->apply_work);
}

/* Converted to NL: queue the PR request the changer will let through. */
static void metro_state_nl_ast(void *arg)
{
	struct metro_dlock *l = arg;
	struct metro_cluster *c = l->c;
	int r;

	if (l->lksb.sb_status) {
		DMERR("%s: cannot give up the cluster state lock (error %d): the change another node asked for waits",
		      metro_name(c->m), l->lksb.sb_status);
		return;
	}
	l->mode = DLM_LOCK_NL;
	r = dlm_lock(c->ls, DLM_LOCK_PR, &l->lksb, DLM_LKF_CONVERT | DLM_LKF_VALBLK,
		     l->name, strlen(l->name), 0, metro_state_regrant_ast, l,
		     metro_state_bast);
	if (r)
		DMERR("%s: cannot ask for the cluster state lock again (error %d): I/O stays held; stop the volume and assemble it again",
		      metro_name(c->m), r);
}

/*
 * Another node asks for the state lock in EX.  From now on hold new bios;
 * give our PR up (bios already mapped complete on their own: a write in
 * flight is serialised by its region lock, a read in flight ended before
 * the change is acknowledged, or overlaps it).
 */
static void metro_state_bast(void *arg, int mode)
{
	struct metro_dlock *l = arg;
	struct metro_cluster *c = l->c;
	int r;

	/* Our own transaction, or giving it up already. */
	if (l->mode != DLM_LOCK_PR || READ_ONCE(c->in_tx))
		return;
	/*
	 * Leaving unlocks it soon (metro_cl_leave()): a conversion started
	 * then would race with that unlock.  Under c->lock, so that leaving
	 * sees either this conversion or none.
	 */
	spin_lock_irq(&c->lock);
	if (c->leaving) {
		spin_unlock_irq(&c->lock);
		return;
	}
	c->holding = true;
	reinit_completion(&l->done);
	l->mode = DLM_LOCK_IV;	/* in conversion */
	spin_unlock_irq(&c->lock);
	r = dlm_lock(c->ls, DLM_LOCK_NL, &l->lksb, DLM_LKF_CONVERT, l->name,
		     strlen(l->name), 0, metro_state_nl_ast, l, metro_state_bast);
	if (r)
		DMERR("%s: cannot give up the cluster state lock (error %d): the change another node asked for waits",
		      metro_name(c->m), r);
}

/*
 * Leg @i comes back while this node's transport may still hold writes
 * that it abandoned on the leg's deadline: one landing after another
 * node copied its region would leave the legs different.  Wait until the
 * device has returned them (I/O held meanwhile, and no region given to
 * another node: see metro_cl_revoke_work()), saying so every
 * METRO_WAIT_LOG_PERIOD.
 */
static void metro_cl_wait_late(struct metro_cluster *c, unsigned int i)
{
	struct metro_c *m = c->m;
	unsigned long start = jiffies, said = jiffies;

	if (!metro_pool_late(m->pool, i))
		return;
	WRITE_ONCE(c->reattaching, true);
	while (metro_pool_late(m->pool, i)) {
		if (time_after(jiffies, said + METRO_WAIT_LOG_PERIOD)) {
			DMWARN("%s: leg %c comes back at another node, and its device here still holds %d writes abandoned on its deadline: waiting %us for it to return them (this node's I/O waits)",
			       metro_name(m), metro_leg_letter(i), metro_pool_late(m->pool, i),
			       jiffies_to_msecs(jiffies - start) / 1000);
			said = jiffies;
		}
		msleep(50);
	}
}

/*
 * Follow the state in the value block (md_lock held): legs another node
 * detached are detached here too, a leg another node brought back is
 * written here again (and read once in sync), and while another node
 * copies regions only the source leg is read.  No superblock write: the
 * changer wrote them.  Until this node has loaded its metadata, only the
 * value block is taken in (the load decides on the legs from the
 * superblocks).  Returns true when a leg changed.
 */
static bool metro_cl_apply_lvb(struct metro_cluster *c)
{
	struct metro_state_lvb *lvb = (struct metro_state_lvb *)c->state.lvb;
	struct metro_c *m = c->m;
	bool changed = false, others;
	unsigned int i;
	u32 legs;

	lockdep_assert_held(&m->md_lock);
	if (le32_to_cpu(lvb->magic) != METRO_CL_LVB_MAGIC ||
	    (c->state.lksb.sb_flags & DLM_SBF_VALNOTVALID))
		return false;
	if (le64_to_cpu(lvb->seq) == c->seq)
		return false;
	c->seq = le64_to_cpu(lvb->seq);
	c->resyncing = le32_to_cpu(lvb->resyncing);
	if (le64_to_cpu(lvb->events) > m->events)
		m->events = le64_to_cpu(lvb->events);
	if (!c->loaded)
		return false;
	legs = le32_to_cpu(lvb->legs);
	for (i = 0; i < METRO_NR_LEGS; i++) {
		struct metro_leg *leg = &m->legs[i];

		if ((legs & METRO_CL_DEAD(i)) && metro_leg_alive(leg)) {
			metro_log_leg_detached_elsewhere(m, i);
			changed = true;
		} else if (!(legs & METRO_CL_DEAD(i)) && !metro_leg_alive(leg)) {
			if (!leg->dev) {
				DMERR("%s: another node brought leg %c back, but this node has no device for it: stop the volume here and assemble it with both legs",
				      metro_name(m), metro_leg_letter(i));
				continue;
			}
			metro_cl_wait_late(c, i);
			WRITE_ONCE(leg->stale, !!(legs & METRO_CL_STALE(i)));
			clear_bit(METRO_LEG_DEAD, &leg->flags);
			WRITE_ONCE(c->reattaching, false);
			DMINFO("%s: another node of the cluster brought leg %c (%s) back; it is written here again",
			       metro_name(m), metro_leg_letter(i), leg->dev->name);
			changed = true;
		} else if (metro_leg_alive(leg) && leg->stale && !(legs & METRO_CL_STALE(i)) &&
			   !atomic_read(&m->nr_out_of_sync)) {
			/* Its resync ended at another node. */
			metro_gen_adopt(&leg->sb, &m->legs[i ^ 1].sb);
			WRITE_ONCE(leg->stale, false);
			changed = true;
		}
	}
	for (i = 0; i < METRO_NR_LEGS; i++)
		if (metro_leg_alive(&m->legs[i]) && !m->legs[i].stale &&
		    (!metro_leg_alive(&m->legs[i ^ 1]) || m->legs[i ^ 1].stale))
			WRITE_ONCE(m->source, i);
	others = !!(c->resyncing & ~BIT(m->bm_slot));
	if (others != READ_ONCE(m->read_source_only))
		changed = true;		/* the engine starts or stops copying */
	WRITE_ONCE(m->read_source_only, others);
	return changed;
}

static void metro_cl_apply_work(struct work_struct *ws)
{
	struct metro_cluster *c = container_of(ws, struct metro_cluster, apply_work);
	struct metro_c *m = c->m;
	bool changed;

	mutex_lock(&m->md_lock);
	changed = metro_cl_apply_lvb(c);
	mutex_unlock(&m->md_lock);
	if (changed) {
		dm_table_event(m->ti->table);
		/* A leg back: this node's own out-of-sync regions can be copied. */
		metro_resync_kick(m);
	}
	metro_cl_release_held(c);
}

static void metro_cl_event_work(struct work_struct *ws)
{
	struct metro_cluster *c = container_of(ws, struct metro_cluster, event_work);

	dm_table_event(c->m->ti->table);
}

/*
 * Refresh the live legs' superblocks from their disks (md_lock, in a tx):
 * another node may have written them.  A leg the worker is about to
 * detach (a failure or stall flagged) is not read, and one whose read
 * fails keeps what this node knew of it: the transaction is there to
 * detach such legs.  -EIO only when no leg could be read.
 */
static int metro_cl_reread_sbs(struct metro_c *m)
{
	unsigned int i, tried = 0, read = 0;
	const char *err;

	lockdep_assert_held(&m->md_lock);
	for (i = 0; i < METRO_NR_LEGS; i++) {
		if (!metro_leg_alive(&m->legs[i]) ||
		    test_bit(METRO_WORK_STALLED + i, &m->work_flags) ||
		    test_bit(METRO_WORK_FAIL_LEG + i, &m->work_flags))
			continue;
		tried++;
		if (metro_log_read_sb(m, &m->legs[i], &err)) {
			DMWARN("%s: leg %c (%s): %s", metro_name(m), metro_leg_letter(i),
			       m->legs[i].dev->name, err);
			continue;
		}
		read++;
		if (m->legs[i].sb.events > m->events)
			m->events = m->legs[i].sb.events;
	}
	return tried && !read ? -EIO : 0;
}

static void metro_cl_tx_end(struct metro_c *m);

static int metro_cl_tx_begin(struct metro_c *m)
{
	struct metro_cluster *c = metro_cl(m);
	int r;

	lockdep_assert_held(&m->md_lock);
	if (c->tx_depth++)
		return 0;
	r = metro_dlock(&c->token, DLM_LOCK_EX, 0, "a change of the volume's state");
	if (r)
		goto fail;
	WRITE_ONCE(c->in_tx, true);
	/* A PR asked for again after a blocking callback must land first. */
	if (c->state.mode != DLM_LOCK_PR)
		metro_dlock_wait(&c->state, "the state lock after another node's change");
	r = metro_dlock(&c->state, DLM_LOCK_EX, DLM_LKF_VALBLK,
			"a change of the volume's state");
	if (r) {
		WRITE_ONCE(c->in_tx, false);
		metro_dunlock(&c->token);
		goto fail;
	}
	/* What another node changed; its apply work will find nothing left. */
	if (metro_cl_apply_lvb(c)) {
		queue_work(c->wq, &c->event_work);	/* not under md_lock */
		metro_resync_kick(m);
	}
	r = metro_cl_reread_sbs(m);
	if (r) {
		c->tx_depth = 1;
		metro_cl_tx_end(m);
		return r;
	}
	return 0;
fail:
	c->tx_depth = 0;
	DMERR("%s: cannot take the cluster state lock (error %d): the change is not made",
	      metro_name(m), r);
	return r;
}

static void metro_cl_tx_end(struct metro_c *m)
{
	struct metro_cluster *c = metro_cl(m);
	struct metro_state_lvb *lvb = (struct metro_state_lvb *)c->state.lvb;
	u32 legs = 0;
	unsigned int i;
	int r;

	lockdep_assert_held(&m->md_lock);
	if (WARN_ON_ONCE(!c->tx_depth) || --c->tx_depth)
		return;
	for (i = 0; i < METRO_NR_LEGS; i++) {
		if (!metro_leg_alive(&m->legs[i]))
			legs |= METRO_CL_DEAD(i);
		else if (m->legs[i].stale)
			legs |= METRO_CL_STALE(i);
	}
	/* This node copies regions the others may not know of. */
	if (atomic_read(&m->nr_out_of_sync) && metro_nr_alive(m) == METRO_NR_LEGS)
		c->resyncing |= BIT(m->bm_slot);
	else
		c->resyncing &= ~BIT(m->bm_slot);
	c->seq++;
	lvb->seq = cpu_to_le64(c->seq);
	lvb->events = cpu_to_le64(m->events);
	lvb->legs = cpu_to_le32(legs);
	lvb->resyncing = cpu_to_le32(c->resyncing);
	lvb->magic = cpu_to_le32(METRO_CL_LVB_MAGIC);
	lvb->reserved = 0;
	r = metro_dlock(&c->state, DLM_LOCK_PR, DLM_LKF_VALBLK, "the end of a change");
	if (r)
		DMERR("%s: cannot give the cluster state lock back (error %d); the other nodes wait for it",
		      metro_name(m), r);
	WRITE_ONCE(c->in_tx, false);
	metro_dunlock(&c->token);
}

/* ---------------------------------------------------------------------- */
/* Region ownership                                                       */
/* ---------------------------------------------------------------------- */

static struct hlist_head *metro_rl_bucket(struct metro_cluster *c, unsigned long r)
{
	return &c->hash[hash_long(r, METRO_CL_HASH_BITS)];
}

static struct metro_rlock *metro_rl_find(struct metro_cluster *c, unsigned long r)
{
	struct metro_rlock *rl;

	lockdep_assert_held(&c->lock);
	hlist_for_each_entry(rl, metro_rl_bucket(c, r), hash)
		if (rl->region == r)
			return rl;
	return NULL;
}

/* Hand the writes waiting for ownership back to the worker. */
static void metro_cl_wake_work(struct work_struct *ws)
{
	struct metro_cluster *c = container_of(ws, struct metro_cluster, wake_work);
	struct bio_list bios;

	spin_lock_irq(&c->lock);
	bios = c->waiting;
	bio_list_init(&c->waiting);
	spin_unlock_irq(&c->lock);
	metro_defer_bios(c->m, &bios);
	metro_resync_kick(c->m);
}

/* Start giving region lock @rl back (c->lock held). */
static void metro_rl_revoke(struct metro_cluster *c, struct metro_rlock *rl)
{
	lockdep_assert_held(&c->lock);
	if (rl->state != METRO_RL_OWNED)
		return;
	rl->state = METRO_RL_REVOKING;
	rl->since = jiffies;
	list_del_init(&rl->lru);
	c->nr_owned--;
	clear_bit(rl->region, c->owned);
	clear_bit(rl->region, c->fast);
	mod_delayed_work(c->wq, &c->revoke_work, 0);
}

static void metro_rl_ast(void *arg)
{
	struct metro_rlock *rl = arg;
	struct metro_cluster *c = rl->c;
	int status = rl->lksb.sb_status;
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	if (rl->state == METRO_RL_ASKING && !status) {
		rl->state = METRO_RL_OWNED;
		rl->granted = jiffies;
		list_add_tail(&rl->lru, &c->lru);
		c->nr_owned++;
		set_bit(rl->region, c->owned);
		if (rl->wanted || c->leaving)
			metro_rl_revoke(c, rl);
	} else {
		if (status != -DLM_EUNLOCK)
			DMERR_LIMIT("%s: cluster lock of region %lu failed (error %d); its writes wait",
				    metro_name(c->m), rl->region, status);
		rl->state = METRO_RL_FREE;
		hlist_del_init(&rl->hash);
		list_add(&rl->lru, &c->free);
	}
	spin_unlock_irqrestore(&c->lock, flags);
	queue_work(c->wq, &c->wake_work);
}

/* Another node asks for a region we own. */
static void metro_rl_bast(void *arg, int mode)
{
	struct metro_rlock *rl = arg;
	struct metro_cluster *c = rl->c;
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	if (rl->state == METRO_RL_ASKING || rl->state == METRO_RL_TO_ASK)
		rl->wanted = true;
	metro_rl_revoke(c, rl);
	spin_unlock_irqrestore(&c->lock, flags);
}

/*
 * Give back the regions being revoked once no write into them is counted
 * in the range gate and no copy claims them.  This pairs with
 * metro_dispatch_deferred() and the write fast path as a copy's claim
 * does (metro-gate.h): the owned bit was cleared (under c->lock) before
 * the count is read here.
 */
static void metro_cl_revoke_work(struct work_struct *ws)
{
	struct metro_cluster *c = container_of(to_delayed_work(ws),
					       struct metro_cluster, revoke_work);
	struct metro_c *m = c->m;
	struct metro_rlock *rl;
	bool again = false;
	unsigned int i;
	int r;

	/* Owned bits cleared before the gate is read: pairs with the writers. */
	smp_mb();
	for (i = 0; i < METRO_CL_LOCKS; i++) {
		rl = &c->rl[i];
		spin_lock_irq(&c->lock);
		if (rl->state != METRO_RL_REVOKING) {
			spin_unlock_irq(&c->lock);
			continue;
		}
		if (metro_gate_busy(&m->gate, rl->region) ||
		    metro_gate_claimed(&m->gate, rl->region, rl->region) ||
		    READ_ONCE(c->reattaching) ||
		    (!c->leaving && time_before(jiffies, rl->granted + METRO_CL_MIN_HOLD))) {
			if (time_after(jiffies, rl->since + METRO_WAIT_LOG_PERIOD)) {
				DMWARN("%s: another node waits for region %lu; its writes here have not completed for %us",
				       metro_name(m), rl->region,
				       jiffies_to_msecs(jiffies - rl->since) / 1000);
				rl->since = jiffies;
			}
			spin_unlock_irq(&c->lock);
			again = true;
			continue;
		}
		rl->state = METRO_RL_UNLOCKING;
		spin_unlock_irq(&c->lock);
		r = dlm_unlock(c->ls, rl->lksb.sb_lkid, 0, &rl->lksb, rl);
		if (r)
			DMERR_LIMIT("%s: cannot give region %lu back to the cluster (error %d)",
				    metro_name(m), rl->region, r);
	}
	if (again)
		queue_delayed_work(c->wq, &c->revoke_work, 1);
}

/*
 * Ask for region @r unless asked already (c->lock held).  The request
 * itself goes out from metro_cl_ask_work(): dlm_lock() may sleep.
 * Without a free region lock, the oldest owned region is given back
 * first, and the wake after its unlock makes the caller ask again.
 */
static void metro_rl_ask(struct metro_cluster *c, unsigned long r)
{
	struct metro_rlock *rl = metro_rl_find(c, r);

	lockdep_assert_held(&c->lock);
	if (rl)
		return;		/* owned, asked for, or being given back */
	if (list_empty(&c->free)) {
		if (!list_empty(&c->lru))
			metro_rl_revoke(c, list_first_entry(&c->lru, struct metro_rlock, lru));
		return;
	}
	rl = list_first_entry(&c->free, struct metro_rlock, lru);
	list_del_init(&rl->lru);
	rl->region = r;
	rl->state = METRO_RL_TO_ASK;
	rl->wanted = false;
	hlist_add_head(&rl->hash, metro_rl_bucket(c, r));
	queue_work(c->wq, &c->ask_work);
}

/* Send the requests metro_rl_ask() prepared. */
static void metro_cl_ask_work(struct work_struct *ws)
{
	struct metro_cluster *c = container_of(ws, struct metro_cluster, ask_work);
	struct metro_rlock *rl;
	unsigned int i;
	int err;

	for (i = 0; i < METRO_CL_LOCKS; i++) {
		rl = &c->rl[i];
		spin_lock_irq(&c->lock);
		if (rl->state != METRO_RL_TO_ASK) {
			spin_unlock_irq(&c->lock);
			continue;
		}
		if (c->leaving) {
			rl->state = METRO_RL_FREE;
			hlist_del_init(&rl->hash);
			list_add(&rl->lru, &c->free);
			spin_unlock_irq(&c->lock);
			continue;
		}
		rl->state = METRO_RL_ASKING;
		snprintf(rl->name, sizeof(rl->name), "r%lx", rl->region);
		spin_unlock_irq(&c->lock);
		err = dlm_lock(c->ls, DLM_LOCK_EX, &rl->lksb, 0, rl->name,
			       strlen(rl->name), 0, metro_rl_ast, rl, metro_rl_bast);
		if (!err)
			continue;
		DMERR_LIMIT("%s: cannot ask the cluster for region %lu (error %d)",
			    metro_name(c->m), rl->region, err);
		spin_lock_irq(&c->lock);
		rl->state = METRO_RL_FREE;
		hlist_del_init(&rl->hash);
		list_add(&rl->lru, &c->free);
		spin_unlock_irq(&c->lock);
	}
}

static bool metro_cl_owns_locked(struct metro_cluster *c, unsigned long first,
				 unsigned long last)
{
	return find_next_zero_bit(c->owned, last + 1, first) > last;
}

static bool metro_cl_owns(struct metro_c *m, unsigned long first, unsigned long last)
{
	struct metro_cluster *c = metro_cl(m);

	/* After counting the write in the gate: pairs with the revocation. */
	smp_mb();
	return metro_cl_owns_locked(c, first, last);
}

/*
 * The resync engine claimed region @r in the gate (then a full barrier):
 * may it copy?  When not, the region is asked for, and the engine kicked
 * once it is ours.
 */
static bool metro_cl_copy_owns(struct metro_c *m, unsigned long r)
{
	struct metro_cluster *c = metro_cl(m);
	unsigned long flags;
	bool owned;

	/* Claimed before the owned bit is read: pairs with the revocation. */
	smp_mb();
	if (test_bit(r, c->owned))
		return true;
	spin_lock_irqsave(&c->lock, flags);
	owned = test_bit(r, c->owned);
	if (!owned)
		metro_rl_ask(c, r);
	spin_unlock_irqrestore(&c->lock, flags);
	return owned;
}

static void metro_cl_acquire(struct metro_c *m, struct bio_list *bios)
{
	struct metro_cluster *c = metro_cl(m);
	struct bio_list keep;
	unsigned long r, first, last;
	struct bio *bio;

	bio_list_init(&keep);
	spin_lock_irq(&c->lock);
	while ((bio = bio_list_pop(bios))) {
		first = metro_region(m, bio->bi_iter.bi_sector);
		last = bio_sectors(bio) ? metro_region(m, bio_end_sector(bio) - 1) : first;
		if (metro_cl_owns_locked(c, first, last)) {
			bio_list_add(&keep, bio);
			continue;
		}
		for (r = first; r <= last; r++)
			if (!test_bit(r, c->owned))
				metro_rl_ask(c, r);
		bio_list_add(&c->waiting, bio);
	}
	spin_unlock_irq(&c->lock);
	*bios = keep;
}

static void metro_cl_marked(struct metro_c *m, unsigned long first, unsigned long last)
{
	struct metro_cluster *c = metro_cl(m);
	unsigned long r;

	lockdep_assert_held(&m->md_lock);
	spin_lock_irq(&c->lock);
	for (r = first; r <= last; r++)
		if (test_bit(r, c->owned) && test_bit(r, m->dirty))
			set_bit(r, c->fast);
	spin_unlock_irq(&c->lock);
}

/* ---------------------------------------------------------------------- */
/* Lockspace, slot, join and leave                                        */
/* ---------------------------------------------------------------------- */

static void metro_cl_recover_prep(void *arg)
{
	struct metro_cluster *c = arg;

	c->recover_since = jiffies;
	atomic_set(&c->recovering, 1);
	DMINFO("%s: cluster membership changes: I/O waits for the DLM's recovery",
	       metro_name(c->m));
	mod_delayed_work(c->wq, &c->hold_log_work, METRO_WAIT_LOG_PERIOD);
}

/*
 * While the lockspace stays stopped (no quorum, a fence that does not
 * succeed), every bio is held: say so every METRO_WAIT_LOG_PERIOD.
 */
static void metro_cl_hold_log_work(struct work_struct *ws)
{
	struct metro_cluster *c = container_of(to_delayed_work(ws),
					       struct metro_cluster, hold_log_work);
	unsigned int n;

	if (!atomic_read(&c->recovering))
		return;
	spin_lock_irq(&c->lock);
	n = bio_list_size(&c->held);
	spin_unlock_irq(&c->lock);
	DMWARN("%s: the DLM has not recovered from a membership change for %us, and I/O waits (%u new I/Os held): is this node quorate (corosync-quorumtool), and is fencing done (dlm_tool status)?",
	       metro_name(c->m), jiffies_to_msecs(jiffies - c->recover_since) / 1000, n);
	queue_delayed_work(c->wq, &c->hold_log_work, METRO_WAIT_LOG_PERIOD);
}

/*
 * A node left the lockspace without leaving the volume (it died, or was
 * cut off): its writes in flight may be on one leg only.  Its slot is
 * taken over once the recovery is done (metro_cl_recovery_work()); I/O
 * stays held until then, so that no node reads those regions from the
 * leg that may lack them.
 */
static void metro_cl_recover_slot(void *arg, struct dlm_slot *slot)
{
	struct metro_cluster *c = arg;

	DMWARN("%s: cluster node %d (bitmap slot %d) is gone without leaving the volume: its regions in flight are copied again",
	       metro_name(c->m), slot->nodeid, slot->slot - 1);
	if (slot->slot >= 1 && slot->slot <= METRO_MAX_SLOTS)
		set_bit(slot->slot - 1, &c->dead_slots);
}

static void metro_cl_recover_done(void *arg, struct dlm_slot *slots, int num_slots,
				  int our_slot, u32 generation)
{
	struct metro_cluster *c = arg;

	if (!c->our_slot)
		c->our_slot = our_slot;
	atomic_set(&c->recovering, 0);
	complete(&c->recovered);
	if (READ_ONCE(c->dead_slots))
		queue_work(c->wq, &c->recovery_work);
	else
		queue_work(c->wq, &c->apply_work);
}

/*
 * Take bitmap slot @slot over if nobody holds it (md_lock, in a
 * transaction): its bits join this node's slot and the slot is cleared.
 * With @stale, a slot another node holds is read too (not cleared):
 * a leg coming back must get every region any node wrote without it.
 */
static void metro_cl_take_slot(struct metro_cluster *c, unsigned int slot,
			       bool stale, u8 *buf)
{
	struct metro_c *m = c->m;
	struct metro_dlock l;
	unsigned long merged = 0;
	int r;

	lockdep_assert_held(&m->md_lock);
	metro_dlock_init(c, &l, "");
	snprintf(l.name, sizeof(l.name), "slot-%u", slot);
	r = metro_dlock(&l, DLM_LOCK_EX, DLM_LKF_NOQUEUE, "a slot nobody may hold");
	if (r == -EAGAIN) {
		if (stale && metro_log_merge_slot(m, slot, false, buf, &merged))
			DMERR("%s: cannot read bitmap slot %u: regions only that slot marked may be missed by the resync; after it, stop the volume and compare the legs, or copy all with \"metroctl replace\"",
			      metro_name(m), slot);
		goto out;
	}
	if (r) {
		DMERR("%s: cannot lock bitmap slot %u (error %d)", metro_name(m), slot, r);
		return;
	}
	if (metro_log_merge_slot(m, slot, true, buf, &merged))
		DMERR("%s: cannot take bitmap slot %u over: its regions are not resynced; stop and assemble the volume again",
		      metro_name(m), slot);
	/* What its node copied is this node's to copy now. */
	c->resyncing &= ~BIT(slot);
	metro_dunlock(&l);
out:
	if (merged)
		DMINFO("%s: %lu regions of bitmap slot %u to copy", metro_name(m), merged, slot);
}

/* The slots of the nodes that left: see metro_cl_recover_slot(). */
static void metro_cl_recovery_work(struct work_struct *ws)
{
	struct metro_cluster *c = container_of(ws, struct metro_cluster, recovery_work);
	struct metro_c *m = c->m;
	unsigned int slot;
	u8 *buf;

	buf = kvmalloc(m->bm_bytes, GFP_NOIO | __GFP_NOFAIL);
	mutex_lock(&m->md_lock);
	if (!metro_cl_tx_begin(m)) {
		for (slot = 0; slot < METRO_MAX_SLOTS; slot++)
			if (test_and_clear_bit(slot, &c->dead_slots) && slot != m->bm_slot)
				metro_cl_take_slot(c, slot, false, buf);
		metro_cl_tx_end(m);
	} else {
		c->dead_slots = 0;
		DMERR("%s: cannot take over the slots of the nodes that left: their regions are not resynced; stop and assemble the volume again",
		      metro_name(m));
	}
	mutex_unlock(&m->md_lock);
	kvfree(buf);
	metro_resync_kick(m);
	metro_cl_release_held(c);
}

/*
 * After the load (preresume): take over the slots nobody holds (nodes
 * that stopped in a crash), and with a stale leg read every slot.
 */
static int metro_cl_loaded(struct metro_c *m)
{
	struct metro_cluster *c = metro_cl(m);
	unsigned int slot, nr = m->legs[m->source].sb.nr_slots;
	bool stale = m->legs[0].stale || m->legs[1].stale;
	u8 *buf;
	int r;

	buf = kvmalloc(m->bm_bytes, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	mutex_lock(&m->md_lock);
	r = metro_cl_tx_begin(m);
	if (!r) {
		c->loaded = true;
		for (slot = 0; slot < nr; slot++)
			if (slot != m->bm_slot)
				metro_cl_take_slot(c, slot, stale, buf);
		WRITE_ONCE(m->read_source_only, !!(c->resyncing & ~BIT(m->bm_slot)));
		metro_cl_tx_end(m);
	}
	mutex_unlock(&m->md_lock);
	kvfree(buf);
	return r;
}

/* In a transaction (md_lock): does a node other than this one copy regions? */
static bool metro_cl_others_resyncing(struct metro_c *m)
{
	struct metro_cluster *c = metro_cl(m);

	lockdep_assert_held(&m->md_lock);
	return c->resyncing & ~BIT(m->bm_slot);
}

static const struct dlm_lockspace_ops metro_cl_ls_ops = {
	.recover_prep = metro_cl_recover_prep,
	.recover_slot = metro_cl_recover_slot,
	.recover_done = metro_cl_recover_done,
};

static void metro_cl_free(struct metro_cluster *c)
{
	cancel_delayed_work_sync(&c->hold_log_work);
	if (c->wq)
		destroy_workqueue(c->wq);
	kvfree(c->rl);
	bitmap_free(c->owned);
	bitmap_free(c->fast);
	kfree(c);
}

/* Give every region lock back and wait for it (leave). */
static void metro_cl_drop_regions(struct metro_cluster *c)
{
	unsigned long start = jiffies;
	unsigned int i, n;

	spin_lock_irq(&c->lock);
	c->leaving = true;
	for (i = 0; i < METRO_CL_LOCKS; i++)
		metro_rl_revoke(c, &c->rl[i]);
	spin_unlock_irq(&c->lock);
	for (;;) {
		flush_work(&c->ask_work);
		flush_delayed_work(&c->revoke_work);
		n = 0;
		spin_lock_irq(&c->lock);
		for (i = 0; i < METRO_CL_LOCKS; i++)
			n += c->rl[i].state != METRO_RL_FREE;
		spin_unlock_irq(&c->lock);
		if (!n)
			break;
		if (time_after(jiffies, start + METRO_WAIT_LOG_PERIOD)) {
			DMWARN("%s: leaving the cluster: %u region locks not given back yet",
			       metro_name(c->m), n);
			start = jiffies;
		}
		msleep(20);
	}
}

static int metro_cl_join(struct metro_c *m)
{
	struct metro_sb_info *sb = &m->legs[metro_leg_alive(&m->legs[0]) ? 0 : 1].sb;
	struct metro_cluster *c;
	int r, ops_result;
	unsigned int i;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	c->m = m;
	spin_lock_init(&c->lock);
	init_completion(&c->recovered);
	INIT_LIST_HEAD(&c->free);
	INIT_LIST_HEAD(&c->lru);
	bio_list_init(&c->waiting);
	bio_list_init(&c->held);
	INIT_DELAYED_WORK(&c->revoke_work, metro_cl_revoke_work);
	INIT_DELAYED_WORK(&c->hold_log_work, metro_cl_hold_log_work);
	INIT_WORK(&c->apply_work, metro_cl_apply_work);
	INIT_WORK(&c->wake_work, metro_cl_wake_work);
	INIT_WORK(&c->ask_work, metro_cl_ask_work);
	INIT_WORK(&c->event_work, metro_cl_event_work);
	INIT_WORK(&c->recovery_work, metro_cl_recovery_work);
	metro_dlock_init(c, &c->slot, "slot");
	metro_dlock_init(c, &c->token, "token");
	metro_dlock_init(c, &c->state, "state");
	r = -ENOMEM;
	c->owned = bitmap_zalloc(m->nr_regions, GFP_KERNEL);
	c->fast = bitmap_zalloc(m->nr_regions, GFP_KERNEL);
	c->rl = kvcalloc(METRO_CL_LOCKS, sizeof(*c->rl), GFP_KERNEL);
	c->wq = alloc_workqueue("kmetro_cluster", WQ_MEM_RECLAIM | WQ_UNBOUND, 0);
	if (!c->owned || !c->fast || !c->rl || !c->wq)
		goto bad;
	for (i = 0; i < METRO_CL_LOCKS; i++) {
		c->rl[i].c = c;
		INIT_HLIST_NODE(&c->rl[i].hash);
		list_add_tail(&c->rl[i].lru, &c->free);
	}

	snprintf(c->ls_name, sizeof(c->ls_name), "metro-%*phN", METRO_UUID_LEN,
		 sb->vol_uuid);
	DMINFO("%s: joining lockspace %s of cluster %s (dlm_controld must run on every node)",
	       metro_name(m), c->ls_name, sb->cluster_name);
	r = dlm_new_lockspace(c->ls_name, sb->cluster_name, 0, METRO_CL_LVB_LEN,
			      &metro_cl_ls_ops, c, &ops_result, &c->ls);
	if (r) {
		if (r == -EBADR)
			DMERR("%s: the volume belongs to cluster %s, but this node's DLM runs in another cluster: check totem.cluster_name in corosync.conf",
			      metro_name(m), sb->cluster_name);
		else
			DMERR("%s: cannot join lockspace %s (error %d): is dlm_controld running, and corosync quorate?",
			      metro_name(m), c->ls_name, r);
		goto bad;
	}
	if (ops_result) {
		DMERR("%s: the DLM gives no recovery callbacks (dlm_controld too old?): cannot run in cluster mode",
		      metro_name(m));
		r = -EOPNOTSUPP;
		goto bad_ls;
	}
	if (!wait_for_completion_timeout(&c->recovered, METRO_CL_JOIN_TIMEOUT)) {
		DMERR("%s: lockspace %s did not recover within %us: check dlm_controld and corosync quorum",
		      metro_name(m), c->ls_name, METRO_CL_JOIN_TIMEOUT / HZ);
		r = -ETIMEDOUT;
		goto bad_ls;
	}
	if (c->our_slot < 1 || c->our_slot > sb->nr_slots) {
		DMERR("%s: the DLM gives this node slot %d, but the volume has %u slots: more nodes than it was created for (metroctl convert --nodes)",
		      metro_name(m), c->our_slot - 1, sb->nr_slots);
		r = -ERANGE;
		goto bad_ls;
	}
	m->bm_slot = c->our_slot - 1;
	m->bm_offset = metro_slot_offset(sb, m->bm_slot);
	snprintf(c->slot.name, sizeof(c->slot.name), "slot-%u", m->bm_slot);
	r = metro_dlock(&c->slot, DLM_LOCK_EX, 0, "this node's bitmap slot");
	if (r)
		goto bad_ls;
	r = metro_dlock(&c->state, DLM_LOCK_PR, DLM_LKF_VALBLK, "the volume's state");
	if (r)
		goto bad_slot;
	m->cluster = c;
	m->fast = c->fast;
	DMINFO("%s: joined cluster %s: bitmap slot %u of %u", metro_name(m),
	       sb->cluster_name, m->bm_slot, sb->nr_slots);
	return 0;

bad_slot:
	metro_dunlock(&c->slot);
bad_ls:
	dlm_release_lockspace(c->ls, 2);
bad:
	metro_cl_free(c);
	return r;
}

static void metro_cl_leave(struct metro_c *m)
{
	struct metro_cluster *c = metro_cl(m);

	if (!c)
		return;
	metro_cl_drop_regions(c);
	/*
	 * A blocking callback that came before leaving was set may still
	 * have the state lock in conversion (NL, then PR again once the other
	 * node's change is done): an unlock now would be refused and its
	 * callbacks would run on a released lockspace.  Let it land first;
	 * metro_cl_drop_regions() set @leaving under c->lock, so no other
	 * conversion starts.
	 */
	if (c->state.mode != DLM_LOCK_PR)
		metro_dlock_wait(&c->state, "the state lock after another node's change, to leave");
	flush_workqueue(c->wq);
	metro_dunlock(&c->state);
	metro_dunlock(&c->token);
	metro_dunlock(&c->slot);
	dlm_release_lockspace(c->ls, 2);
	m->fast = m->dirty;
	m->cluster = NULL;
	/* The held bios (none: dm drained them before the suspend) */
	WARN_ON_ONCE(!bio_list_empty(&c->held) || !bio_list_empty(&c->waiting));
	metro_cl_free(c);
}

static void metro_cl_status(struct metro_c *m, char *result, unsigned int maxlen,
			    unsigned int *sz_ptr)
{
	struct metro_cluster *c = metro_cl(m);
	unsigned int sz = *sz_ptr;

	if (!c) {
		DMEMIT(" cluster - - -");
	} else {
		DMEMIT(" cluster %u %u %s", m->bm_slot, READ_ONCE(c->nr_owned),
		       atomic_read(&c->recovering) ? "recovering" :
		       READ_ONCE(c->holding) ? "held" : "running");
	}
	*sz_ptr = sz;
}

static const struct metro_cluster_ops metro_cl_ops = {
	.join		= metro_cl_join,
	.leave		= metro_cl_leave,
	.hold		= metro_cl_hold,
	.acquire	= metro_cl_acquire,
	.marked		= metro_cl_marked,
	.owns		= metro_cl_owns,
	.copy_owns	= metro_cl_copy_owns,
	.loaded		= metro_cl_loaded,
	.others_resyncing = metro_cl_others_resyncing,
	.tx_begin	= metro_cl_tx_begin,
	.tx_end		= metro_cl_tx_end,
	.status		= metro_cl_status,
	.owner		= THIS_MODULE,
};

static int __init dm_metro_cluster_init(void)
{
	return metro_cluster_register(&metro_cl_ops);
}

static void __exit dm_metro_cluster_exit(void)
{
	metro_cluster_unregister();
}

module_init(dm_metro_cluster_init);
module_exit(dm_metro_cluster_exit);

MODULE_DESCRIPTION(DM_NAME " metro target: cluster mode on the kernel DLM");
MODULE_AUTHOR("dm-metro developers");
MODULE_LICENSE("GPL");
