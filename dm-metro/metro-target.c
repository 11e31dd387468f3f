// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-metro: synchronous two-leg mirror, device-mapper target glue.
 *
 * Table line, status, messages and on-disk format are described in
 * Documentation/dm-metro.rst.  This file holds the constructor and
 * destructor, the suspend/resume hooks, status and messages; the bio path
 * is in metro-io.c, the I/O deadline in metro-deadline.c, the worker in
 * metro-worker.c, the metadata in metro-log.c and metro-md.c, resync in
 * metro-resync.c, what I/O to the legs is allocated from in
 * metro-pool.c, and the cluster mode in dm-metro-cluster.ko
 * (metro-cluster.c), whose registration is here.
 */
#include <linux/ctype.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/mm.h>

#include "metro.h"
#include "metro-cluster.h"
#include "metro-io.h"
#include "metro-log.h"
#include "metro-md.h"
#include "metro-resync.h"

/* Constructor and destructor */

/*
 * The optional arguments, parsed by metro-table.h (shared with userspace,
 * where the unit tests and a fuzzer run the same parser).
 */
static int metro_parse_options(struct metro_c *m, unsigned int argc,
			       char **argv, char **error)
{
	struct metro_table_opts o;
	const char *err;
	int r;

	r = metro_table_parse_opts(argc, argv, &o, &err);
	if (r) {
		/* ti->error is not const, but only ever points at literals */
		*error = (char *)err;
		return r;
	}
	m->resync_rate = o.resync_rate;
	m->clear_delay = o.clear_delay;
	m->io_deadline = o.io_deadline;
	m->write_mostly = o.write_mostly ? o.write_mostly - 'A' : -1;
	m->read_mode = o.read_mode;
	m->read_legs = o.read_legs;
	m->failfast = o.failfast;
	/* METRO_LEGS_A and _B are BIT(METRO_LEG_A) and BIT(METRO_LEG_B). */
	BUILD_BUG_ON(METRO_LEGS_A != BIT(METRO_LEG_A) || METRO_LEGS_B != BIT(METRO_LEG_B));
	m->read_bounce = metro_read_bounce_legs(&o);
	return 0;
}

/*
 * Open the legs; "-" stands for a leg that is absent (the volume is
 * activated degraded, on the other leg alone).
 */
static int metro_open_legs(struct metro_c *m, char **argv)
{
	struct dm_target *ti = m->ti;
	const char *err;
	unsigned int i;
	int r;

	if (!strcmp(argv[0], "-") && !strcmp(argv[1], "-")) {
		ti->error = "Both legs are absent (\"-\"): give at least one leg device";
		return -EINVAL;
	}
	for (i = 0; i < METRO_NR_LEGS; i++) {
		struct metro_leg *leg = &m->legs[i];

		leg->index = i;
		if (!strcmp(argv[i], "-")) {
			set_bit(METRO_LEG_DEAD, &leg->flags);
			continue;
		}
		r = dm_get_device(ti, argv[i], dm_table_get_mode(ti->table), &leg->dev);
		if (r) {
			ti->error = i ? "Cannot open leg B: check the device path" :
				    "Cannot open leg A: check the device path";
			return r;
		}
		metro_pool_set_leg(m->pool, i, leg->dev->bdev);
	}
	for (i = 0; i < METRO_NR_LEGS; i++) {
		struct metro_leg *leg = &m->legs[i];

		if (!leg->dev)
			continue;
		r = metro_log_read_sb(m, leg, &err);
		if (r) {
			DMERR("leg %c (%s): %s", metro_leg_letter(i), leg->dev->name, err);
			ti->error = i ?
				"Leg B has no usable dm-metro superblock: see the kernel log" :
				"Leg A has no usable dm-metro superblock: see the kernel log";
			return r;
		}
	}
	return 0;
}

/*
 * Check that the superblocks describe the same volume, in the right order,
 * and that the legs' data generations can be ordered.  A single leg must
 * be leg @i of its volume and hold a complete copy.
 */
static int metro_check_legs(struct metro_c *m)
{
	struct metro_sb_info *a = &m->legs[0].sb, *b = &m->legs[1].sb;
	struct dm_target *ti = m->ti;
	unsigned int i;

	if (metro_nr_alive(m) == 1) {
		i = m->legs[0].dev ? 0 : 1;
		if (m->legs[i].sb.leg != i) {
			ti->error = i ? "The device given as leg B holds leg A of its volume" :
				    "The device given as leg A holds leg B of its volume";
			return -EINVAL;
		}
		if (metro_log_check_alone(m, i)) {
			ti->error = "The only leg given was being resynced and holds no complete copy: see the kernel log";
			return -EINVAL;
		}
		a = &m->legs[i].sb;
		goto geometry;
	}
	if (memcmp(a->vol_uuid, b->vol_uuid, METRO_UUID_LEN)) {
		ti->error = "Legs belong to different volumes";
		return -EINVAL;
	}
	if (a->leg != METRO_LEG_A || b->leg != METRO_LEG_B) {
		ti->error = "Legs are in the wrong order: give leg A first, then leg B";
		return -EINVAL;
	}
	if (a->region_sectors != b->region_sectors ||
	    a->data_offset != b->data_offset || a->data_size != b->data_size ||
	    a->nr_regions != b->nr_regions || a->nr_slots != b->nr_slots ||
	    strcmp(a->cluster_name, b->cluster_name)) {
		ti->error = "Legs disagree on the volume geometry: re-create or restore the volume";
		return -EINVAL;
	}
	if (metro_gen_compare(a, b) == METRO_GEN_SPLIT) {
		metro_log_split_brain(m);
		ti->error = "Split brain: both legs were written independently; keep one copy with \"metroctl resolve\" (see the kernel log)";
		return -EINVAL;
	}
geometry:
	if (ti->len > a->data_size) {
		ti->error = "Target length exceeds the data size recorded in the superblocks";
		return -EINVAL;
	}
	m->region_sectors = a->region_sectors;
	m->region_shift = __ffs(a->region_sectors);
	m->chunk_sectors = min_t(sector_t, m->region_sectors, METRO_COPY_CHUNK_SECTORS);
	m->data_offset = a->data_offset;
	m->data_size = a->data_size;
	m->nr_regions = a->nr_regions;
	m->bm_bytes = metro_bitmap_bytes(m->nr_regions);
	m->bm_blocks = m->bm_bytes / METRO_BLOCK_SIZE;
	/* A single host writes slot 0; a cluster node the one it joins with. */
	m->bm_slot = 0;
	m->bm_offset = metro_slot_offset(a, 0);
	return 0;
}

/*
 * Refuse a leg whose device still holds writes that a table abandoned on
 * its I/O deadline, live or removed since: a transport that reconnects
 * replays the writes it held, and one landing after the new table copied
 * its region (or wrote it) would leave the legs different where the
 * bitmap says they are equal.  A detached leg gets no new I/O, so once
 * the count is zero it stays zero.
 */
static int metro_check_late(struct dm_target *ti, struct metro_c *m)
{
	char who[DM_NAME_LEN];
	unsigned int i;
	int n;

	for (i = 0; i < METRO_NR_LEGS; i++) {
		struct metro_leg *leg = &m->legs[i];

		if (!leg->dev)
			continue;
		n = metro_pool_check_late(m->pool, leg->dev->bdev->bd_dev, who);
		if (!n)
			continue;
		DMERR("%s: leg %c (%s) still holds %d writes that the table of %s abandoned on its I/O deadline; wait until the device completes or fails them (its transport reconnects, or nvme disconnect), then load the table again",
		      metro_name(m), metro_leg_letter(i), leg->dev->name, n, who);
		ti->error = "A leg's device still holds writes that a metro table abandoned: retry once the device has returned them";
		return -EBUSY;
	}
	return 0;
}

/*
 * The cluster mode's ops, registered by dm-metro-cluster.ko; a clustered
 * volume pins that module from its ctr to its dtr.  @metro_cluster_mutex
 * protects @metro_cluster_registered.
 */
static DEFINE_MUTEX(metro_cluster_mutex);
static const struct metro_cluster_ops *metro_cluster_registered;

int metro_cluster_register(const struct metro_cluster_ops *ops)
{
	int r = 0;

	mutex_lock(&metro_cluster_mutex);
	if (metro_cluster_registered)
		r = -EBUSY;
	else
		metro_cluster_registered = ops;
	mutex_unlock(&metro_cluster_mutex);
	return r;
}
EXPORT_SYMBOL_GPL(metro_cluster_register);

void metro_cluster_unregister(void)
{
	mutex_lock(&metro_cluster_mutex);
	metro_cluster_registered = NULL;
	mutex_unlock(&metro_cluster_mutex);
}
EXPORT_SYMBOL_GPL(metro_cluster_unregister);

int metro_cluster_get(struct metro_c *m)
{
	const struct metro_cluster_ops *ops;

	mutex_lock(&metro_cluster_mutex);
	if (!metro_cluster_registered) {
		mutex_unlock(&metro_cluster_mutex);
		request_module("dm-metro-cluster");
		mutex_lock(&metro_cluster_mutex);
	}
	ops = metro_cluster_registered;
	if (ops && !try_module_get(ops->owner))
		ops = NULL;
	mutex_unlock(&metro_cluster_mutex);
	if (!ops)
		return -ENOENT;
	m->cluster_ops = ops;
	return 0;
}

void metro_cluster_put(struct metro_c *m)
{
	if (m->cluster_ops)
		module_put(m->cluster_ops->owner);
	m->cluster_ops = NULL;
}

static unsigned long *metro_bitmap_alloc(struct metro_c *m)
{
	return kvcalloc(BITS_TO_LONGS(m->nr_regions), sizeof(unsigned long),
			GFP_KERNEL);
}

static void metro_free(struct metro_c *m)
{
	unsigned int i;

	if (m->wq)
		destroy_workqueue(m->wq);
	if (m->submit_wq)
		destroy_workqueue(m->submit_wq);
	if (m->copy_wq)
		destroy_workqueue(m->copy_wq);
	free_percpu(m->read_ages);
	metro_resync_free(m);
	kfree(m->sb_buf);
	bitmap_free(m->bm_changed);
	kvfree(m->disk_bm);
	kvfree(m->clearing);
	kvfree(m->gate.copying);
	kvfree(m->out_of_sync);
	kvfree(m->active);
	kvfree(m->dirty);
	for (i = 0; i < METRO_NR_LEGS; i++)
		if (m->legs[i].dev)
			dm_put_device(m->ti, m->legs[i].dev);
	/* What the legs may still be doing with abandoned I/O stays there. */
	if (m->pool)
		metro_pool_orphan(m->pool);
	metro_cluster_put(m);
	kvfree(m);
}

/*
 * Construct a metro mapping:
 *   metro <leg_a> <leg_b> [<#opt_args> <opt_args>...]
 *
 * Either leg may be "-": the volume then runs degraded on the other leg,
 * which starts a new data generation unless it already ran alone.
 *
 * The constructor only reads from the legs: a table may be loaded while
 * another one is live on the same legs.  Metadata is written from
 * preresume on.
 */
static int metro_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct metro_c *m;
	const char *err;
	int r;

	if (argc < METRO_NR_LEGS) {
		ti->error = "Invalid argument count: expected <leg_a|-> <leg_b|-> [<#opt_args> <opt_args>...]";
		return -EINVAL;
	}

	m = kvzalloc(sizeof(*m), GFP_KERNEL);
	if (!m) {
		ti->error = "Cannot allocate metro context";
		return -ENOMEM;
	}
	m->ti = ti;
	if (dm_copy_name_and_uuid(dm_table_get_md(ti->table), m->name, NULL))
		strscpy(m->name, dm_table_device_name(ti->table), sizeof(m->name));
	for (r = 0; r < METRO_SHARDS; r++) {
		spin_lock_init(&m->shards[r].lock);
		INIT_LIST_HEAD(&m->shards[r].clones);
	}
	INIT_DELAYED_WORK(&m->watchdog, metro_watchdog);
	for (r = 0; r < METRO_NR_LEGS; r++)
		m->legs[r].read_last = jiffies;
	mutex_init(&m->md_lock);
	spin_lock_init(&m->lock);
	spin_lock_init(&m->copy_lock);
	bio_list_init(&m->deferred);
	bio_list_init(&m->failed);
	bio_list_init(&m->copy_waiters);
	init_waitqueue_head(&m->copy_wait);
	INIT_WORK(&m->worker, metro_worker);
	INIT_DELAYED_WORK(&m->clear_work, metro_log_clear_work);
	INIT_DELAYED_WORK(&m->resync_work, metro_resync_work);
	m->suspended = true;
	/* No application I/O seen yet (jiffies start near a wrap). */
	m->last_app_io = jiffies - HZ;
	for (r = 0; r < METRO_RESYNC_SLOTS; r++) {
		m->slots[r].m = m;
		INIT_WORK(&m->slots[r].work, metro_copy_work);
	}

	r = metro_parse_options(m, argc - METRO_NR_LEGS, argv + METRO_NR_LEGS,
				&ti->error);
	if (r)
		goto bad;

	m->pool = metro_pool_create(m->name, offsetof(struct metro_clone, bio),
				    metro_md_req_pad(),
				    m->read_bounce,
				    &err);
	if (!m->pool) {
		/* ti->error is not const, but only ever points at literals */
		ti->error = (char *)err;
		r = -ENOMEM;
		goto bad;
	}

	r = metro_open_legs(m, argv);
	if (r)
		goto bad;
	r = metro_check_legs(m);
	if (r)
		goto bad;

	r = -ENOMEM;
	ti->error = "Cannot allocate the region bitmaps";
	m->dirty = metro_bitmap_alloc(m);
	m->active = metro_bitmap_alloc(m);
	m->out_of_sync = metro_bitmap_alloc(m);
	m->gate.copying = metro_bitmap_alloc(m);
	m->clearing = metro_bitmap_alloc(m);
	m->disk_bm = kvzalloc(m->bm_bytes, GFP_KERNEL);
	m->bm_changed = bitmap_zalloc(m->bm_blocks, GFP_KERNEL);
	m->sb_buf = kmalloc_array(METRO_NR_LEGS, METRO_SB_SIZE, GFP_KERNEL);
	if (!m->dirty || !m->active || !m->out_of_sync || !m->gate.copying ||
	    !m->clearing || !m->disk_bm || !m->bm_changed || !m->sb_buf)
		goto bad;
	m->fast = m->dirty;

	if (metro_sb_clustered(&m->legs[metro_leg_alive(&m->legs[0]) ? 0 : 1].sb)) {
		r = metro_cluster_get(m);
		if (r) {
			DMERR("%s: the volume is clustered, and dm-metro-cluster cannot be loaded: install it (it needs the dlm module)",
			      metro_name(m));
			ti->error = "Clustered volume: cannot load the dm-metro-cluster module";
			goto bad;
		}
	}

	m->wq = alloc_ordered_workqueue("kmetrod", WQ_MEM_RECLAIM);
	m->submit_wq = alloc_workqueue("kmetro_submit", WQ_MEM_RECLAIM | WQ_HIGHPRI, 0);
	m->copy_wq = alloc_workqueue("kmetro_copy", WQ_MEM_RECLAIM | WQ_UNBOUND,
				     METRO_RESYNC_SLOTS);
	if (!m->wq || !m->submit_wq || !m->copy_wq) {
		r = -ENOMEM;
		ti->error = "Cannot allocate the workqueues";
		goto bad;
	}
	m->read_ages = alloc_percpu(struct metro_read_ages);
	if (!m->read_ages) {
		r = -ENOMEM;
		ti->error = "Cannot allocate the read counters";
		goto bad;
	}

	r = dm_set_target_max_io_len(ti, m->region_sectors);
	if (r)
		goto bad;
	ti->num_flush_bios = 1;
	ti->num_discard_bios = 1;
	ti->num_write_zeroes_bios = 1;
	ti->per_io_data_size = sizeof(struct metro_io);
	ti->accounts_remapped_io = true;

	r = metro_check_late(ti, m);
	if (r)
		goto bad;
	ti->private = m;
	return 0;

bad:
	metro_free(m);
	return r;
}

static void metro_dtr(struct dm_target *ti)
{
	struct metro_c *m = ti->private;

	metro_resync_stop(m);
	cancel_delayed_work_sync(&m->clear_work);
	cancel_delayed_work_sync(&m->watchdog);
	flush_workqueue(m->wq);
	if (metro_clustered(m))
		m->cluster_ops->leave(m);
	/* I/O abandoned on a stalled leg is not waited for: see metro-pool.h. */
	metro_free(m);
}

/* Suspend and resume */

static void metro_presuspend(struct dm_target *ti)
{
	struct metro_c *m = ti->private;

	/* Copies stop first: writes parked behind them must be able to drain. */
	metro_resync_stop(m);
}

static void metro_presuspend_undo(struct dm_target *ti)
{
	struct metro_c *m = ti->private;

	metro_resync_start(m);
}

static void metro_postsuspend(struct dm_target *ti)
{
	struct metro_c *m = ti->private;

	spin_lock_irq(&m->lock);
	m->suspended = true;
	spin_unlock_irq(&m->lock);
	cancel_delayed_work_sync(&m->clear_work);
	cancel_delayed_work_sync(&m->watchdog);
	/* dm has drained our bios, so the worker has nothing left after this. */
	flush_workqueue(m->wq);
	metro_log_suspend(m);
	/* A suspended node of a cluster holds no lock: the others go on. */
	if (metro_clustered(m))
		m->cluster_ops->leave(m);
}

static int metro_preresume(struct dm_target *ti)
{
	struct metro_c *m = ti->private;
	int r;

	if (m->cluster_ops && !m->cluster) {
		r = m->cluster_ops->join(m);
		if (r)
			return r;
	}
	r = metro_log_load(m);
	if (!r && metro_clustered(m))
		r = m->cluster_ops->loaded(m);
	if (r && metro_clustered(m))
		m->cluster_ops->leave(m);
	return r;
}

static void metro_resume(struct dm_target *ti)
{
	struct metro_c *m = ti->private;

	spin_lock_irq(&m->lock);
	m->suspended = false;
	queue_delayed_work(m->wq, &m->clear_work, msecs_to_jiffies(m->clear_delay));
	if (m->io_deadline)
		queue_delayed_work(system_wq, &m->watchdog, metro_watchdog_period(m));
	spin_unlock_irq(&m->lock);
	metro_resync_start(m);
}

/* Status, messages, limits */

static const char *metro_leg_dev_name(struct metro_leg *leg)
{
	return leg->dev ? leg->dev->name : "-";
}

static char metro_health(struct metro_c *m, unsigned int i)
{
	unsigned int src = READ_ONCE(m->source);

	if (!metro_leg_alive(&m->legs[i]))
		return 'D';
	if (i != src && metro_leg_alive(&m->legs[src]) &&
	    atomic_read(&m->nr_out_of_sync))
		return 'a';
	return 'A';
}

static const char *metro_sync_action(struct metro_c *m)
{
	bool repair;

	if (metro_nr_alive(m) != METRO_NR_LEGS)
		return "degraded";
	if (!atomic_read(&m->nr_out_of_sync) && metro_check_running(m, &repair))
		return repair ? "repair" : "check";
	if (!atomic_read(&m->nr_out_of_sync))
		return "idle";
	if (READ_ONCE(m->resync_paused) || READ_ONCE(m->resync_error))
		return "frozen";
	return "resync";
}

static void metro_status(struct dm_target *ti, status_type_t type,
			 unsigned int status_flags, char *result, unsigned int maxlen)
{
	struct metro_c *m = ti->private;
	/* what metro_read_legs_shown() needs of the options */
	const struct metro_table_opts o = {
		.read_mode = m->read_mode, .read_legs = m->read_legs,
	};
	unsigned int sz = 0, nr_opt = 0;
	long long eta;

	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("%u %s %s %c%c %lu/%lu %s %u %llu %llu %llu %llu",
		       METRO_NR_LEGS, metro_leg_dev_name(&m->legs[0]),
		       metro_leg_dev_name(&m->legs[1]),
		       metro_health(m, 0), metro_health(m, 1),
		       m->nr_regions - atomic_read(&m->nr_out_of_sync),
		       m->nr_regions, metro_sync_action(m),
		       atomic_read(&m->nr_dirty),
		       (unsigned long long)m->region_sectors,
		       (unsigned long long)atomic64_read(&m->md_writes),
		       (unsigned long long)atomic64_read(&m->legs[0].reads),
		       (unsigned long long)atomic64_read(&m->legs[1].reads));
		eta = metro_resync_eta(m);
		if (eta < 0)
			DMEMIT(" -");
		else
			DMEMIT(" %lld", eta);
		DMEMIT(" %d %d", metro_pool_late(m->pool, 0), metro_pool_late(m->pool, 1));
		if (m->cluster_ops)
			m->cluster_ops->status(m, result, maxlen, &sz);
		metro_check_status(m, result, maxlen, &sz);
		break;

	case STATUSTYPE_TABLE:
		DMEMIT("%s %s", metro_leg_dev_name(&m->legs[0]),
		       metro_leg_dev_name(&m->legs[1]));
		nr_opt += m->resync_rate ? 2 : 0;
		nr_opt += m->clear_delay != METRO_DEFAULT_CLEAR_DELAY_MS ? 2 : 0;
		nr_opt += m->io_deadline != METRO_DEFAULT_IO_DEADLINE_MS ? 2 : 0;
		nr_opt += m->write_mostly >= 0 ? 2 : 0;
		nr_opt += m->read_mode != METRO_READ_AUTO || m->read_legs ? 2 : 0;
		nr_opt += m->failfast ? 2 : 0;
		if (nr_opt)
			DMEMIT(" %u", nr_opt);
		if (m->resync_rate)
			DMEMIT(" resync_rate %u", m->resync_rate);
		if (m->clear_delay != METRO_DEFAULT_CLEAR_DELAY_MS)
			DMEMIT(" clear_delay %u", m->clear_delay);
		if (m->io_deadline != METRO_DEFAULT_IO_DEADLINE_MS)
			DMEMIT(" io_deadline %u", m->io_deadline);
		if (m->write_mostly >= 0)
			DMEMIT(" write_mostly %c", metro_leg_letter(m->write_mostly));
		if (m->read_mode != METRO_READ_AUTO || m->read_legs)
			DMEMIT(" read_mode %s%s%s", metro_read_mode_name(m->read_mode),
			       metro_read_legs_shown(&o) ? ":" : "",
			       metro_read_legs_shown(&o) ? metro_legs_name(m->read_legs) : "");
		if (m->failfast)
			DMEMIT(" failfast %s", metro_failfast_name(m->failfast));
		break;

	case STATUSTYPE_IMA:
		DMEMIT_TARGET_NAME_VERSION(ti->type);
		DMEMIT(",leg_a=%s,leg_a_health=%c,leg_b=%s,leg_b_health=%c,resync_rate=%u,clear_delay=%u,io_deadline=%u,write_mostly=%c,read_mode=%s,read_legs=%s,failfast=%s;",
		       metro_leg_dev_name(&m->legs[0]), metro_health(m, 0),
		       metro_leg_dev_name(&m->legs[1]), metro_health(m, 1),
		       m->resync_rate, m->clear_delay, m->io_deadline,
		       m->write_mostly >= 0 ? metro_leg_letter(m->write_mostly) : '-',
		       metro_read_mode_name(m->read_mode),
		       m->read_legs ? metro_legs_name(m->read_legs) : "-",
		       m->failfast ? metro_failfast_name(m->failfast) : "-");
		break;
	}
}

/* "check [<region>]", "repair <A|B> [<region>]": @argv holds the region. */
static int metro_message_check(struct metro_c *m, bool repair, unsigned int from,
			       unsigned int argc, char **argv)
{
	unsigned int first = 0;

	if (argc && metro_table_parse_uint(argv[0], &first)) {
		DMWARN("%s: %s: invalid region \"%.64s\": expected the region number to start at",
		       metro_name(m), repair ? "repair" : "check", argv[0]);
		return -EINVAL;
	}
	return metro_check_start(m, repair, from, first);
}

static int metro_message(struct dm_target *ti, unsigned int argc, char **argv,
			 char *result, unsigned int maxlen)
{
	struct metro_c *m = ti->private;
	unsigned int val;

	if (argc == 1 && !strcasecmp(argv[0], "pause_resync")) {
		metro_resync_pause(m, true);
		return 0;
	}
	if (argc == 1 && !strcasecmp(argv[0], "resume_resync")) {
		metro_resync_pause(m, false);
		return 0;
	}
	if (argc >= 1 && argc <= 2 && !strcasecmp(argv[0], "check"))
		return metro_message_check(m, false, 0, argc - 1, argv + 1);
	if ((argc == 2 || argc == 3) && !strcasecmp(argv[0], "repair")) {
		if (strcasecmp(argv[1], "A") && strcasecmp(argv[1], "B")) {
			DMWARN("%s: repair: invalid leg \"%.64s\": expected A or B, the leg copied from",
			       metro_name(m), argv[1]);
			return -EINVAL;
		}
		return metro_message_check(m, true, toupper(argv[1][0]) - 'A',
					   argc - 2, argv + 2);
	}
	if (argc == 1 && !strcasecmp(argv[0], "check_stop"))
		return metro_check_stop(m);
	if (argc == 2 && !strcasecmp(argv[0], "resync_rate")) {
		if (metro_table_parse_uint(argv[1], &val) || val > METRO_MAX_RESYNC_RATE) {
			DMWARN("%s: invalid resync_rate \"%.64s\": expected KiB/s between 0 and %u",
			       metro_name(m), argv[1], METRO_MAX_RESYNC_RATE);
			return -EINVAL;
		}
		metro_resync_set_rate(m, val);
		return 0;
	}
	/* At most 64 characters of the word: a log line stays one line. */
	DMWARN("%s: unsupported message \"%.64s\" with %u argument(s)",
	       metro_name(m), argc ? argv[0] : "", argc);
	return -EINVAL;
}

static int metro_iterate_devices(struct dm_target *ti,
				 iterate_devices_callout_fn fn, void *data)
{
	struct metro_c *m = ti->private;
	unsigned int i;
	int r = 0;

	for (i = 0; i < METRO_NR_LEGS && !r; i++)
		if (m->legs[i].dev)
			r = fn(ti, m->legs[i].dev, m->data_offset, ti->len, data);
	return r;
}

static void metro_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct metro_c *m = ti->private;
	unsigned int region_bytes = m->region_sectors << SECTOR_SHIFT;

	/*
	 * dm core has already stacked the limits of both legs.  Full
	 * regions are the unit that costs no metadata I/O in steady state.
	 */
	if (!limits->io_opt || region_bytes % limits->io_opt == 0)
		limits->io_opt = region_bytes;
	if (limits->io_min < limits->logical_block_size)
		limits->io_min = limits->logical_block_size;
	/*
	 * dm core cuts bios at max_sectors as well as at regions: keep the
	 * cuts page aligned.  Behind a leg limited to 255 sectors (brd) every
	 * piece after the first would otherwise straddle pages.
	 */
	if (limits->max_sectors >= PAGE_SECTORS)
		limits->max_sectors = round_down(limits->max_sectors, PAGE_SECTORS);
}

static struct target_type metro_target = {
	.name		 = "metro",
	.version	 = {1, 10, 0},
	.features	 = 0,
	.module		 = THIS_MODULE,
	.ctr		 = metro_ctr,
	.dtr		 = metro_dtr,
	.map		 = metro_map,
	.end_io		 = metro_end_io,
	.presuspend	 = metro_presuspend,
	.presuspend_undo = metro_presuspend_undo,
	.postsuspend	 = metro_postsuspend,
	.preresume	 = metro_preresume,
	.resume		 = metro_resume,
	.status		 = metro_status,
	.message	 = metro_message,
	.iterate_devices = metro_iterate_devices,
	.io_hints	 = metro_io_hints,
};

static int __init dm_metro_init(void)
{
	int r = metro_pool_module_init();

	if (r)
		return r;
	r = dm_register_target(&metro_target);
	if (r) {
		DMERR("register failed %d", r);
		metro_pool_module_exit();
	}
	return r;
}

static void __exit dm_metro_exit(void)
{
	dm_unregister_target(&metro_target);
	metro_pool_module_exit();
}

module_init(dm_metro_init);
module_exit(dm_metro_exit);

MODULE_DESCRIPTION(DM_NAME " synchronous two-leg mirror target");
MODULE_AUTHOR("dm-metro developers");
MODULE_LICENSE("GPL");
