// SPDX-License-Identifier: GPL-2.0-only
/*
 * metroctl convert, the part without I/O: which pairs of superblocks may
 * be converted between format version 1 (single host) and version 2
 * (clustered), and what the converted superblock holds.  cmd-convert.c
 * does the I/O; the unit tests and fuzz_sb call these directly.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "metroctl.h"

void convert_target_of(const struct metro_sb_info *sb, struct convert_target *t)
{
	memset(t, 0, sizeof(*t));
	t->version = sb->version;
	t->nr_slots = sb->version == METRO_FORMAT_V2 ? sb->nr_slots : 1;
	if (sb->version == METRO_FORMAT_V2)
		memcpy(t->cluster_name, sb->cluster_name, METRO_CLUSTER_NAME_LEN);
	t->cluster_name[METRO_CLUSTER_NAME_LEN - 1] = '\0';
}

bool convert_in_format(const struct metro_sb_info *sb, const struct convert_target *t)
{
	struct convert_target cur;

	convert_target_of(sb, &cur);
	return cur.version == t->version && cur.nr_slots == t->nr_slots &&
	       !strcmp(cur.cluster_name, t->cluster_name);
}

/* A target convert can write: v1 with one slot, or v2 with 1..8 and a name. */
static bool target_valid(const struct convert_target *t)
{
	if (t->version == METRO_FORMAT_V1)
		return t->nr_slots == 1 && !t->cluster_name[0];
	return t->version == METRO_FORMAT_V2 && t->nr_slots >= 1 &&
	       t->nr_slots <= METRO_MAX_SLOTS && metro_cluster_name_valid(t->cluster_name);
}

uint32_t convert_slots_fit(const struct metro_sb_info *sb)
{
	uint64_t slot = metro_bitmap_bytes(sb->nr_regions) >> METRO_SECTOR_SHIFT, fit;

	if (!slot || sb->data_offset <= sb->bitmap_offset)
		return 0;
	fit = (sb->data_offset - sb->bitmap_offset) / slot;
	return fit > METRO_MAX_SLOTS ? METRO_MAX_SLOTS : (uint32_t)fit;
}

const char *convert_format_words(const struct convert_target *t, char *buf, size_t len)
{
	if (t->version == METRO_FORMAT_V2)
		snprintf(buf, len, "format 2 (cluster %s, %u bitmap slot%s)", t->cluster_name,
			 t->nr_slots, t->nr_slots == 1 ? "" : "s");
	else
		snprintf(buf, len, "format 1 (single host)");
	return buf;
}

const char *convert_args(const struct convert_target *t, char *buf, size_t len)
{
	if (t->version == METRO_FORMAT_V2)
		snprintf(buf, len, "--cluster %s --nodes %u", t->cluster_name, t->nr_slots);
	else
		snprintf(buf, len, "--single-host");
	return buf;
}

#define REFUSE(...) do { snprintf(why, len, __VA_ARGS__); return -EINVAL; } while (0)

/*
 * What the administrator does about a pair that was not stopped in sync:
 * the same advice for every such refusal.
 */
#define RESYNC_FIRST "assemble the volume with both legs, let the resync finish ('metroctl status' shows it), stop it, then convert"

int convert_check(const struct metro_sb_info sb[2], const char *const path[2],
		  const struct convert_target *t, char *why, size_t len)
{
	const struct metro_sb_info *a, *b, *s;
	const char *pa, *pb;
	char u0[37], u1[37];
	uint32_t fit;
	int ia, i, j;

	if (!target_valid(t))
		REFUSE("invalid target format (version %u, %u slots)", t->version, t->nr_slots);
	if (memcmp(sb[0].vol_uuid, sb[1].vol_uuid, METRO_UUID_LEN)) {
		uuid_unparse(sb[0].vol_uuid, u0);
		uuid_unparse(sb[1].vol_uuid, u1);
		REFUSE("%s and %s belong to different volumes (%s '%s' and %s '%s')",
		       path[0], path[1], u0, sb[0].name, u1, sb[1].name);
	}
	if (sb[0].leg == sb[1].leg)
		REFUSE("%s and %s are both leg %c of volume '%s'", path[0], path[1],
		       sb[0].leg == METRO_LEG_A ? 'A' : 'B', sb[0].name);
	ia = sb[0].leg == METRO_LEG_A ? 0 : 1;
	a = &sb[ia];
	b = &sb[ia ^ 1];
	pa = path[ia];
	pb = path[ia ^ 1];
	if (a->region_sectors != b->region_sectors || a->data_offset != b->data_offset ||
	    a->data_size != b->data_size || a->bitmap_offset != b->bitmap_offset ||
	    a->nr_regions != b->nr_regions)
		REFUSE("the superblocks of leg A (%s) and leg B (%s) disagree on the geometry (region size, data offset or size)",
		       pa, pb);
	for (i = 0; i < METRO_NR_LEGS; i++)
		if (memcmp(a->legs[i].leg_uuid, b->legs[i].leg_uuid, METRO_UUID_LEN))
			REFUSE("the superblocks of leg A (%s) and leg B (%s) disagree on the identity of leg %c (replaced, and not resynced since?): " RESYNC_FIRST,
			       pa, pb, 'A' + i);
	if (metro_own_gen(a) != metro_own_gen(b))
		REFUSE("leg A (%s) holds data generation %016llx and leg B (%s) generation %016llx: one of them missed writes or both were written apart; " RESYNC_FIRST " (a split brain needs 'metroctl resolve' first)",
		       pa, (unsigned long long)metro_own_gen(a), pb,
		       (unsigned long long)metro_own_gen(b));
	if (a->events != b->events)
		REFUSE("the superblocks of leg A (%s, events %llu) and leg B (%s, events %llu) were not written together: " RESYNC_FIRST,
		       pa, (unsigned long long)a->events, pb, (unsigned long long)b->events);
	for (i = 0; i < METRO_NR_LEGS; i++) {
		s = i ? b : a;
		for (j = 0; j < METRO_NR_LEGS; j++) {
			uint32_t st = s->legs[j].state;
			const char *what = st & METRO_LEG_F_FAILED ? "detached (failed)" :
					   st & METRO_LEG_F_STALE ? "stale (being resynced)" :
					   !(st & METRO_LEG_F_ACTIVE) ? "not active" : NULL;

			if (what)
				REFUSE("leg %c is %s according to the superblock of leg %c (%s): " RESYNC_FIRST,
				       'A' + j, what, 'A' + i, i ? pb : pa);
		}
	}
	fit = convert_slots_fit(a);
	if (t->nr_slots > fit) {
		if (fit < 2)
			REFUSE("volume '%s' has room for %u bitmap slot%s between sector %llu and its data offset (sector %llu), not %u: the data offset cannot move, so it cannot be clustered in place; create a new volume with --cluster and copy the data",
			       a->name, fit, fit == 1 ? "" : "s",
			       (unsigned long long)a->bitmap_offset,
			       (unsigned long long)a->data_offset, t->nr_slots);
		REFUSE("volume '%s' has room for %u bitmap slots between sector %llu and its data offset (sector %llu), not %u: the data offset cannot move; use --nodes %u or fewer",
		       a->name, fit, (unsigned long long)a->bitmap_offset,
		       (unsigned long long)a->data_offset, t->nr_slots, fit);
	}
	why[0] = '\0';
	return ia;
}

void convert_sb(const struct metro_sb_info *in, const struct convert_target *t, uint64_t now,
		struct metro_sb_info *out)
{
	*out = *in;
	out->version = t->version;
	memset(out->cluster_name, 0, sizeof(out->cluster_name));
	if (t->version == METRO_FORMAT_V2) {
		out->nr_slots = t->nr_slots;
		memcpy(out->cluster_name, t->cluster_name, METRO_CLUSTER_NAME_LEN);
		out->cluster_name[METRO_CLUSTER_NAME_LEN - 1] = '\0';
		/* The cluster never records it: other nodes may be writing. */
		out->flags &= ~METRO_SB_F_CLEAN;
		/* Nor a check: a clustered volume is not checked (yet). */
		out->check_flags = 0;
		out->check_pos = 0;
	} else {
		out->nr_slots = 1;
	}
	/*
	 * The events stay: convert changes nothing the target decides on,
	 * and a pair converted half way still agrees on them.
	 */
	out->utime = now;
}
