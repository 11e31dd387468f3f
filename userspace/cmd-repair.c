// SPDX-License-Identifier: GPL-2.0-only
/*
 * Commands on an active volume: restore (a failed leg came back), replace
 * (a new device takes a leg's place), resolve (split brain: it activates
 * the volume again) and set (the table options).  Restore, replace and
 * set end with a reload of the volume's table: the target's preresume
 * re-reads both superblocks and bitmaps and resyncs what the newest
 * superblock says is stale (dm-metro.rst, Leg failure).  The superblock of a leg that is part of the live table is
 * never written from here.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "metroctl.h"

/* The active volume as device-mapper shows it. */
struct volume {
	const char *name;
	uint64_t length;
	char table[1024];	/* live table parameters */
	const char *opts;	/* in @table: what follows the two legs */
	dev_t dev[METRO_NR_LEGS];
	char path[METRO_NR_LEGS][PATH_MAX];	/* node, or "major:minor" */
	bool has_node[METRO_NR_LEGS];
	struct metro_status st;
};

static char leg_letter(unsigned int leg)
{
	return (char)('A' + leg);
}

/* Fill @v from the live table and status of @name; messages printed. */
static int volume_get(const char *name, struct volume *v)
{
	struct metro_dm_dev *devs = NULL;
	char tok[2][64];
	const char *why;
	int n = 0, r, i, used = 0;

	memset(v, 0, sizeof(*v));
	v->name = name;
	r = metro_dm_get_table(name, &v->length, v->table, sizeof(v->table));
	if (r < 0) {
		p_err("cannot query device-mapper: %s", metro_dm_last_error());
		return -EIO;
	}
	if (r == 0) {
		p_err("%s is not an active metro volume", name);
		return -ENOENT;
	}
	if (sscanf(v->table, "%63s %63s %n", tok[0], tok[1], &used) < 2 ||
	    parse_leg_dev(tok[0], &v->dev[0]) || parse_leg_dev(tok[1], &v->dev[1])) {
		p_err("%s: cannot parse the table \"%s\"", name, v->table);
		return -EINVAL;
	}
	v->opts = v->table + used;
	if (metro_dm_list(name, &devs, &n))
		return -EIO;
	if (n != 1) {
		free(devs);
		p_err("%s is not an active metro volume", name);
		return -ENOENT;
	}
	r = parse_status_line(devs[0].params, &v->st, &why);
	free(devs);
	if (r) {
		p_err("%s: cannot parse the status line: %s", name, why);
		return r;
	}
	/* A leg that went away may have no node: its number stands in. */
	for (i = 0; i < METRO_NR_LEGS; i++) {
		if (!v->dev[i]) {
			snprintf(v->path[i], sizeof(v->path[i]), "-");
			continue;
		}
		v->has_node[i] = !leg_dev_path(v->dev[i], v->path[i], sizeof(v->path[i]));
	}
	return 0;
}

/*
 * LEG is A or B (any case) or the device of one of the legs.  Returns the
 * leg index, or -EXIT_USAGE / -EXIT_ERR after a message.
 */
static int parse_leg(const char *cmd, const struct volume *v, const char *arg)
{
	struct stat st;
	int i;

	if (!strcasecmp(arg, "A"))
		return METRO_LEG_A;
	if (!strcasecmp(arg, "B"))
		return METRO_LEG_B;
	if (!strchr(arg, '/'))
		return -usage_err(cmd, "%s: LEG must be A, B or the device of a leg, not '%s'",
				  cmd, arg);
	if (stat(arg, &st)) {
		p_err("%s: %s", arg, strerror(errno));
		return -EXIT_ERR;
	}
	if (S_ISBLK(st.st_mode))
		for (i = 0; i < METRO_NR_LEGS; i++)
			if (st.st_rdev == v->dev[i])
				return i;
	p_err("%s is not a leg of %s (its legs are %s and %s)", arg, v->name,
	      v->path[0], v->path[1]);
	return -EXIT_ERR;
}

static void print_progress(const char *name, unsigned int leg)
{
	struct volume v;
	uint64_t todo;

	if (volume_get(name, &v))
		return;
	todo = v.st.total - v.st.in_sync;
	printf("  health %c%c, %llu of %llu regions in sync, %s",
	       v.st.health[0], v.st.health[1], (unsigned long long)v.st.in_sync,
	       (unsigned long long)v.st.total, v.st.sync_action);
	if (todo)
		printf("; leg %c is resynced from leg %c", leg_letter(leg),
		       leg_letter(leg ^ 1));
	printf("\n");
}

/* ---------------------------------------------------------------------- */
/* restore                                                                */
/* ---------------------------------------------------------------------- */

int do_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct leg legs[METRO_NR_LEGS];
	struct metro_sb_info sb[METRO_NR_LEGS];
	struct metro_sb_disk raw;
	struct volume v, after;
	bool force = false;
	const char *why, *path[METRO_NR_LEGS];
	int opt, r, i, leg, lock = -1, ret = EXIT_ERR;
	char u0[37], u1[37], params[1100];
	struct stat st;

	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS "f", opts, NULL)) != -1) {
		if (opt == 'f') {
			force = true;
			continue;
		}
		if ((r = common_opt("restore", opt, argv)) >= 0)
			return r;
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 && argc != 3)
		return usage_err("restore", "restore: expected NAME LEG [DEV], got %d argument%s",
				 argc, argc == 1 ? "" : "s");
	if (volume_get(argv[0], &v))
		return EXIT_ERR;
	leg = parse_leg("restore", &v, argv[1]);
	if (leg < 0)
		return -leg;
	path[0] = v.path[0];
	path[1] = v.path[1];
	if (argc == 3) {
		/*
		 * The device of a leg absent since activation, the same one,
		 * or the leg back under another device number (a transport
		 * that reconnected as a new NVMe or SCSI disk): its
		 * superblock, checked below, must name it this leg of this
		 * volume.
		 */
		if (stat(argv[2], &st) || !S_ISBLK(st.st_mode)) {
			p_err("%s: not a block device", argv[2]);
			return EXIT_ERR;
		}
		if (st.st_rdev == v.dev[leg ^ 1]) {
			p_err("%s is leg %c of %s", argv[2], leg_letter(leg ^ 1), v.name);
			return EXIT_ERR;
		}
		path[leg] = argv[2];
	} else if (!v.dev[leg]) {
		p_err("leg %c of %s was absent at activation: give its device, 'metroctl restore %s %c DEV'",
		      leg_letter(leg), v.name, v.name, leg_letter(leg));
		return EXIT_ERR;
	}
	if (v.st.health[leg] != 'D' && !force) {
		p_err("leg %c of %s (%s) has not failed (health '%c'): nothing to restore; --force reloads the table anyway",
		      leg_letter(leg), v.name, v.path[leg], v.st.health[leg]);
		return EXIT_ERR;
	}
	if (v.st.health[leg ^ 1] == 'D') {
		p_err("leg %c of %s has failed too: the volume has no live leg to resync from",
		      leg_letter(leg ^ 1), v.name);
		return EXIT_ERR;
	}

	for (i = 0; i < METRO_NR_LEGS; i++)
		legs[i].fd = -1;
	for (i = 0; i < METRO_NR_LEGS; i++) {
		if (path[i] == v.path[i] && !v.has_node[i]) {
			p_err("leg %c of %s (%s) has no device node in /dev%s",
			      leg_letter(i), v.name, v.path[i],
			      i == leg ? ": is the device back?" : "");
			goto out;
		}
		if (leg_open(&legs[i], path[i], LEG_RDONLY))
			goto out;
		if (i != leg) {
			if (leg_read_sb(&legs[i], &sb[i], false))
				goto out;
			continue;
		}
		/* One message saying why the returning leg cannot be used. */
		r = leg_read_raw_sb(&legs[i], &raw);
		if (r) {
			p_err("leg %c (%s) is still unreadable (%s): repair it first",
			      leg_letter(leg), path[i], strerror(-r));
			goto out;
		}
		if (metro_sb_decode(&raw, legs[i].sectors, &sb[i], &why)) {
			p_err("leg %c (%s) has no usable dm-metro superblock (%s): use 'metroctl replace' for a new device",
			      leg_letter(leg), path[i], why);
			goto out;
		}
	}
	if (memcmp(sb[0].vol_uuid, sb[1].vol_uuid, METRO_UUID_LEN)) {
		uuid_unparse(sb[leg].vol_uuid, u0);
		uuid_unparse(sb[leg ^ 1].vol_uuid, u1);
		p_err("%s now holds volume %s '%s', not %s '%s' of leg %c: use 'metroctl replace'",
		      path[leg], u0, sb[leg].name, u1, sb[leg ^ 1].name, leg_letter(leg ^ 1));
		goto out;
	}
	if (sb[leg].leg != (uint32_t)leg) {
		p_err("%s holds leg %c of '%s', not leg %c", path[leg],
		      leg_letter(sb[leg].leg), sb[leg].name, leg_letter(leg));
		goto out;
	}
	if (metro_gen_compare(&sb[0], &sb[1]) == METRO_GEN_SPLIT) {
		report_split_brain(v.name, path[0], &sb[0], path[1], &sb[1]);
		p_err("(stop %s first: resolve works on a stopped volume)", v.name);
		goto out;
	}
	load_table_params(legs[0].rdev, legs[1].rdev, v.opts, params, sizeof(params));
	leg_close(&legs[0]);
	leg_close(&legs[1]);

	lock = metro_lock();
	if (metro_dm_reload(v.name, v.length, params))
		goto out;
	if (volume_get(v.name, &after))
		goto out;
	if (after.st.health[leg] == 'D') {
		p_err("the kernel detached leg %c (%s) again while activating it: see 'dmesg'",
		      leg_letter(leg), v.path[leg]);
		goto out;
	}
	printf("leg %c re-added to %s (%s); %llu regions to resync\n", leg_letter(leg),
	       v.name, path[leg], (unsigned long long)(after.st.total - after.st.in_sync));
	print_progress(v.name, (unsigned int)leg);
	ret = EXIT_OK;
out:
	metro_unlock(lock);
	leg_close(&legs[0]);
	leg_close(&legs[1]);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* replace                                                                */
/* ---------------------------------------------------------------------- */

int do_replace(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct leg surv, nl;
	struct metro_sb_info sb, info;
	struct metro_layout lay;
	struct volume v, after;
	struct stat st;
	bool force = false;
	const char *newdev;
	char what[256], buf[64], buf2[64], params[1100];
	uint64_t need;
	int opt, r, leg, other, lock = -1, ret = EXIT_ERR;

	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS "f", opts, NULL)) != -1) {
		if (opt == 'f') {
			force = true;
			continue;
		}
		if ((r = common_opt("replace", opt, argv)) >= 0)
			return r;
	}
	argc -= optind;
	argv += optind;
	if (argc != 3)
		return usage_err("replace", "replace: expected NAME LEG NEWDEV, got %d argument%s",
				 argc, argc == 1 ? "" : "s");
	newdev = argv[2];
	if (volume_get(argv[0], &v))
		return EXIT_ERR;
	leg = parse_leg("replace", &v, argv[1]);
	if (leg < 0)
		return -leg;
	other = leg ^ 1;
	if (stat(newdev, &st)) {
		p_err("%s: %s", newdev, strerror(errno));
		return EXIT_ERR;
	}
	if (S_ISBLK(st.st_mode) && st.st_rdev == v.dev[other]) {
		p_err("%s is leg %c of %s, the leg to copy from", newdev, leg_letter(other), v.name);
		return EXIT_ERR;
	}
	if (S_ISBLK(st.st_mode) && st.st_rdev == v.dev[leg]) {
		p_err("%s is leg %c of %s already: use 'metroctl restore %s %c' to re-add it",
		      newdev, leg_letter(leg), v.name, v.name, leg_letter(leg));
		return EXIT_ERR;
	}
	if (v.st.health[other] != 'A') {
		p_err("leg %c of %s is %s: it cannot be the source of a full copy",
		      leg_letter(other), v.name,
		      v.st.health[other] == 'D' ? "failed" : "not in sync (still being resynced)");
		return EXIT_ERR;
	}
	if (v.st.health[leg] != 'D') {
		if (!force) {
			p_err("leg %c of %s (%s) has not failed (health '%c'); use --force to replace a live leg",
			      leg_letter(leg), v.name, v.path[leg], v.st.health[leg]);
			return EXIT_ERR;
		}
		/*
		 * The survivor records a live leg as ACTIVE, and that record
		 * is the newest one at activation.  With neither leg stale the
		 * target copies from leg A, which is right for a new leg B
		 * and would copy a new leg A over leg B.
		 */
		if (leg == METRO_LEG_A) {
			p_err("a live leg A cannot be replaced: the target would copy the new leg over leg B; replace it once it has failed");
			return EXIT_ERR;
		}
	}

	surv.fd = nl.fd = -1;
	if (!v.has_node[other]) {
		p_err("leg %c of %s (%s) has no device node in /dev", leg_letter(other),
		      v.name, v.path[other]);
		goto out;
	}
	if (leg_open(&surv, v.path[other], LEG_RDONLY) || leg_read_sb(&surv, &sb, false))
		goto out;
	leg_close(&surv);
	if (sb.leg != (uint32_t)other) {
		p_err("%s holds leg %c of '%s', not leg %c", v.path[other],
		      leg_letter(sb.leg), sb.name, leg_letter(other));
		goto out;
	}
	if (sb.legs[other].state & (METRO_LEG_F_STALE | METRO_LEG_F_FAILED)) {
		p_err("leg %c (%s) records itself as not current: it cannot be the source of a full copy",
		      leg_letter(other), v.path[other]);
		goto out;
	}
	if (leg_open(&nl, newdev, LEG_RDWR_EXCL))
		goto out;
	need = sb.data_offset + sb.data_size;
	if (nl.sectors < need) {
		p_err("%s is too small (%s): volume '%s' needs %s (%llu sectors)", newdev,
		      format_bytes(nl.bytes, buf, sizeof(buf)), sb.name,
		      format_bytes(need << METRO_SECTOR_SHIFT, buf2, sizeof(buf2)),
		      (unsigned long long)need);
		goto out;
	}
	r = leg_check_signatures(&nl, what, sizeof(what));
	if (r < 0)
		goto out;
	if (r == 1) {
		if (!force) {
			p_err("%s has %s; use --force to overwrite it", newdev, what);
			goto out;
		}
		p_warn("%s has %s: overwriting it (--force)", newdev, what);
	}
	if (metro_layout_compute(sb.data_size, sb.region_sectors, &lay) ||
	    lay.nr_regions != sb.nr_regions || lay.bitmap_offset != sb.bitmap_offset) {
		p_err("%s: unexpected geometry in the superblock", v.path[other]);
		goto out;
	}

	/* The survivor's superblock, as leg @leg, stale, with a new identity. */
	info = sb;
	info.leg = (uint32_t)leg;
	info.flags &= ~METRO_SB_F_CLEAN;
	info.utime = (uint64_t)time(NULL);
	if (fill_random(info.legs[leg].leg_uuid, METRO_UUID_LEN))
		goto out;
	make_uuid(info.legs[leg].leg_uuid);
	info.legs[leg].dev_sectors = nl.sectors;
	info.legs[leg].events = sb.events;
	info.legs[leg].state = METRO_LEG_F_ACTIVE | METRO_LEG_F_STALE;
	/* Not newer than the survivor: its record decides at activation. */
	info.events = sb.events;

	if (force && leg_wipe_signatures(&nl))
		goto out;
	if (leg_write_bitmap(&nl, &lay, true) || leg_sync(&nl))
		goto out;
	if (leg_write_sb(&nl, &info) || leg_sync(&nl))
		goto out;
	/* The target opens the leg exclusively. */
	leg_close(&nl);

	/* The new device in the leg's place, the source leg as it is. */
	load_table_params(leg == METRO_LEG_A ? st.st_rdev : v.dev[0],
			    leg == METRO_LEG_B ? st.st_rdev : v.dev[1], v.opts,
			    params, sizeof(params));
	lock = metro_lock();
	r = metro_dm_reload(v.name, v.length, params);
	if (r == -EINVAL)
		p_err("%s is formatted as leg %c of '%s' but not in use; the volume still runs on %s",
		      newdev, leg_letter(leg), v.name, v.path[leg]);
	if (r)
		goto out;
	if (volume_get(v.name, &after))
		goto out;
	if (after.st.health[leg] == 'D') {
		p_err("the kernel detached the new leg %c (%s) while activating it: see 'dmesg'",
		      leg_letter(leg), newdev);
		goto out;
	}
	printf("leg %c of %s replaced: %s instead of %s; full resync of %llu regions from leg %c\n",
	       leg_letter(leg), v.name, newdev, v.path[leg],
	       (unsigned long long)(after.st.total - after.st.in_sync), leg_letter(other));
	print_progress(v.name, (unsigned int)leg);
	ret = EXIT_OK;
out:
	metro_unlock(lock);
	leg_close(&surv);
	leg_close(&nl);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* resolve                                                                */
/* ---------------------------------------------------------------------- */

/* Some generation both superblocks went through: where they split. */
static bool common_ancestor(const struct metro_sb_info *w, const struct metro_sb_info *l)
{
	int i;

	if (metro_gen_in_history(l, metro_own_gen(w)))
		return true;
	for (i = 0; i < METRO_GEN_HISTORY; i++)
		if (metro_gen_in_history(l, w->gen_history[i]))
			return true;
	return false;
}

/*
 * Make the loser a resync target of the winner: it takes the winner's
 * generation, says it is stale and records the winner as active.  The
 * bitmaps of both legs cover every region written since they split (no
 * clearing while a leg runs alone), so only those are copied; without a
 * common generation in the histories the whole loser is marked.
 */
static int demote_loser(struct leg *ll, struct metro_sb_info *ls,
			const struct metro_sb_info *ws, bool *full)
{
	struct metro_layout lay;
	unsigned int me = ls->leg, w = ws->leg;

	*full = !common_ancestor(ws, ls);
	if (metro_layout_compute(ls->data_size, ls->region_sectors, &lay)) {
		p_err("%s: unexpected geometry in the superblock", ll->path);
		return -EINVAL;
	}
	metro_gen_adopt(ls, ws);
	ls->legs[me].state = METRO_LEG_F_ACTIVE | METRO_LEG_F_STALE;
	ls->legs[w] = ws->legs[w];
	ls->legs[w].state = METRO_LEG_F_ACTIVE;
	/* Newer than both, so that its record is the one read first. */
	ls->events = (ls->events > ws->events ? ls->events : ws->events) + 1;
	ls->flags &= ~METRO_SB_F_CLEAN;
	ls->utime = (uint64_t)time(NULL);
	if (*full && (leg_write_bitmap(ll, &lay, true) || leg_sync(ll)))
		return -EIO;
	if (leg_write_sb(ll, ls) || leg_sync(ll))
		return -EIO;
	return 0;
}

int do_resolve(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "winner", required_argument, NULL, 'w' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct metro_sb_info ws, ls;
	struct candidate cand;
	struct sb_probe wp;
	struct leg wl, ll;
	const char *winner = NULL, *name, *loser;
	char dm_uuid[64], active[128], lpath[300];
	enum metro_gen_order order;
	bool force = false, full;
	uint64_t wd = 0, ld = 0;
	int opt, r, w, lock = -1, ret = EXIT_ERR;

	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS "w:f", opts, NULL)) != -1) {
		if (opt == 'w') {
			winner = optarg;
			continue;
		}
		if (opt == 'f') {
			force = true;
			continue;
		}
		if ((r = common_opt("resolve", opt, argv)) >= 0)
			return r;
	}
	argc -= optind;
	argv += optind;
	if (argc != 1 && argc != 2)
		return usage_err("resolve", "resolve: expected NAME [OTHER_DEV], got %d arguments", argc);
	if (!winner)
		return usage_err("resolve", "resolve: --winner DEV is required: the leg whose data is kept");
	name = argv[0];
	if (validate_name(name, &(const char *){ NULL }))
		return usage_err("resolve", "invalid volume name '%s'", name);

	wl.fd = ll.fd = -1;
	if (probe_leg(winner, &wp, false))
		goto out;
	ws = wp.info;
	w = (int)ws.leg;
	if (argc == 2) {
		loser = argv[1];
	} else {
		scan_for_leg(&ws, wp.rdev, (uint32_t)(w ^ 1), &cand);
		if (!cand.found) {
			p_err("no device carries leg %c of '%s'%s: give it as 'metroctl resolve %s --winner %s DEV'",
			      leg_letter(w ^ 1), ws.name,
			      cand.skipped ? " among those that answered" : "", name, winner);
			goto out;
		}
		snprintf(lpath, sizeof(lpath), "%s", cand.path);
		loser = lpath;
	}

	lock = metro_lock();
	metro_dm_uuid(ws.vol_uuid, dm_uuid);
	r = metro_dm_uuid_active(dm_uuid, active, sizeof(active));
	if (r < 0) {
		p_err("cannot talk to device-mapper: %s", metro_dm_last_error());
		goto out;
	}
	if (r == 1) {
		p_err("volume '%s' is active as /dev/mapper/%s: stop it first", ws.name, active);
		goto out;
	}
	/* Exclusive: nothing may use either leg while the loser is rewritten. */
	if (leg_open(&wl, winner, LEG_RDWR_EXCL) || leg_read_sb(&wl, &ws, false))
		goto out;
	if (leg_open(&ll, loser, LEG_RDWR_EXCL) || leg_read_sb(&ll, &ls, false))
		goto out;
	if (memcmp(ws.vol_uuid, ls.vol_uuid, METRO_UUID_LEN) || ls.leg == ws.leg ||
	    ls.region_sectors != ws.region_sectors || ls.data_size != ws.data_size ||
	    ls.data_offset != ws.data_offset) {
		p_err("%s is not the other leg of '%s' (leg %c on %s)", loser, ws.name,
		      leg_letter((unsigned int)w), winner);
		goto out;
	}
	order = w == METRO_LEG_A ? metro_gen_compare(&ws, &ls) : metro_gen_compare(&ls, &ws);
	if (order == METRO_GEN_SAME) {
		p_err("both legs hold data generation %016llx: there is nothing to resolve; use 'metroctl assemble'",
		      (unsigned long long)metro_own_gen(&ws));
		goto out;
	}
	if (order == (w == METRO_LEG_A ? METRO_GEN_A_NEWER : METRO_GEN_B_NEWER)) {
		printf("leg %c (%s) already holds the newer generation: assembling\n",
		       leg_letter((unsigned int)w), winner);
	} else {
		if (order != METRO_GEN_SPLIT && !force) {
			p_err("leg %c (%s) holds writes that leg %c (%s) never had: keeping leg %c discards them; add --force to do it",
			      leg_letter(ls.leg), loser, leg_letter((unsigned int)w), winner,
			      leg_letter((unsigned int)w));
			goto out;
		}
		if (leg_count_dirty(&wl, &ws, &wd) || leg_count_dirty(&ll, &ls, &ld))
			goto out;
		if (demote_loser(&ll, &ls, &ws, &full))
			goto out;
		if (full)
			printf("leg %c (%s) loses: no common generation is recorded, so all of it is copied from leg %c (%s)\n",
			       leg_letter(ls.leg), loser, leg_letter((unsigned int)w), winner);
		else
			printf("leg %c (%s) loses: the regions either leg wrote alone (%llu and %llu marked) are copied from leg %c (%s)\n",
			       leg_letter(ls.leg), loser, (unsigned long long)ld,
			       (unsigned long long)wd, leg_letter((unsigned int)w), winner);
	}
	leg_close(&wl);
	leg_close(&ll);
	metro_unlock(lock);
	lock = -1;
	return w == METRO_LEG_A ? assemble_volume(name, winner, loser, 0, NULL) :
				  assemble_volume(name, loser, winner, 0, NULL);
out:
	metro_unlock(lock);
	leg_close(&wl);
	leg_close(&ll);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* set                                                                    */
/* ---------------------------------------------------------------------- */

/*
 * Change the table options of an active volume: the live table is loaded
 * again with the same legs and the new options.  The target records them
 * in the superblocks as it resumes, so later activations (assemble, udev)
 * keep them.
 */
int do_set(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		TABLE_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct table_opt_args over = { 0 };
	struct metro_table_opts o;
	struct volume v;
	const char *why;
	char words[METRO_TABLE_OPTS_LEN], desc[160], params[TABLE_PARAMS_LEN];
	int opt, r, lock;

	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS, opts, NULL)) != -1) {
		if (opt >= OPT_RESYNC_RATE && opt <= OPT_FAILFAST) {
			if (table_opt_arg(&over, opt, optarg, &why))
				return usage_err("set", "invalid '%s' for %s", optarg, why);
			continue;
		}
		if ((r = common_opt("set", opt, argv)) >= 0)
			return r;
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return usage_err("set", "set: expected NAME, got %d arguments", argc);
	if (!over.given)
		return usage_err("set", "set: nothing to set: give --io-deadline, --write-mostly, --read-mode, --failfast, --resync-rate or --clear-delay");
	if (volume_get(argv[0], &v))
		return EXIT_ERR;
	if (parse_table_opts(v.opts, &o, &why)) {
		p_err("%s: cannot parse the options \"%s\" of the live table: %s",
		      v.name, v.opts, why);
		return EXIT_ERR;
	}
	table_opts_apply(&over, &o);
	metro_table_opts_format(&o, words);
	load_table_params(v.dev[0], v.dev[1], words, params, sizeof(params));
	lock = metro_lock();
	r = metro_dm_reload(v.name, v.length, params);
	metro_unlock(lock);
	if (r)
		return EXIT_ERR;
	printf("%s: %s\n", v.name, table_opts_words(&o, desc, sizeof(desc)));
	return EXIT_OK;
}
