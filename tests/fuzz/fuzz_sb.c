// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: metro_sb_decode() over arbitrary bytes.
 *
 * The input is copied into an exactly 4096-byte heap buffer (ASan catches
 * any read past it); the first 8 bytes of inputs longer than 4096 give the
 * device size.  To get past the checksum, the fuzzer's bytes are used with
 * the checksum recomputed when the input's first byte after the superblock
 * (or the csum field itself) asks for it, so both paths are explored.
 * Whenever decode succeeds, the recorded table options are within their
 * limits, re-encoding must decode to the same fields,
 * and the generation helpers must order the leg against a copy of itself
 * that carried on alone.  Version 2 (slots, cluster name): every slot lies
 * below the data, and what metroctl convert writes (version 1, or version
 * 2 with as many slots as fit) decodes again, in that format, with the
 * geometry unchanged.
 * Input layout: [0, 4096) superblock; [4096] bit 0: recompute the checksum
 * (inputs of up to 4096 bytes: odd length does); [4097, 4105) device size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metroctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What convert_pair() writes for the leg of @a, in format @t, must decode. */
static void check_convert(const struct metro_sb_info *a, uint64_t dev,
			  const struct convert_target *t, struct metro_sb_disk *re)
{
	struct metro_sb_info pair[2], c, d;
	const char *const path[2] = { "a", "b" };
	const char *err;
	char why[1024];
	int r;

	/* The leg paired with itself as the other leg: the records agree. */
	pair[0] = *a;
	pair[1] = *a;
	pair[1].leg ^= 1;
	r = convert_check(pair, path, t, why, sizeof(why));
	if (r < 0 ? !why[0] : (r != (a->leg == METRO_LEG_A ? 0 : 1) ||
			       t->nr_slots > convert_slots_fit(a)))
		abort();
	convert_sb(a, t, 1, &c);
	metro_sb_encode(&c, re);
	if (r >= 0 || t->nr_slots <= convert_slots_fit(a)) {
		if (metro_sb_decode(re, dev, &d, &err) || !convert_in_format(&d, t) ||
		    d.data_offset != a->data_offset || d.data_size != a->data_size ||
		    d.nr_regions != a->nr_regions || d.events != a->events ||
		    memcmp(d.legs, a->legs, sizeof(d.legs)))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metro_sb_disk *sb = malloc(sizeof(*sb));
	struct metro_sb_disk *re = malloc(sizeof(*re));
	struct metro_sb_info a, b;
	uint64_t dev = 0, g;
	const char *err = NULL;
	int r, fix;

	if (!sb || !re)
		abort();
	memset(sb, 0, sizeof(*sb));
	memcpy(sb, data, size < sizeof(*sb) ? size : sizeof(*sb));
	fix = size > sizeof(*sb) ? data[sizeof(*sb)] & 1 : (size & 1);
	if (size >= sizeof(*sb) + 9)
		memcpy(&dev, data + sizeof(*sb) + 1, sizeof(dev));
	if (fix)
		sb->csum = cpu_to_le32(metro_sb_csum(sb));

	r = metro_sb_decode(sb, dev, &a, &err);
	if (r) {
		if (!err || !*err)
			abort();	/* every refusal has a message */
		if (r != -ENODATA && r != -EBADMSG && r != -EPROTONOSUPPORT && r != -EINVAL)
			abort();
	} else {
		if (err)
			abort();
		/* Invariants the kernel relies on. */
		if (!metro_region_size_valid(a.region_sectors) || !a.data_size ||
		    a.leg > 1 || a.nr_regions > METRO_MAX_REGIONS ||
		    a.data_offset + a.data_size < a.data_offset ||
		    (dev && a.data_offset + a.data_size > dev) ||
		    !memchr(a.name, 0, sizeof(a.name)) ||
		    (a.opt_flags & ~METRO_SB_O_ALL) || metro_table_opts_check(&a.opts, &err))
			abort();
		/* The check the kernel resumes: a region it has (target 1.10). */
		if ((a.check_flags & ~METRO_SB_C_ALL) ||
		    (a.check_flags && !(a.check_flags & METRO_SB_C_RUNNING)) ||
		    (a.check_flags && a.check_pos >= a.nr_regions) ||
		    (!a.check_flags && a.check_pos))
			abort();
		/* Versions 1 and 2: the slots and the name the kernel uses. */
		if (a.version == METRO_FORMAT_V1 ? a.nr_slots != 1 || a.cluster_name[0] ||
						   metro_sb_clustered(&a) :
		    a.nr_slots < 1 || a.nr_slots > METRO_MAX_SLOTS ||
		    !metro_cluster_name_valid(a.cluster_name) || !metro_sb_clustered(&a))
			abort();
		if (metro_slot_offset(&a, a.nr_slots) > a.data_offset ||
		    convert_slots_fit(&a) < a.nr_slots)
			abort();
		{
			struct convert_target t = { .version = METRO_FORMAT_V1, .nr_slots = 1 };

			check_convert(&a, dev, &t, re);
			t.version = METRO_FORMAT_V2;
			t.nr_slots = convert_slots_fit(&a);
			strcpy(t.cluster_name, "fuzz");
			check_convert(&a, dev, &t, re);
			if (t.nr_slots < METRO_MAX_SLOTS) {
				t.nr_slots++;	/* one more than fits: refused */
				check_convert(&a, dev, &t, re);
			}
		}
		metro_sb_encode(&a, re);
		if (metro_sb_decode(re, dev, &b, &err))
			abort();
		/*
		 * Bytes after the name's terminator are not part of the name
		 * (the decoder ignores them, the encoder zeroes name[63]);
		 * the same for the cluster name of version 2.
		 */
		memset(a.name + strlen(a.name), 0, sizeof(a.name) - strlen(a.name));
		memset(b.name + strlen(b.name), 0, sizeof(b.name) - strlen(b.name));
		memset(a.cluster_name + strlen(a.cluster_name), 0,
		       sizeof(a.cluster_name) - strlen(a.cluster_name));
		memset(b.cluster_name + strlen(b.cluster_name), 0,
		       sizeof(b.cluster_name) - strlen(b.cluster_name));
		if (memcmp(&a, &b, sizeof(a)))
			abort();
		/* Generations: what activation and metroctl resolve rely on. */
		if (!metro_own_gen(&a) || metro_gen_compare(&a, &a) != METRO_GEN_SAME)
			abort();
		b = a;
		b.leg ^= 1;
		b.legs[b.leg].generation = metro_own_gen(&a);
		if (metro_gen_compare(&a, &b) != METRO_GEN_SAME)
			abort();
		/* A new generation: random in real life, so in nobody's history. */
		g = metro_own_gen(&a);
		do
			g++;
		while (!g || g == metro_own_gen(&a) || metro_gen_in_history(&a, g));
		metro_gen_push(&b, g);
		if (b.gen_history[0] != metro_own_gen(&a) ||
		    (a.leg == 0 ? metro_gen_compare(&a, &b) : metro_gen_compare(&b, &a)) !=
		    (a.leg == 0 ? METRO_GEN_B_NEWER : METRO_GEN_A_NEWER))
			abort();
		metro_gen_adopt(&a, &b);
		if (metro_own_gen(&a) != metro_own_gen(&b) ||
		    memcmp(a.gen_history, b.gen_history, sizeof(a.gen_history)))
			abort();
	}
	free(sb);
	free(re);
	return 0;
}
