// SPDX-License-Identifier: GPL-2.0-only
/*
 * Volume commands: create, assemble, stop.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "metroctl.h"

int fill_random(void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = getrandom((char *)buf + done, len - done, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			p_err("getrandom: %s", strerror(errno));
			return -errno;
		}
		done += (size_t)r;
	}
	return 0;
}

void make_uuid(uint8_t u[METRO_UUID_LEN])
{
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);	/* RFC 4122 version 4 */
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
}

/* 1 (after saying so) when both paths are the same block device. */
static int same_device(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) || stat(b, &sb) || !S_ISBLK(sa.st_mode) || !S_ISBLK(sb.st_mode))
		return 0;	/* leg_open() explains */
	if (sa.st_rdev != sb.st_rdev)
		return 0;
	p_err("%s and %s are the same device", a, b);
	return 1;
}

/* A name check with the command's usage-error style. */
static int check_name(const char *cmd, const char *name)
{
	const char *why;

	if (validate_name(name, &why))
		return usage_err(cmd, "invalid volume name '%s': %s", name, why);
	return 0;
}

/* -1 error, 0 free, or 1 after reporting that NAME is taken. */
static int name_taken(const char *name)
{
	int r = metro_dm_name_exists(name);

	if (r == 1)
		p_err("a device-mapper device named '%s' already exists", name);
	return r;
}

/* ---------------------------------------------------------------------- */
/* assemble                                                               */
/* ---------------------------------------------------------------------- */

static bool same_geometry(const struct metro_sb_info *a, const struct metro_sb_info *b)
{
	return a->region_sectors == b->region_sectors &&
	       a->data_offset == b->data_offset &&
	       a->data_size == b->data_size &&
	       a->bitmap_offset == b->bitmap_offset &&
	       a->nr_regions == b->nr_regions;
}

/*
 * Activate volume @sb as @name on leg devices @dev_a and @dev_b (0: absent)
 * with the table options recorded in @sb, those in @over (or NULL) taking
 * their place.  @what describes the legs for the messages; @hint (or NULL)
 * says how to retry after a failure.  Takes the metroctl lock.
 */
static int activate_volume(const char *name, const struct metro_sb_info *sb,
			   dev_t dev_a, dev_t dev_b, const char *what,
			   const char *hint, int flags,
			   const struct table_opt_args *over)
{
	bool from_create = flags & ASM_CREATE, quiet_if_active = flags & ASM_UDEV;
	char dm_uuid[64], active_name[128], u[37], words[METRO_TABLE_OPTS_LEN], desc[160];
	struct metro_table_opts o = sb->opts;
	int r, lock, ret = EXIT_ERR;

	metro_dm_uuid(sb->vol_uuid, dm_uuid);
	lock = metro_lock();
	r = metro_dm_uuid_active(dm_uuid, active_name, sizeof(active_name));
	if (r < 0) {
		p_err("cannot talk to device-mapper: %s (is the dm_mod kernel module loaded?)",
		      metro_dm_last_error());
		if (hint)
			p_err("%s", hint);
		goto out;
	}
	if (r == 1) {
		if (quiet_if_active || (from_create && !strcmp(active_name, name))) {
			printf("volume '%s' is already active as /dev/mapper/%s\n",
			       sb->name, active_name);
			ret = EXIT_OK;
		} else {
			uuid_unparse(sb->vol_uuid, u);
			p_err("volume %s is already active as /dev/mapper/%s", u, active_name);
		}
		goto out;
	}
	r = name_taken(name);
	if (r < 0)
		p_err("cannot query device-mapper: %s", metro_dm_last_error());
	if (r)
		goto out;
	if (over)
		table_opts_apply(over, &o);
	metro_table_opts_format(&o, words);
	if (metro_dm_activate(name, dm_uuid, sb->data_size, dev_a, dev_b, words)) {
		if (hint)
			p_err("%s", hint);
		goto out;
	}
	printf("activated /dev/mapper/%s (%s)\n", name, what);
	if (*words)
		printf("  table options: %s\n", table_opts_words(&o, desc, sizeof(desc)));
	ret = EXIT_OK;
out:
	metro_unlock(lock);
	return ret;
}

/* The generations of two legs of one volume cannot be ordered: say why. */
void report_split_brain(const char *name, const char *path_a, const struct metro_sb_info *a,
			const char *path_b, const struct metro_sb_info *b)
{
	p_err("split brain in volume '%s': leg A (%s) holds data generation %016llx and leg B (%s) generation %016llx, and each was written while the other was away",
	      a->name, path_a, (unsigned long long)metro_own_gen(a), path_b,
	      (unsigned long long)metro_own_gen(b));
	p_err("nothing was activated; keep one copy and resync the other from it with 'metroctl resolve %s --winner DEV'",
	      name);
}

/*
 * assemble_volume - activate the volume on @path0 and @path1 (either
 * order) as @name (NULL: the name in the superblock).
 * @flags: ASM_CREATE: the legs were just formatted;
 *         ASM_UDEV: an already active volume is success (incremental).
 * @over:  table options given on the command line (or NULL); the others
 *         are those recorded in the newer of the two superblocks.
 */
int assemble_volume(const char *name, const char *path0, const char *path1, int flags,
		    const struct table_opt_args *over)
{
	struct sb_probe legs[2] = { { .path = path0 }, { .path = path1 } };
	const struct metro_sb_info *sa, *sbb;
	struct convert_target fmt[2];
	struct sb_probe *la, *lb;
	char u0[37], u1[37], what[700], hint[800], w[2][160], args[2][120];
	int i;

	/* Both at once, each bounded: a leg that does not answer is named. */
	probe_sbs(legs, 2, PROBE_TIMEOUT_MS);
	for (i = 0; i < 2; i++) {
		if (legs[i].err) {
			leg_report(legs[i].path, legs[i].step, legs[i].err, legs[i].why,
				   PROBE_TIMEOUT_MS);
			return EXIT_ERR;
		}
	}
	if (legs[0].rdev == legs[1].rdev) {
		p_err("%s and %s are the same device", path0, path1);
		return EXIT_ERR;
	}
	sa = &legs[0].info;
	sbb = &legs[1].info;
	if (memcmp(sa->vol_uuid, sbb->vol_uuid, METRO_UUID_LEN)) {
		uuid_unparse(sa->vol_uuid, u0);
		uuid_unparse(sbb->vol_uuid, u1);
		p_err("%s and %s belong to different volumes (%s '%s' and %s '%s')",
		      path0, path1, u0, sa->name, u1, sbb->name);
		return EXIT_ERR;
	}
	if (sa->leg == sbb->leg) {
		p_err("%s and %s are both leg %c of volume '%s'", path0, path1,
		      sa->leg == METRO_LEG_A ? 'A' : 'B', sa->name);
		return EXIT_ERR;
	}
	if (!same_geometry(sa, sbb)) {
		p_err("the superblocks of %s and %s disagree on the geometry (region size, data offset or size)",
		      path0, path1);
		return EXIT_ERR;
	}
	convert_target_of(sa, &fmt[0]);
	convert_target_of(sbb, &fmt[1]);
	if (!convert_in_format(sbb, &fmt[0])) {
		/* The target refuses them too; say what it was and how to finish. */
		p_err("%s is in %s and %s in %s: a 'metroctl convert' was cut short; run it again ('metroctl convert %s %s %s' or '... %s') to finish, see metroctl(8)",
		      path0, convert_format_words(&fmt[0], w[0], sizeof(w[0])), path1,
		      convert_format_words(&fmt[1], w[1], sizeof(w[1])), path0, path1,
		      convert_args(&fmt[0], args[0], sizeof(args[0])),
		      convert_args(&fmt[1], args[1], sizeof(args[1])));
		return EXIT_ERR;
	}
	if (sa->leg == METRO_LEG_A) {
		la = &legs[0];
		lb = &legs[1];
	} else {
		la = &legs[1];
		lb = &legs[0];
		if (!flags)
			printf("%s is leg A and %s is leg B of '%s': using them in that order\n",
			       la->path, lb->path, sa->name);
	}
	if (!name)
		name = sa->name;
	sa = &la->info;
	sbb = &lb->info;
	switch (metro_gen_compare(sa, sbb)) {
	case METRO_GEN_SPLIT:
		report_split_brain(name, la->path, sa, lb->path, sbb);
		return EXIT_ERR;
	case METRO_GEN_A_NEWER:
		printf("leg B (%s) missed writes made on leg A: the regions recorded in the bitmaps are resynced from leg A\n",
		       lb->path);
		break;
	case METRO_GEN_B_NEWER:
		printf("leg A (%s) missed writes made on leg B: the regions recorded in the bitmaps are resynced from leg B\n",
		       la->path);
		break;
	case METRO_GEN_SAME:
		break;
	}
	snprintf(what, sizeof(what), "%s + %s", la->path, lb->path);
	snprintf(hint, sizeof(hint), "the legs are formatted: once that is fixed, activate with 'metroctl assemble %s %s %s'",
		 name, la->path, lb->path);
	/* The newer superblock has the options of the last table to run. */
	return activate_volume(name, legs[1].info.events > legs[0].info.events ?
			       &legs[1].info : &legs[0].info,
			       la->rdev, lb->rdev, what,
			       (flags & ASM_CREATE) ? hint : NULL, flags, over);
}

/* Activate the volume of @path alone: the other leg's site is gone. */
static int assemble_degraded(const char *name, const char *path,
			     const struct table_opt_args *over)
{
	struct metro_sb_info sb;
	struct sb_probe l;
	char what[400];
	int me, other;

	if (probe_leg(path, &l, false))
		return EXIT_ERR;
	sb = l.info;
	me = (int)sb.leg;
	other = me ^ 1;
	if (sb.legs[me].state & METRO_LEG_F_STALE) {
		p_err("%s is leg %c of '%s' and was being resynced when it stopped: it holds no complete copy and cannot run alone; bring back leg %c",
		      path, 'A' + me, sb.name, 'A' + other);
		return EXIT_ERR;
	}
	if (sb.legs[other].state & METRO_LEG_F_FAILED)
		printf("leg %c of '%s' already runs without leg %c since it failed\n",
		       'A' + me, sb.name, 'A' + other);
	else
		printf("activating leg %c of '%s' alone: it starts a new data generation; when leg %c returns, 'metroctl restore %s %c DEV' resyncs it, unless it was written meanwhile (split brain)\n",
		       'A' + me, sb.name, 'A' + other, name, 'A' + other);
	snprintf(what, sizeof(what), "leg %c %s alone, leg %c absent", 'A' + me, path,
		 'A' + other);
	return activate_volume(name, &sb, me == METRO_LEG_A ? l.rdev : 0,
			       me == METRO_LEG_B ? l.rdev : 0, what, NULL, 0, over);
}

int do_assemble(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		TABLE_LONGOPTS,
		{ "degraded", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct table_opt_args over = { 0 };
	bool degraded = false;
	const char *why;
	int opt, r;

	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS "d", opts, NULL)) != -1) {
		if (opt == 'd') {
			degraded = true;
			continue;
		}
		if (opt >= OPT_RESYNC_RATE && opt <= OPT_FAILFAST) {
			if (table_opt_arg(&over, opt, optarg, &why))
				return usage_err("assemble", "invalid '%s' for %s", optarg, why);
			continue;
		}
		if ((r = common_opt("assemble", opt, argv)) >= 0)
			return r;
	}
	argc -= optind;
	argv += optind;
	if (degraded && argc != 2)
		return usage_err("assemble", "assemble --degraded: expected NAME LEG, got %d argument%s",
				 argc, argc == 1 ? "" : "s");
	if (!degraded && argc != 3)
		return usage_err("assemble", "assemble: expected NAME LEG_A LEG_B, got %d argument%s%s",
				 argc, argc == 1 ? "" : "s",
				 argc == 2 ? " (one leg alone needs --degraded)" : "");
	if ((r = check_name("assemble", argv[0])))
		return r;
	if (degraded)
		return assemble_degraded(argv[0], argv[1], &over);
	return assemble_volume(argv[0], argv[1], argv[2], 0, &over);
}

/* ---------------------------------------------------------------------- */
/* create                                                                 */
/* ---------------------------------------------------------------------- */

int do_create(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		TABLE_LONGOPTS,
		{ "region-size", required_argument, NULL, 'r' },
		{ "assume-clean", no_argument, NULL, 'c' },
		{ "force", no_argument, NULL, 'f' },
		{ "cluster", required_argument, NULL, OPT_CLUSTER },
		{ "nodes", required_argument, NULL, OPT_NODES },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t region_bytes = (uint64_t)METRO_DEFAULT_REGION_SECTORS << METRO_SECTOR_SHIFT;
	const char *cluster = NULL;
	uint32_t nodes = 0;
	bool assume_clean = false, force = false;
	const char *region_arg = NULL, *why;
	struct table_opt_args topts = { 0 };
	struct leg legs[2];
	struct metro_layout lay;
	struct metro_sb_info info;
	struct {
		uint8_t vol[METRO_UUID_LEN];
		uint8_t leg[2][METRO_UUID_LEN];
		uint64_t gen;
	} rnd;
	const char *name;
	char buf[64], buf2[64], what[256];
	uint64_t region_sectors, small;
	int opt, r, i, ret = EXIT_ERR;
	time_t now;

	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS "r:cf", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			region_arg = optarg;
			r = parse_size(optarg, &region_bytes);
			if (r)
				return usage_err("create", "invalid region size '%s': %s", optarg,
						 r == -ERANGE ? "too large" :
						 "expected bytes or a number with K, M, G, T or s");
			break;
		case 'c':
			assume_clean = true;
			break;
		case 'f':
			force = true;
			break;
		case OPT_CLUSTER:
			if (strlen(optarg) >= METRO_CLUSTER_NAME_LEN ||
			    !metro_cluster_name_valid(optarg))
				return usage_err("create", "invalid cluster name '%s': 1 to %d characters of A-Z a-z 0-9 . _ - (corosync's totem.cluster_name)",
						 optarg, METRO_CLUSTER_NAME_LEN - 1);
			cluster = optarg;
			break;
		case OPT_NODES: {
			uint64_t v;

			if (parse_u64(optarg, &v) || v < 2 || v > METRO_MAX_SLOTS)
				return usage_err("create", "invalid --nodes '%s': expected 2 to %u",
						 optarg, METRO_MAX_SLOTS);
			nodes = (uint32_t)v;
			break;
		}
		case OPT_RESYNC_RATE:
		case OPT_CLEAR_DELAY:
		case OPT_IO_DEADLINE:
		case OPT_WRITE_MOSTLY:
		case OPT_READ_MODE:
		case OPT_FAILFAST:
			if (table_opt_arg(&topts, opt, optarg, &why))
				return usage_err("create", "invalid '%s' for %s", optarg, why);
			break;
		default:
			if ((r = common_opt("create", opt, argv)) >= 0)
				return r;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 3)
		return usage_err("create", "create: expected NAME LEG_A LEG_B, got %d argument%s",
				 argc, argc == 1 ? "" : "s");
	name = argv[0];
	if ((r = check_name("create", name)))
		return r;
	if (region_bytes % 512 ||
	    !metro_region_size_valid(region_bytes >> METRO_SECTOR_SHIFT))
		return usage_err("create", "invalid region size '%s' (%s): must be a power of two between 4 KiB and 1 GiB",
				 region_arg, format_bytes(region_bytes, buf, sizeof(buf)));
	region_sectors = region_bytes >> METRO_SECTOR_SHIFT;
	if (nodes && !cluster)
		return usage_err("create", "--nodes needs --cluster NAME");
	if (cluster && !nodes)
		nodes = 2;

	legs[0].fd = legs[1].fd = -1;
	if (same_device(argv[1], argv[2]))
		return EXIT_ERR;
	for (i = 0; i < 2; i++)
		if (leg_open(&legs[i], argv[1 + i], LEG_RDWR_EXCL))
			goto out;

	/* Refuse to overwrite anything recognisable unless --force. */
	for (i = 0; i < 2; i++) {
		r = leg_check_signatures(&legs[i], what, sizeof(what));
		if (r < 0)
			goto out;
		if (r == 1) {
			if (!force) {
				p_err("%s has %s; use --force to overwrite it", legs[i].path, what);
				goto out;
			}
			p_warn("%s has %s: overwriting it (--force)", legs[i].path, what);
		}
	}

	small = legs[0].sectors < legs[1].sectors ? legs[0].sectors : legs[1].sectors;
	r = metro_layout_for_device_slots(small, region_sectors, cluster ? nodes : 1, &lay);
	if (r == -ENOSPC) {
		struct metro_layout min;

		metro_layout_compute_slots(1, region_sectors, cluster ? nodes : 1, &min);
		p_err("%s is too small (%s): with %s regions a leg needs at least %s",
		      legs[0].sectors == small ? legs[0].path : legs[1].path,
		      format_bytes(small << METRO_SECTOR_SHIFT, buf, sizeof(buf)),
		      format_bytes(region_bytes, buf2, sizeof(buf2)),
		      format_bytes((min.data_offset + region_sectors) << METRO_SECTOR_SHIFT,
				   what, sizeof(what)));
		goto out;
	}
	if (r) {
		p_err("cannot lay out a volume on %s with %s regions (too many regions: use a larger --region-size)",
		      legs[0].sectors == small ? legs[0].path : legs[1].path,
		      format_bytes(region_bytes, buf, sizeof(buf)));
		goto out;
	}
	if (legs[0].sectors != legs[1].sectors) {
		int big = legs[0].sectors > legs[1].sectors ? 0 : 1;

		p_warn("the legs differ in size: the volume is laid out for the smaller one, %s of %s stay unused",
		       format_bytes((legs[big].sectors - small) << METRO_SECTOR_SHIFT,
				    buf, sizeof(buf)), legs[big].path);
	}

	/* Nothing may be occupying the name before we write anything. */
	r = name_taken(name);
	if (r == 1)
		goto out;
	if (r < 0)
		p_warn("device-mapper is not available (%s): formatting anyway, activation will fail",
		       metro_dm_last_error());

	if (fill_random(&rnd, sizeof(rnd)))
		goto out;
	make_uuid(rnd.vol);
	make_uuid(rnd.leg[0]);
	make_uuid(rnd.leg[1]);
	while (!rnd.gen)
		if (fill_random(&rnd.gen, sizeof(rnd.gen)))
			goto out;
	now = time(NULL);

	memset(&info, 0, sizeof(info));
	info.version = cluster ? METRO_FORMAT_V2 : METRO_FORMAT_V1;
	info.nr_slots = cluster ? nodes : 1;
	if (cluster)
		snprintf(info.cluster_name, sizeof(info.cluster_name), "%s", cluster);
	memcpy(info.vol_uuid, rnd.vol, METRO_UUID_LEN);
	snprintf(info.name, sizeof(info.name), "%s", name);
	/* The bitmap is exactly the out-of-sync set: a clean, stopped volume. */
	info.flags = METRO_SB_F_CLEAN;
	info.region_sectors = (uint32_t)region_sectors;
	info.data_offset = lay.data_offset;
	info.data_size = lay.data_size;
	info.bitmap_offset = lay.bitmap_offset;
	info.nr_regions = lay.nr_regions;
	info.events = 1;
	info.ctime = info.utime = (uint64_t)now;
	/* The options go on every table line that assemble loads later. */
	info.opt_flags = METRO_SB_O_RECORDED;
	metro_table_opts_default(&info.opts);
	table_opts_apply(&topts, &info.opts);
	for (i = 0; i < 2; i++) {
		memcpy(info.legs[i].leg_uuid, rnd.leg[i], METRO_UUID_LEN);
		info.legs[i].generation = rnd.gen;
		info.legs[i].events = 1;
		info.legs[i].dev_sectors = legs[i].sectors;
		info.legs[i].state = METRO_LEG_F_ACTIVE;
	}
	if (!assume_clean)
		info.legs[METRO_LEG_B].state |= METRO_LEG_F_STALE;

	/* Old signatures, then bitmaps, then superblocks last. */
	if (force)
		for (i = 0; i < 2; i++)
			if (leg_wipe_signatures(&legs[i]))
				goto out;
	for (i = 0; i < 2; i++)
		if (leg_write_bitmap(&legs[i], &lay, !assume_clean))
			goto out;
	for (i = 0; i < 2; i++)
		if (leg_sync(&legs[i]))
			goto out;
	for (i = 0; i < 2; i++) {
		info.leg = (uint32_t)i;
		if (leg_write_sb(&legs[i], &info) || leg_sync(&legs[i]))
			goto out;
	}

	printf("created volume '%s': %s (%llu sectors), region size %s, %llu regions\n",
	       name, format_bytes(lay.data_size << METRO_SECTOR_SHIFT, buf, sizeof(buf)),
	       (unsigned long long)lay.data_size,
	       format_bytes(region_bytes, buf2, sizeof(buf2)),
	       (unsigned long long)lay.nr_regions);
	printf("  leg A %s, leg B %s, data offset %llu sectors\n", legs[0].path,
	       legs[1].path, (unsigned long long)lay.data_offset);
	printf("  %s\n", assume_clean ? "assumed clean: no initial sync" :
	       "initial sync from leg A to leg B");
	if (cluster) {
		printf("  clustered: cluster %s, %u bitmap slots; run 'metroctl assemble %s LEG_A LEG_B' on each node\n",
		       cluster, nodes, name);
		leg_close(&legs[0]);
		leg_close(&legs[1]);
		return EXIT_OK;
	}
	leg_close(&legs[0]);
	leg_close(&legs[1]);
	return assemble_volume(name, argv[1], argv[2], ASM_CREATE, NULL);
out:
	leg_close(&legs[0]);
	leg_close(&legs[1]);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* stop                                                                   */
/* ---------------------------------------------------------------------- */

int do_stop(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	char status[1024], path[256];
	struct metro_status st;
	const char *why;
	int opt, r, i;

	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS, opts, NULL)) != -1)
		if ((r = common_opt("stop", opt, argv)) >= 0)
			return r;
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return usage_err("stop", "stop: expected NAME, got %d arguments", argc);
	if (metro_dm_stop(argv[0], status, sizeof(status)))
		return EXIT_ERR;
	printf("stopped %s\n", argv[0]);
	/* What the legs still held as it went (target 1.7 says). */
	if (parse_status_line(status, &st, &why))
		return EXIT_OK;
	for (i = 0; i < METRO_NR_LEGS; i++) {
		bool one = st.late[i] == 1;

		if (!st.late[i])
			continue;
		leg_dev_path(st.dev[i], path, sizeof(path));
		p_warn("leg %c (%s): %llu I/O%s abandoned on the I/O deadline %s still held by the device; dm-metro keeps %s memory until it returns %s, and the device cannot be used in a metro table until then",
		       'A' + i, path, (unsigned long long)st.late[i], one ? "" : "s",
		       one ? "is" : "are", one ? "its" : "their", one ? "it" : "them");
	}
	return EXIT_OK;
}
