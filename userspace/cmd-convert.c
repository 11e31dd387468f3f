// SPDX-License-Identifier: GPL-2.0-only
/*
 * convert: change a stopped volume between format version 1 (single host)
 * and version 2 (clustered: a cluster name and one bitmap slot per node),
 * or change the slot count or cluster name of a version 2 volume, in
 * place.  The data offset never moves, so the slots must fit below it.
 *
 * The order of the writes on each leg keeps it readable, at every point
 * a crash may stop it, as the old format or the new one, with every dirty
 * bit still set in a bitmap that format reads:
 *
 *  1. The bitmaps, in space the old superblock does not read, or with
 *     bits only added:
 *     - more slots (v1 -> v2): the new slots, which lie between the old
 *       slots and the data offset, are zeroed; slot 0 (the version 1
 *       bitmap, at the same sector) is not touched;
 *     - fewer slots (v2 -> v1): the bits of the slots that go are OR-ed
 *       into slot 0.  Slot 0 only gains bits, which the old format reads
 *       as regions to copy once more: never a region lost.
 *     Then the leg is flushed.
 *  2. Once both legs' bitmaps are flushed, the superblock of leg A, then
 *     of leg B, each flushed before the next.
 *
 * A crash in 1 leaves both legs in the old format; a crash in 2, a pair
 * whose legs disagree on the format, which the target refuses to
 * assemble and which convert completes when run again: each leg is
 * converted from whatever format it is in, and a leg already in the
 * target format is left alone.  The superblock is one 4096-byte write;
 * should a device tear it, its checksum fails and the leg is refused, as
 * for any superblock write.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metroctl.h"

static char letter(unsigned int leg)
{
	return leg == METRO_LEG_A ? 'A' : 'B';
}

/* " 3 0 5 (slots 0..2), 7 in all" or " 5": the dirty bits of @sb's slots on @l. */
static void dirty_words(struct leg *l, const struct metro_sb_info *sb, char *buf, size_t len)
{
	uint64_t c[METRO_MAX_SLOTS], u;
	size_t n = 0;
	unsigned int s;

	if (leg_count_dirty_slots(l, sb, c, &u)) {
		snprintf(buf, len, " unknown (the bitmap cannot be read)");
		return;
	}
	if (sb->nr_slots <= 1) {
		snprintf(buf, len, " %llu", (unsigned long long)u);
		return;
	}
	buf[0] = '\0';
	for (s = 0; s < sb->nr_slots && n < len; s++)
		n += (size_t)snprintf(buf + n, len - n, " %llu", (unsigned long long)c[s]);
	if (n < len)
		snprintf(buf + n, len - n, " (slots 0..%u), %llu in all", sb->nr_slots - 1,
			 (unsigned long long)u);
}

/* "slot 3" or "slots 1..3" */
static const char *slots_words(uint32_t first, uint32_t last, char *buf, size_t len)
{
	if (first == last)
		snprintf(buf, len, "slot %u", first);
	else
		snprintf(buf, len, "slots %u..%u", first, last);
	return buf;
}

/* What step 1 does on a leg in the format of @sb, in words. */
static void plan_words(const struct metro_sb_info *sb, const struct convert_target *t,
		       char *buf, size_t len)
{
	uint32_t from = sb->nr_slots ? sb->nr_slots : 1, to = t->nr_slots;
	uint64_t slot = metro_bitmap_bytes(sb->nr_regions) >> METRO_SECTOR_SHIFT;
	char s1[32], s2[32];

	if (to > from)
		snprintf(buf, len, "%s kept, %s (sectors %llu..%llu, unused until now) zeroed",
			 slots_words(0, from - 1, s1, sizeof(s1)),
			 slots_words(from, to - 1, s2, sizeof(s2)),
			 (unsigned long long)metro_slot_offset(sb, from),
			 (unsigned long long)(metro_slot_offset(sb, to - 1) + slot - 1));
	else if (to < from)
		snprintf(buf, len, "the bits of %s OR-ed into slot 0",
			 slots_words(to, from - 1, s1, sizeof(s1)));
	else
		snprintf(buf, len, "the bitmaps as they are");
}

/*
 * After a failed write: what each leg holds now (read back from the
 * device) and how to finish.
 */
static void report_state(struct leg legs[METRO_NR_LEGS], const int order[METRO_NR_LEGS],
			 const struct convert_target *t, const struct convert_target *old)
{
	struct metro_sb_info sb;
	char w[160], args[120], back[120];
	int k, i, done = 0, unread = 0;

	p_err("the conversion stopped; the legs as they read now:");
	for (k = 0; k < METRO_NR_LEGS; k++) {
		struct convert_target cur;

		i = order[k];
		if (leg_read_sb(&legs[i], &sb, true)) {
			p_err("  leg %c (%s): its superblock cannot be read back", letter((unsigned int)k),
			      legs[i].path);
			unread++;
			continue;
		}
		convert_target_of(&sb, &cur);
		if (convert_in_format(&sb, t)) {
			done++;
			p_err("  leg %c (%s): converted, %s", letter((unsigned int)k), legs[i].path,
			      convert_format_words(&cur, w, sizeof(w)));
		} else {
			p_err("  leg %c (%s): not converted, still %s, every dirty bit kept",
			      letter((unsigned int)k), legs[i].path,
			      convert_format_words(&cur, w, sizeof(w)));
		}
	}
	convert_args(t, args, sizeof(args));
	convert_args(old, back, sizeof(back));
	if (!done && !unread) {
		p_err("nothing was converted: the volume can be assembled as before; once the failing leg works, run 'metroctl convert %s %s %s' again",
		      legs[order[0]].path, legs[order[1]].path, args);
		return;
	}
	p_err("the volume cannot be assembled until both legs are in one format; once the failing leg works, run 'metroctl convert %s %s %s' again to finish (a leg already converted is left as it is), or 'metroctl convert %s %s %s' to go back",
	      legs[order[0]].path, legs[order[1]].path, args, legs[order[0]].path,
	      legs[order[1]].path, back);
}

int convert_pair(struct leg legs[METRO_NR_LEGS], const struct convert_target *t, bool dry_run)
{
	struct metro_sb_info sb[METRO_NR_LEGS], nsb[METRO_NR_LEGS], chk;
	struct convert_target cur[METRO_NR_LEGS];
	const char *path[METRO_NR_LEGS] = { legs[0].path, legs[1].path }, *why;
	char msg[1024], w[160], w2[160], plan[200], dirty[200];
	struct metro_sb_disk *raw;
	bool todo[METRO_NR_LEGS], from_cluster = false;
	int order[METRO_NR_LEGS], a, i, k, n = 0, first = -1;
	uint64_t now = (uint64_t)time(NULL), added;

	for (i = 0; i < METRO_NR_LEGS; i++)
		if (leg_read_sb(&legs[i], &sb[i], false))
			return EXIT_ERR;
	if (legs[0].rdev && legs[0].rdev == legs[1].rdev) {
		p_err("%s and %s are the same device", path[0], path[1]);
		return EXIT_ERR;
	}
	a = convert_check(sb, path, t, msg, sizeof(msg));
	if (a < 0) {
		p_err("%s", msg);
		return EXIT_ERR;
	}
	order[0] = a;
	order[1] = a ^ 1;
	for (k = 0; k < METRO_NR_LEGS; k++) {
		i = order[k];
		convert_target_of(&sb[i], &cur[i]);
		todo[i] = !convert_in_format(&sb[i], t);
		if (todo[i] && first < 0)
			first = i;
		n += todo[i];
		from_cluster |= todo[i] && sb[i].version == METRO_FORMAT_V2;
	}
	convert_format_words(t, w, sizeof(w));
	if (!n) {
		printf("volume '%s' is in %s on both legs already: nothing to do\n", sb[a].name, w);
		return EXIT_OK;
	}

	/* Every new superblock must decode before anything is written. */
	raw = malloc(sizeof(*raw));
	if (!raw) {
		p_err("out of memory");
		return EXIT_ERR;
	}
	for (i = 0; i < METRO_NR_LEGS; i++) {
		nsb[i] = sb[i];
		if (!todo[i])
			continue;
		convert_sb(&sb[i], t, now, &nsb[i]);
		metro_sb_encode(&nsb[i], raw);
		if (metro_sb_decode(raw, legs[i].sectors, &chk, &why)) {
			p_err("%s: the converted superblock would not be valid (%s): nothing written",
			      path[i], why);
			free(raw);
			return EXIT_ERR;
		}
	}
	free(raw);

	printf("%s volume '%s' to %s:\n", dry_run ? "would convert" : "converting", sb[a].name, w);
	for (k = 0; k < METRO_NR_LEGS; k++) {
		i = order[k];
		dirty_words(&legs[i], &sb[i], dirty, sizeof(dirty));
		if (!todo[i]) {
			printf("  leg %c %s: already in %s, left as it is; dirty regions%s\n",
			       letter((unsigned int)k), path[i], w, dirty);
			continue;
		}
		plan_words(&sb[i], t, plan, sizeof(plan));
		printf("  leg %c %s: from %s: %s, then the superblock; dirty regions now%s\n",
		       letter((unsigned int)k), path[i], convert_format_words(&cur[i], w2, sizeof(w2)),
		       plan, dirty);
	}
	if (from_cluster)
		printf("  convert sees only this host: the volume must be stopped on every node of cluster %s\n",
		       cur[first].cluster_name);
	if (dry_run) {
		printf("dry run: nothing written\n");
		return EXIT_OK;
	}

	/* 1. The bitmaps of both legs, flushed. */
	for (k = 0; k < METRO_NR_LEGS; k++) {
		uint32_t from;
		int r = 0;

		i = order[k];
		if (!todo[i])
			continue;
		from = sb[i].nr_slots ? sb[i].nr_slots : 1;
		if (t->nr_slots > from)
			r = leg_zero_slots(&legs[i], &sb[i], from, t->nr_slots);
		else if (t->nr_slots < from)
			r = leg_merge_slots(&legs[i], &sb[i], t->nr_slots, from, &added);
		if (r || leg_sync(&legs[i])) {
			report_state(legs, order, t, &cur[first]);
			return EXIT_ERR;
		}
	}
	/* 2. The superblocks, leg A's first, each flushed. */
	for (k = 0; k < METRO_NR_LEGS; k++) {
		i = order[k];
		if (!todo[i])
			continue;
		if (leg_write_sb(&legs[i], &nsb[i]) || leg_sync(&legs[i])) {
			report_state(legs, order, t, &cur[first]);
			return EXIT_ERR;
		}
	}

	printf("converted volume '%s' to %s\n", sb[a].name, w);
	for (k = 0; k < METRO_NR_LEGS; k++) {
		i = order[k];
		dirty_words(&legs[i], &nsb[i], dirty, sizeof(dirty));
		printf("  leg %c %s: dirty regions%s\n", letter((unsigned int)k), path[i], dirty);
	}
	if (t->version == METRO_FORMAT_V2)
		printf("  assemble it on each node of cluster %s, with corosync and dlm_controld running there: metroctl assemble %s LEG_A LEG_B\n",
		       t->cluster_name, sb[a].name);
	else
		printf("  assemble it with: metroctl assemble %s %s %s\n", sb[a].name,
		       path[order[0]], path[order[1]]);
	return EXIT_OK;
}

int do_convert(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "cluster", required_argument, NULL, OPT_CLUSTER },
		{ "nodes", required_argument, NULL, OPT_NODES },
		{ "single-host", no_argument, NULL, OPT_SINGLE_HOST },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ NULL, 0, NULL, 0 },
	};
	struct sb_probe p[METRO_NR_LEGS];
	struct leg legs[METRO_NR_LEGS];
	struct convert_target t;
	const char *cluster = NULL;
	bool single = false, dry_run = false, warned = false;
	char dm_uuid[64], active[128];
	uint32_t nodes = 0;
	int opt, r, i, lock, ret = EXIT_ERR;

	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (opt) {
		case OPT_CLUSTER:
			if (strlen(optarg) >= METRO_CLUSTER_NAME_LEN ||
			    !metro_cluster_name_valid(optarg))
				return usage_err("convert", "invalid cluster name '%s': 1 to %d characters of A-Z a-z 0-9 . _ - (corosync's totem.cluster_name)",
						 optarg, METRO_CLUSTER_NAME_LEN - 1);
			cluster = optarg;
			break;
		case OPT_NODES: {
			uint64_t v;

			if (parse_u64(optarg, &v) || v < 2 || v > METRO_MAX_SLOTS)
				return usage_err("convert", "invalid --nodes '%s': expected 2 to %u",
						 optarg, METRO_MAX_SLOTS);
			nodes = (uint32_t)v;
			break;
		}
		case OPT_SINGLE_HOST:
			single = true;
			break;
		case OPT_DRY_RUN:
			dry_run = true;
			break;
		default:
			if ((r = common_opt("convert", opt, argv)) >= 0)
				return r;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		return usage_err("convert", "convert: expected DEV_A DEV_B, got %d argument%s",
				 argc, argc == 1 ? "" : "s");
	if (single && (cluster || nodes))
		return usage_err("convert", "convert: --single-host and --cluster/--nodes exclude each other");
	if (nodes && !cluster)
		return usage_err("convert", "convert: --nodes needs --cluster NAME");
	if (!single && !cluster)
		return usage_err("convert", "convert: give the format: --cluster NAME [--nodes N] or --single-host");
	memset(&t, 0, sizeof(t));
	t.version = cluster ? METRO_FORMAT_V2 : METRO_FORMAT_V1;
	t.nr_slots = cluster ? (nodes ? nodes : 2) : 1;
	if (cluster)
		snprintf(t.cluster_name, sizeof(t.cluster_name), "%s", cluster);

	legs[0].fd = legs[1].fd = -1;
	lock = -1;
	memset(p, 0, sizeof(p));
	p[0].path = argv[0];
	p[1].path = argv[1];
	/* Both at once, each bounded: a leg that does not answer is named. */
	probe_sbs(p, METRO_NR_LEGS, PROBE_TIMEOUT_MS);
	for (i = 0; i < METRO_NR_LEGS; i++) {
		if (p[i].err) {
			leg_report(p[i].path, p[i].step, p[i].err, p[i].why, PROBE_TIMEOUT_MS);
			goto out;
		}
	}
	if (p[0].rdev == p[1].rdev) {
		p_err("%s and %s are the same device", argv[0], argv[1]);
		goto out;
	}
	/*
	 * No activation (udev's incremental) from here until the legs are
	 * rewritten; convert_pair() reads the superblocks again under it.
	 */
	lock = metro_lock();
	for (i = 0; i < METRO_NR_LEGS; i++) {
		metro_dm_uuid(p[i].info.vol_uuid, dm_uuid);
		r = metro_dm_uuid_active(dm_uuid, active, sizeof(active));
		if (r == 1) {
			p_err("volume '%s' is active as /dev/mapper/%s: stop it first ('metroctl stop %s'); convert works on a stopped volume",
			      p[i].info.name, active, active);
			goto out;
		}
		if (r < 0 && !warned) {
			p_warn("cannot ask device-mapper whether the volume is active (%s): relying on the exclusive open of the legs",
			       metro_dm_last_error());
			warned = true;
		}
	}
	/* Exclusive: nothing may use either leg while it is rewritten. */
	for (i = 0; i < METRO_NR_LEGS; i++) {
		r = leg_open(&legs[i], argv[i], (dry_run ? LEG_RDONLY_EXCL : LEG_RDWR_EXCL) | LEG_QUIET);
		if (r) {
			leg_report(argv[i], legs[i].step, r, NULL, 0);
			if (r == -EBUSY)
				p_err("convert works on a stopped volume whose legs nothing else holds");
			goto out;
		}
	}
	ret = convert_pair(legs, &t, dry_run);
out:
	leg_close(&legs[0]);
	leg_close(&legs[1]);
	metro_unlock(lock);
	return ret;
}
