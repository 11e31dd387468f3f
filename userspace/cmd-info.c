// SPDX-License-Identifier: GPL-2.0-only
/*
 * Information commands: status (active volumes) and examine (a leg).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/sysmacros.h>

#include "metroctl.h"

/* Table options as JSON (status: the live table; examine: the recorded ones). */
static struct json_object *table_opts_json(const struct metro_table_opts *t)
{
	struct json_object *o = json_object_new_object();
	char wm[2] = { t->write_mostly, '\0' };
	unsigned int bounced;

	json_object_object_add(o, "io_deadline_ms", json_object_new_uint64(t->io_deadline));
	json_object_object_add(o, "write_mostly", t->write_mostly ? json_object_new_string(wm) : NULL);
	json_object_object_add(o, "read_mode", json_object_new_string(metro_read_mode_name(t->read_mode)));
	/* bounce: the legs bounced; auto (live table only): the legs found remote */
	json_object_object_add(o, "read_mode_legs", t->read_legs ?
			       json_object_new_string(metro_legs_name(t->read_legs)) : NULL);
	bounced = metro_read_bounce_legs(t);
	json_object_object_add(o, "reads_bounced", bounced ?
			       json_object_new_string(metro_legs_name(bounced)) : NULL);
	json_object_object_add(o, "failfast", t->failfast ?
			       json_object_new_string(metro_failfast_name(t->failfast)) : NULL);
	json_object_object_add(o, "resync_rate_kib", json_object_new_uint64(t->resync_rate));
	json_object_object_add(o, "clear_delay_ms", json_object_new_uint64(t->clear_delay));
	return o;
}

/* ---------------------------------------------------------------------- */
/* status                                                                 */
/* ---------------------------------------------------------------------- */

/* The options of @name's live table: 0, or -1 when they cannot be read. */
static int live_table_opts(const char *name, struct metro_table_opts *o)
{
	char params[1024], tok[2][64];
	const char *why;
	uint64_t length;
	int used = 0;

	if (metro_dm_get_table(name, &length, params, sizeof(params)) != 1 ||
	    sscanf(params, "%63s %63s %n", tok[0], tok[1], &used) < 2)
		return -1;
	return parse_table_opts(params + used, o, &why) ? -1 : 0;
}

static struct json_object *status_json(const struct metro_dm_dev *d,
				       const struct metro_status *st,
				       const struct metro_table_opts *opts)
{
	struct json_object *o = json_object_new_object(), *legs, *sync;
	char path[256], devno[32];
	const char *remote;
	int i;

	json_object_object_add(o, "name", json_object_new_string(d->name));
	json_object_object_add(o, "size_sectors", json_object_new_uint64(d->length));
	json_object_object_add(o, "region_size_sectors", json_object_new_uint64(st->region_sectors));
	json_object_object_add(o, "sync_action", json_object_new_string(st->sync_action));
	json_object_object_add(o, "dirty_regions", json_object_new_uint64(st->dirty));
	legs = json_object_new_array();
	for (i = 0; i < METRO_NR_LEGS; i++) {
		struct json_object *l = json_object_new_object();

		if (st->absent[i]) {
			json_object_object_add(l, "device", NULL);
			json_object_object_add(l, "devno", NULL);
		} else {
			/* No node in /dev: "major:minor" stands in. */
			leg_dev_path(st->dev[i], path, sizeof(path));
			format_leg_dev(st->dev[i], devno, sizeof(devno));
			json_object_object_add(l, "device", json_object_new_string(path));
			json_object_object_add(l, "devno", json_object_new_string(devno));
		}
		json_object_object_add(l, "absent", json_object_new_boolean(st->absent[i]));
		json_object_object_add(l, "role", json_object_new_string(i ? "B" : "A"));
		json_object_object_add(l, "health",
				       json_object_new_string(leg_health_word(st->health[i], st->sync_action)));
		json_object_object_add(l, "reads", json_object_new_uint64(st->reads[i]));
		/* what read_mode auto goes by (transport.c) */
		remote = st->absent[i] ? NULL : dev_transport_remote(st->dev[i]);
		json_object_object_add(l, "transport", st->absent[i] ? NULL :
				       json_object_new_string(remote ? remote : "local"));
		/* null: the module (before target 1.7) does not say */
		json_object_object_add(l, "late_ios", st->late_known ?
				       json_object_new_uint64(st->late[i]) : NULL);
		json_object_array_add(legs, l);
	}
	json_object_object_add(o, "legs", legs);
	sync = json_object_new_object();
	json_object_object_add(sync, "in_sync_regions", json_object_new_uint64(st->in_sync));
	json_object_object_add(sync, "total_regions", json_object_new_uint64(st->total));
	json_object_object_add(sync, "eta_seconds",
			       st->eta < 0 ? NULL : json_object_new_int64(st->eta));
	json_object_object_add(o, "sync", sync);
	json_object_object_add(o, "metadata_writes", json_object_new_uint64(st->md_writes));
	if (st->clustered) {
		struct json_object *c = json_object_new_object();

		json_object_object_add(c, "slot", st->slot < 0 ? NULL : json_object_new_int(st->slot));
		json_object_object_add(c, "owned_regions",
				       st->owned < 0 ? NULL : json_object_new_int(st->owned));
		json_object_object_add(c, "state", json_object_new_string(st->cluster_state));
		json_object_object_add(o, "cluster", c);
	} else {
		json_object_object_add(o, "cluster", NULL);
	}
	if (st->check_known) {
		struct json_object *c = json_object_new_object(), *list = json_object_new_array();
		unsigned int k;

		json_object_object_add(c, "state", json_object_new_string(st->check_state));
		json_object_object_add(c, "position_regions", json_object_new_uint64(st->check_pos));
		json_object_object_add(c, "total_regions", json_object_new_uint64(st->check_total));
		json_object_object_add(c, "mismatches", json_object_new_uint64(st->check_mismatches));
		for (k = 0; k < st->check_nr_list; k++)
			json_object_array_add(list, json_object_new_uint64(st->check_list[k]));
		/* The first METRO_CHECK_LIST of them; the kernel log names all. */
		json_object_object_add(c, "mismatch_regions", list);
		json_object_object_add(c, "eta_seconds", st->check_eta < 0 ? NULL :
				       json_object_new_int64(st->check_eta));
		json_object_object_add(o, "check", c);
	} else {
		json_object_object_add(o, "check", NULL);
	}
	json_object_object_add(o, "table_options", opts ? table_opts_json(opts) : NULL);
	return o;
}

static void status_text(const struct metro_dm_dev *d, const struct metro_status *st,
			const struct metro_table_opts *opts)
{
	char b1[32], b2[32], path[256], desc[160];
	double pct = st->total ? 100.0 * (double)st->in_sync / (double)st->total : 100.0;
	int i;

	printf("%s: %s (%llu sectors), region size %s\n", d->name,
	       format_bytes(d->length << METRO_SECTOR_SHIFT, b1, sizeof(b1)),
	       (unsigned long long)d->length,
	       format_bytes(st->region_sectors << METRO_SECTOR_SHIFT, b2, sizeof(b2)));
	for (i = 0; i < METRO_NR_LEGS; i++) {
		char dev[300];

		if (st->absent[i]) {
			snprintf(dev, sizeof(dev), "- (absent)");
		} else if (leg_dev_path(st->dev[i], path, sizeof(path))) {
			snprintf(dev, sizeof(dev), "%s (no node in /dev)", path);
		} else {
			snprintf(dev, sizeof(dev), "%s (%u:%u)", path, major(st->dev[i]),
				 minor(st->dev[i]));
		}
		printf("  leg %c: %-28s %-11s reads %llu\n", i ? 'B' : 'A', dev,
		       leg_health_word(st->health[i], st->sync_action),
		       (unsigned long long)st->reads[i]);
	}
	for (i = 0; i < METRO_NR_LEGS; i++)
		if (st->late[i])
			printf("  leg %c: %llu I/O%s abandoned on the I/O deadline %s still held by the device (no metro table can use it until it returns %s)\n",
			       i ? 'B' : 'A', (unsigned long long)st->late[i],
			       st->late[i] == 1 ? "" : "s", st->late[i] == 1 ? "is" : "are",
			       st->late[i] == 1 ? "it" : "them");
	/* Truncate rather than round: never show 100.0% before it is done. */
	printf("  sync: %.1f%% (%llu/%llu regions in sync), action %s, %llu dirty region%s\n",
	       (double)((long long)(pct * 10)) / 10.0,
	       (unsigned long long)st->in_sync, (unsigned long long)st->total,
	       st->sync_action, (unsigned long long)st->dirty, st->dirty == 1 ? "" : "s");
	if (st->in_sync < st->total && st->eta >= 0)
		printf("  resync: about %lldm%02llds left\n", (long long)(st->eta / 60),
		       (long long)(st->eta % 60));
	if (st->clustered) {
		if (st->slot < 0)
			printf("  cluster: not joined (suspended)\n");
		else
			printf("  cluster: bitmap slot %d, %d region%s owned, %s\n", st->slot,
			       st->owned, st->owned == 1 ? "" : "s", st->cluster_state);
	}
	if (st->check_known && strcmp(st->check_state, "idle")) {
		unsigned int k;

		printf("  check: %s, region %llu of %llu, %llu region%s differ%s", st->check_state,
		       (unsigned long long)st->check_pos, (unsigned long long)st->check_total,
		       (unsigned long long)st->check_mismatches,
		       st->check_mismatches == 1 ? "" : "s", st->check_mismatches == 1 ? "s" : "");
		for (k = 0; k < st->check_nr_list; k++)
			printf("%s%llu", k ? ", " : " (", (unsigned long long)st->check_list[k]);
		if (st->check_nr_list)
			printf("%s)", st->check_mismatches > st->check_nr_list ? ", ..." : "");
		if (st->check_eta >= 0 && strcmp(st->check_state, "done"))
			printf(", about %lldm%02llds left", (long long)(st->check_eta / 60),
			       (long long)(st->check_eta % 60));
		printf("\n");
	}
	if (opts)
		printf("  options: %s\n", table_opts_words(opts, desc, sizeof(desc)));
}

int do_status(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	struct metro_dm_dev *devs = NULL;
	struct json_object *arr = NULL;
	const char *only = NULL;
	int opt, r, n, i, ret = EXIT_OK;

	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS, opts, NULL)) != -1)
		if ((r = common_opt("status", opt, argv)) >= 0)
			return r;
	argc -= optind;
	argv += optind;
	if (argc > 1)
		return usage_err("status", "status: expected at most one NAME, got %d", argc);
	if (argc == 1)
		only = argv[0];

	if (metro_dm_list(only, &devs, &n))
		return EXIT_ERR;
	if (only && n == 0) {
		p_err("%s is not a metro volume", only);
		free(devs);
		return EXIT_ERR;
	}
	if (json_output)
		arr = json_object_new_array();
	else if (n == 0)
		printf("no metro volumes\n");
	for (i = 0; i < n; i++) {
		struct metro_table_opts opts;
		struct metro_status st;
		const char *why;
		bool have_opts;

		if (parse_status_line(devs[i].params, &st, &why)) {
			p_err("%s: cannot parse the status line \"%s\": %s",
			      devs[i].name, devs[i].params, why);
			ret = EXIT_ERR;
			continue;
		}
		/* A table gone since the listing: the status still shows. */
		have_opts = !live_table_opts(devs[i].name, &opts);
		if (json_output) {
			json_object_array_add(arr, status_json(&devs[i], &st,
							       have_opts ? &opts : NULL));
		} else {
			if (i)
				printf("\n");
			status_text(&devs[i], &st, have_opts ? &opts : NULL);
		}
	}
	if (arr) {
		json_print(arr);
		json_object_put(arr);
	}
	free(devs);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* examine                                                                */
/* ---------------------------------------------------------------------- */

static const char *time_str(uint64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm) ||
	    !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "%llu", (unsigned long long)t);
	return buf;
}

/*
 * Generations are identifiers, not quantities: 16 hex digits as in the
 * kernel log (a JSON number would lose bits in most JSON parsers).
 */
static struct json_object *gen_json(uint64_t gen)
{
	char buf[17];

	snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)gen);
	return json_object_new_string(buf);
}

/* Version 2: the cluster's name and each bitmap slot (absent for version 1). */
static struct json_object *examine_cluster_json(const struct metro_sb_info *sb,
						const struct examine_counts *c)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	unsigned int i;

	json_object_object_add(o, "name", json_object_new_string(sb->cluster_name));
	json_object_object_add(o, "nr_slots", json_object_new_int64(sb->nr_slots));
	for (i = 0; i < sb->nr_slots && i < METRO_MAX_SLOTS; i++) {
		struct json_object *so = json_object_new_object();

		json_object_object_add(so, "slot", json_object_new_int64(i));
		json_object_object_add(so, "bitmap_offset_sectors",
				       json_object_new_uint64(metro_slot_offset(sb, i)));
		json_object_object_add(so, "dirty_regions", json_object_new_uint64(c->slot[i]));
		json_object_array_add(a, so);
	}
	json_object_object_add(o, "slots", a);
	return o;
}

struct json_object *examine_json(const char *dev, const struct metro_sb_info *sb,
				 const struct examine_counts *c)
{
	struct json_object *o = json_object_new_object(), *a, *flags;
	char u[37];
	int i;

	uuid_unparse(sb->vol_uuid, u);
	json_object_object_add(o, "device", json_object_new_string(dev));
	json_object_object_add(o, "uuid", json_object_new_string(u));
	json_object_object_add(o, "name", json_object_new_string(sb->name));
	json_object_object_add(o, "leg", json_object_new_string(sb->leg == METRO_LEG_A ? "A" : "B"));
	json_object_object_add(o, "version", json_object_new_int64(sb->version));
	flags = json_object_new_array();
	if (sb->flags & METRO_SB_F_CLEAN)
		json_object_array_add(flags, json_object_new_string("clean"));
	json_object_object_add(o, "flags", flags);
	json_object_object_add(o, "region_size_sectors", json_object_new_uint64(sb->region_sectors));
	json_object_object_add(o, "bitmap_offset_sectors", json_object_new_uint64(sb->bitmap_offset));
	json_object_object_add(o, "data_offset_sectors", json_object_new_uint64(sb->data_offset));
	json_object_object_add(o, "data_size_sectors", json_object_new_uint64(sb->data_size));
	json_object_object_add(o, "nr_regions", json_object_new_uint64(sb->nr_regions));
	json_object_object_add(o, "events", json_object_new_uint64(sb->events));
	json_object_object_add(o, "ctime", json_object_new_uint64(sb->ctime));
	json_object_object_add(o, "utime", json_object_new_uint64(sb->utime));
	a = json_object_new_array();
	for (i = 0; i < METRO_GEN_HISTORY; i++)
		json_object_array_add(a, gen_json(sb->gen_history[i]));
	json_object_object_add(o, "gen_history", a);
	json_object_object_add(o, "dirty_regions", json_object_new_uint64(c->dirty));
	if (sb->version == METRO_FORMAT_V2)
		json_object_object_add(o, "cluster", examine_cluster_json(sb, c));
	a = table_opts_json(&sb->opts);
	json_object_object_add(a, "recorded",
			       json_object_new_boolean(sb->opt_flags & METRO_SB_O_RECORDED));
	json_object_object_add(o, "table_options", a);
	/*
	 * An online verify the target will go on with at the next activation;
	 * no key without one, so that the output of a volume stays as it was.
	 */
	if (sb->check_flags & METRO_SB_C_RUNNING) {
		a = json_object_new_object();
		json_object_object_add(a, "action", json_object_new_string(
			sb->check_flags & METRO_SB_C_REPAIR ? "repair" : "check"));
		json_object_object_add(a, "repair_from", !(sb->check_flags & METRO_SB_C_REPAIR) ? NULL :
				       json_object_new_string(sb->check_flags & METRO_SB_C_FROM_B ?
							      "B" : "A"));
		json_object_object_add(a, "position_regions", json_object_new_uint64(sb->check_pos));
		json_object_object_add(o, "check", a);
	}
	a = json_object_new_array();
	for (i = 0; i < METRO_NR_LEGS; i++) {
		const struct metro_leg_info *l = &sb->legs[i];
		struct json_object *lo = json_object_new_object();

		uuid_unparse(l->leg_uuid, u);
		json_object_object_add(lo, "role", json_object_new_string(i ? "B" : "A"));
		json_object_object_add(lo, "leg_uuid", json_object_new_string(u));
		json_object_object_add(lo, "generation", gen_json(l->generation));
		json_object_object_add(lo, "events", json_object_new_uint64(l->events));
		json_object_object_add(lo, "dev_sectors", json_object_new_uint64(l->dev_sectors));
		json_object_object_add(lo, "state", leg_state_json(l->state));
		json_object_array_add(a, lo);
	}
	json_object_object_add(o, "legs", a);
	return o;
}

void examine_text(const char *dev, const struct metro_sb_info *sb, const struct examine_counts *c)
{
	bool v2 = sb->version == METRO_FORMAT_V2;
	char u[37], b[64], b2[160];
	unsigned int s;
	int i;

	uuid_unparse(sb->vol_uuid, u);
	printf("%s:\n", dev);
	printf("          uuid: %s\n", u);
	printf("          name: %s\n", sb->name);
	printf("           leg: %c\n", sb->leg == METRO_LEG_A ? 'A' : 'B');
	printf("       version: %u\n", sb->version);
	if (v2) {
		printf("       cluster: %s\n", sb->cluster_name);
		printf("  bitmap slots: %u\n", sb->nr_slots);
	}
	printf("         flags: %s\n", sb->flags & METRO_SB_F_CLEAN ? "clean" : "none (active, or not stopped cleanly)");
	printf("   region size: %u sectors (%s)\n", sb->region_sectors,
	       format_bytes((uint64_t)sb->region_sectors << METRO_SECTOR_SHIFT, b, sizeof(b)));
	printf(" bitmap offset: %llu sectors\n", (unsigned long long)sb->bitmap_offset);
	printf("   data offset: %llu sectors\n", (unsigned long long)sb->data_offset);
	printf("     data size: %llu sectors (%s)\n", (unsigned long long)sb->data_size,
	       format_bytes(sb->data_size << METRO_SECTOR_SHIFT, b, sizeof(b)));
	printf("       regions: %llu\n", (unsigned long long)sb->nr_regions);
	printf(" dirty regions: %llu (bits set in %s)\n", (unsigned long long)c->dirty,
	       v2 ? "any slot's bitmap" : "the bitmap");
	for (s = 0; v2 && s < sb->nr_slots && s < METRO_MAX_SLOTS; s++)
		printf("  slot %u dirty: %llu (bitmap at sector %llu)\n", s,
		       (unsigned long long)c->slot[s], (unsigned long long)metro_slot_offset(sb, s));
	printf("        events: %llu\n", (unsigned long long)sb->events);
	printf("       created: %s\n", time_str(sb->ctime, b, sizeof(b)));
	printf("       updated: %s\n", time_str(sb->utime, b, sizeof(b)));
	printf(" table options: %s%s\n", table_opts_words(&sb->opts, b2, sizeof(b2)),
	       sb->opt_flags & METRO_SB_O_RECORDED ? "" : " (defaults: none recorded)");
	if (sb->check_flags & METRO_SB_C_RUNNING)
		printf("         check: %s%s at region %llu (goes on at the next activation)\n",
		       sb->check_flags & METRO_SB_C_REPAIR ? "repair" : "check",
		       !(sb->check_flags & METRO_SB_C_REPAIR) ? "" :
		       sb->check_flags & METRO_SB_C_FROM_B ? " from leg B" : " from leg A",
		       (unsigned long long)sb->check_pos);
	printf("   gen history:");
	for (i = 0; i < METRO_GEN_HISTORY; i++)
		printf(" %016llx", (unsigned long long)sb->gen_history[i]);
	printf("\n");
	for (i = 0; i < METRO_NR_LEGS; i++) {
		const struct metro_leg_info *l = &sb->legs[i];

		uuid_unparse(l->leg_uuid, u);
		printf("  leg %c record%s:\n", i ? 'B' : 'A', (uint32_t)i == sb->leg ? " (this leg)" : "");
		printf("      leg uuid: %s\n", u);
		printf("    generation: %016llx\n", (unsigned long long)l->generation);
		printf("        events: %llu\n", (unsigned long long)l->events);
		printf("   device size: %llu sectors\n", (unsigned long long)l->dev_sectors);
		printf("         state: %s\n", leg_state_words(l->state, b, sizeof(b)));
	}
}

int do_examine(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "export", no_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	struct examine_counts counts = { 0 };
	struct metro_sb_info sb;
	struct leg leg;
	bool export = false;
	int opt, r;

	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS "e", opts, NULL)) != -1) {
		if (opt == 'e') {
			export = true;
			continue;
		}
		if ((r = common_opt("examine", opt, argv)) >= 0)
			return r;
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return usage_err("examine", "examine: expected one DEV, got %d arguments", argc);
	if (export && json_output)
		return usage_err("examine", "examine: --export and --json exclude each other");

	if (export) {
		struct sb_probe p;
		char u[37], q[300];

		/*
		 * udev runs this for every block device: bounded, and quiet
		 * but for a device that does not answer.
		 */
		if (probe_leg(argv[0], &p, true))
			return EXIT_ERR;
		uuid_unparse(p.info.vol_uuid, u);
		shell_quote(p.info.name, q, sizeof(q));
		printf("METRO_UUID=%s\nMETRO_NAME=%s\nMETRO_LEG=%c\n", u, q,
		       p.info.leg == METRO_LEG_A ? 'A' : 'B');
		/*
		 * The superblock only: udev runs this for every device, and
		 * the slots' dirty counts would read up to 8 bitmaps each time.
		 */
		if (p.info.version == METRO_FORMAT_V2) {
			shell_quote(p.info.cluster_name, q, sizeof(q));
			printf("METRO_CLUSTER=%s\nMETRO_SLOTS=%u\n", q, p.info.nr_slots);
		}
		return EXIT_OK;
	}
	if (leg_open(&leg, argv[0], LEG_RDONLY))
		return EXIT_ERR;
	if (leg_read_sb(&leg, &sb, false)) {
		leg_close(&leg);
		return EXIT_ERR;
	}
	/* Version 1 has one slot: the bitmap. */
	r = leg_count_dirty_slots(&leg, &sb, counts.slot, &counts.dirty);
	leg_close(&leg);
	if (r) {
		p_err("cannot read the bitmap of %s: %s", argv[0], strerror(-r));
		return EXIT_ERR;
	}
	if (json_output) {
		struct json_object *o = examine_json(argv[0], &sb, &counts);

		json_print(o);
		json_object_put(o);
	} else {
		examine_text(argv[0], &sb, &counts);
	}
	return EXIT_OK;
}
