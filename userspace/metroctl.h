/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * metroctl: shared declarations.  The on-disk format lives in
 * dm-metro/metro-format.h and is never re-defined here.
 */
#ifndef METROCTL_H
#define METROCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "metro-format.h"

#ifndef METROCTL_VERSION
#define METROCTL_VERSION "0.1"
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Exit codes, documented in metroctl.8. */
#define EXIT_OK		0
#define EXIT_ERR	1
#define EXIT_USAGE	2

/* Global options (metroctl.c). */
extern bool json_output;
extern bool pretty_output;
extern int verbose;
extern const char *bin_name;

/* Messages: "metroctl: ..." on stderr. */
void p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void p_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void p_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a usage error and return EXIT_USAGE. */
int usage_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Subcommand dispatch, bpftool style. */
struct cmd {
	const char *name;
	int (*func)(int argc, char **argv);
	const char *args;	/* one-line synopsis of the arguments */
	const char *help;	/* one-line description */
};

int do_create(int argc, char **argv);
int do_assemble(int argc, char **argv);
int do_stop(int argc, char **argv);
int do_status(int argc, char **argv);
int do_check(int argc, char **argv);
int do_examine(int argc, char **argv);
int do_incremental(int argc, char **argv);
int do_restore(int argc, char **argv);
int do_replace(int argc, char **argv);
int do_resolve(int argc, char **argv);
int do_set(int argc, char **argv);
int do_monitor(int argc, char **argv);
int do_convert(int argc, char **argv);
int do_fence(int argc, char **argv);

/* cmd-fence.c: fabric fencing (fence_metro), also unit tested */
#define FENCE_MAX_SUBSYS 8
/* Exit codes of the fence agent API: status answers 0 (on) or 2 (off). */
#define FENCE_OK	0
#define FENCE_FAILED	1
#define FENCE_IS_OFF	2
/* What one run is asked to do (parsed from argv or stdin). */
struct fence_req {
	const char *action;		/* off, on, reboot, status, monitor, metadata */
	const char *subsys[FENCE_MAX_SUBSYS];
	unsigned int nr_subsys;
	const char *nodeid;		/* the victim, for the log only */
	const char *configfs;		/* nvmet's configfs directory */
};
/* One key=value of the fence agent API (KV is modified): 0 or -EINVAL. */
int fence_parse_kv(struct fence_req *rq, char *kv);
/* Carry the request out: FENCE_OK, FENCE_FAILED or FENCE_IS_OFF. */
int fence_run(struct fence_req *rq);
/* main() when called as fence_metro: arguments on stdin or argv. */
int fence_agent_main(int argc, char **argv);

/* Common per-command option parsing (-j/--json, -p/--pretty, -v, -h). */
void json_print(struct json_object *obj);
void cmd_usage(const char *name);
/*
 * Handle an option every command accepts (-j -p -v -h) or an unknown one.
 * Returns -1 when handled and parsing goes on, or an exit code.
 */
int common_opt(const char *cmd, int opt, char **argv);
#define COMMON_SHORTOPTS ":jpvh"
#define COMMON_LONGOPTS \
	{ "json", no_argument, NULL, 'j' }, \
	{ "pretty", no_argument, NULL, 'p' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "help", no_argument, NULL, 'h' }

/* util.c: pure helpers, unit tested. */
int parse_size(const char *s, uint64_t *bytes);
/* A decimal number, digits only: 0, -EINVAL or -ERANGE. */
int parse_u64(const char *tok, uint64_t *v);
int validate_name(const char *name, const char **why);
void uuid_unparse(const uint8_t uuid[METRO_UUID_LEN], char out[37]);
void uuid_hex(const uint8_t uuid[METRO_UUID_LEN], char out[33]);
void metro_dm_uuid(const uint8_t vol_uuid[METRO_UUID_LEN], char out[64]);
const char *format_bytes(uint64_t bytes, char *buf, size_t len);
char *leg_state_words(uint32_t state, char *buf, size_t len);
struct json_object *leg_state_json(uint32_t state);
void shell_quote(const char *s, char *out, size_t len);
uint64_t bitmap_count(const uint8_t *bm, uint64_t first_bit, uint64_t nbits);
/* "major:minor" of a leg device for a table line, "-" for none (0). */
void format_leg_dev(dev_t dev, char *buf, size_t len);
/* The reverse: "major:minor" or "-" (0); 0 or -EINVAL. */
int parse_leg_dev(const char *tok, dev_t *dev);
/* The parameters of a metro table line: "LEG_A LEG_B" and @opts if any. */
void format_table_params(dev_t leg_a, dev_t leg_b, const char *opts, char *buf, size_t len);
/* Room for them with any METRO_TABLE_OPTS_LEN options. */
#define TABLE_PARAMS_LEN	(2 * 32 + 2 + METRO_TABLE_OPTS_LEN)

/*
 * transport.c: is a device across a network that can stall (the name of
 * its transport: "nvme-tcp", "iscsi", "nbd"...) or local (NULL)?
 */
const char *dev_transport_remote(dev_t dev);
/* The METRO_LEGS_* of @leg_a and @leg_b that are remote (0: no device). */
unsigned int remote_legs(dev_t leg_a, dev_t leg_b);
/*
 * format_table_params() for a table to load: under read_mode auto, with
 * the remote legs of these devices named (metro-table.h).
 */
void load_table_params(dev_t leg_a, dev_t leg_b, const char *opts, char *buf, size_t len);

/*
 * Table options on the command line (create, assemble, set): long options
 * only, each recorded in @given so that what is not given keeps the value
 * recorded in the superblock or in the live table.
 */
enum {
	OPT_RESYNC_RATE = 0x100,
	OPT_CLEAR_DELAY,
	OPT_IO_DEADLINE,
	OPT_WRITE_MOSTLY,
	OPT_READ_MODE,
	OPT_FAILFAST,
	OPT_CLUSTER,			/* create --cluster NAME */
	OPT_NODES,			/* create --nodes N */
	OPT_SINGLE_HOST,		/* convert --single-host */
	OPT_DRY_RUN,			/* convert --dry-run */
};
#define TABLE_OPT_RESYNC_RATE	(1U << 0)
#define TABLE_OPT_CLEAR_DELAY	(1U << 1)
#define TABLE_OPT_IO_DEADLINE	(1U << 2)
#define TABLE_OPT_WRITE_MOSTLY	(1U << 3)
#define TABLE_OPT_READ_MODE	(1U << 4)
#define TABLE_OPT_FAILFAST	(1U << 5)
#define TABLE_LONGOPTS \
	{ "resync-rate", required_argument, NULL, OPT_RESYNC_RATE }, \
	{ "clear-delay", required_argument, NULL, OPT_CLEAR_DELAY }, \
	{ "io-deadline", required_argument, NULL, OPT_IO_DEADLINE }, \
	{ "write-mostly", required_argument, NULL, OPT_WRITE_MOSTLY }, \
	{ "read-mode", required_argument, NULL, OPT_READ_MODE }, \
	{ "failfast", required_argument, NULL, OPT_FAILFAST }
struct table_opt_args {
	unsigned int given;		/* TABLE_OPT_* */
	struct metro_table_opts o;
};
/* Take option @opt (OPT_*) with value @val: 0, or -EINVAL and @why (names the option). */
int table_opt_arg(struct table_opt_args *a, int opt, const char *val, const char **why);
/* The options given in @a replace those in @o. */
void table_opts_apply(const struct table_opt_args *a, struct metro_table_opts *o);
/* The optional arguments of a table line ("2 io_deadline 0"): 0, or -EINVAL and @why. */
int parse_table_opts(const char *words, struct metro_table_opts *o, const char **why);
/* "auto:B", "direct", "bounce:A"...: read_mode as the table line has it. */
const char *read_mode_word(const struct metro_table_opts *o, char *buf, size_t len);
/* "io_deadline 5000 ms, write_mostly B, ..." for the messages. */
const char *table_opts_words(const struct metro_table_opts *o, char *buf, size_t len);

/* util.c: the parsed dm status line of a metro target (dm-metro.rst, Status). */
#define METRO_CHECK_LIST	8	/* mismatching regions listed at most */
struct metro_status {
	unsigned int nr_legs;
	dev_t dev[METRO_NR_LEGS];	/* 0 for "-" */
	bool absent[METRO_NR_LEGS];	/* "-" in the table: no device */
	char health[METRO_NR_LEGS];
	uint64_t in_sync, total;
	char sync_action[32];
	uint64_t dirty;
	uint64_t region_sectors;
	uint64_t md_writes;
	uint64_t reads[METRO_NR_LEGS];
	int64_t eta;			/* seconds to the end of resync, -1 unknown */
	/*
	 * I/Os abandoned on each leg at the I/O deadline that its device has
	 * not returned yet (target 1.7); 0 and !late_known from older targets.
	 */
	uint64_t late[METRO_NR_LEGS];
	bool late_known;
	/*
	 * A clustered volume (target 1.8): this node's bitmap slot and the
	 * regions it owns (-1 while suspended), and "running", "held" or
	 * "recovering".
	 */
	bool clustered;
	int slot, owned;
	char cluster_state[16];
	/*
	 * The online verify (target 1.9): "idle", "check", "repair", "done",
	 * "stopped" or "failed"; the next region to compare; the regions
	 * found to differ, and the first ones of them.  !check_known from
	 * older targets.
	 */
	bool check_known;
	char check_state[16];
	uint64_t check_pos, check_total, check_mismatches;
	int64_t check_eta;		/* seconds, -1 unknown */
	unsigned int check_nr_list;
	uint64_t check_list[METRO_CHECK_LIST];
};
int parse_status_line(const char *params, struct metro_status *st, const char **why);
const char *leg_health_word(char h, const char *sync_action);

/* leg.c: the two legs on disk. */
/* Where opening a leg and reading its superblock failed. */
enum leg_step {
	LEG_STEP_NONE,
	LEG_STEP_STAT,		/* stat(), or not a block device (-ENOTBLK) */
	LEG_STEP_OPEN,
	LEG_STEP_SIZE,		/* BLKGETSIZE64 */
	LEG_STEP_READ,		/* the superblock's sectors; -ENODATA: device too small */
	LEG_STEP_DECODE,	/* metro_sb_decode(); -ENODATA: no dm-metro magic */
	LEG_STEP_TIMEOUT,	/* probe.c: no answer in time (-ETIMEDOUT) */
	LEG_STEP_PROBE,		/* probe.c: the reading process could not run */
};
struct leg {
	const char *path;
	int fd;
	dev_t rdev;
	uint64_t bytes;
	uint64_t sectors;
	enum leg_step step;	/* where leg_open failed */
};
/*
 * The message for @path failing at @step with @err (negative errno; @why
 * the decoder's reason, @timeout_ms the probe's bound).
 */
void leg_report(const char *path, enum leg_step step, int err, const char *why,
		unsigned int timeout_ms);
#define LEG_RDONLY	0
#define LEG_RDWR_EXCL	1
#define LEG_QUIET	2	/* no messages (incremental scanning) */
#define LEG_RDONLY_EXCL	4	/* read-only, but refused when in use (convert --dry-run) */
int leg_open(struct leg *l, const char *path, int mode);
void leg_close(struct leg *l);
/* Read and decode: 0, or the decoder's negative error (message printed unless quiet). */
int leg_read_sb(struct leg *l, struct metro_sb_info *info, bool quiet);
int leg_read_raw_sb(struct leg *l, struct metro_sb_disk *raw);
int leg_write_sb(struct leg *l, const struct metro_sb_info *info);
int leg_write_bitmap(struct leg *l, const struct metro_layout *lay, bool all_dirty);
int leg_count_dirty(struct leg *l, const struct metro_sb_info *info, uint64_t *dirty);
/* Dirty bits of each bitmap slot (@counts[0 .. nr_slots - 1]) and of their union. */
int leg_count_dirty_slots(struct leg *l, const struct metro_sb_info *info,
			  uint64_t counts[METRO_MAX_SLOTS], uint64_t *uni);
/* Zero bitmap slots @first .. @end - 1 (whole padded slots). */
int leg_zero_slots(struct leg *l, const struct metro_sb_info *info, unsigned int first,
		   unsigned int end);
/* OR slots @first .. @end - 1 into slot 0; @added: bits new in slot 0. */
int leg_merge_slots(struct leg *l, const struct metro_sb_info *info, unsigned int first,
		    unsigned int end, uint64_t *added);
/* libblkid probe: 1 and a description in @what when a signature is found. */
int leg_find_signature(struct leg *l, char *what, size_t len);
int leg_wipe_signatures(struct leg *l);
/* A dm-metro superblock or a libblkid signature: 1 and a description. */
int leg_check_signatures(struct leg *l, char *what, size_t len);
int leg_sync(struct leg *l);
/* The /dev node of @dev: 0, or -ENOENT and "major:minor" in @out. */
int leg_dev_path(dev_t dev, char *out, size_t len);

/*
 * probe.c: superblocks read in child processes, each answer waited for at
 * most @timeout_ms: a device that does not answer cannot hang the caller.
 */
#define PROBE_TIMEOUT_MS	2000
struct sb_probe {
	const char *path;		/* in: the device node */
	int err;			/* 0, or a negative errno from @step */
	enum leg_step step;		/* LEG_STEP_TIMEOUT: -ETIMEDOUT, no answer */
	const char *why;		/* LEG_STEP_DECODE: the decoder's reason */
	dev_t rdev;
	uint64_t sectors;
	struct metro_sb_info info;	/* when !err */
};
/* Read the superblocks of @p[0..n-1].path, many at once. */
void probe_sbs(struct sb_probe *p, unsigned int n, unsigned int timeout_ms);
/*
 * One leg, PROBE_TIMEOUT_MS: 0, or the error after its message
 * (leg_report; with @quiet only the timeout is reported).
 */
int probe_leg(const char *path, struct sb_probe *p, bool quiet);
/* What the child sends back, filled by a reader (tests pass their own). */
struct probe_reply {
	int32_t step;			/* enum leg_step when @err */
	int32_t err;
	uint64_t rdev;
	uint64_t sectors;
	struct metro_sb_disk raw;
};
typedef void probe_reader_fn(const char *path, struct probe_reply *rep);
void probe_sbs_with(struct sb_probe *p, unsigned int n, unsigned int timeout_ms,
		    probe_reader_fn *reader);

/* dm.c: the only user of libdevmapper. */
void metro_dm_setup(void);
/* Is udevd running?  Decides udev cookies here and the udev database in cmd-udev.c. */
bool metro_udev_running(void);
/* 1 active, 0 not, -1 error.  @name_out gets the dm name when active. */
int metro_dm_uuid_active(const char *dm_uuid, char *name_out, size_t len);
int metro_dm_name_exists(const char *name);
/* @opts: the optional arguments of the table line ("" for none). */
int metro_dm_activate(const char *name, const char *dm_uuid, uint64_t sectors,
		dev_t leg_a, dev_t leg_b, const char *opts);
/* Remove metro device @name; @status gets its status line as it was just before. */
int metro_dm_stop(const char *name, char *status, size_t len);
struct metro_dm_dev {
	char name[128];
	uint64_t length;
	char params[1024];
};
/* Fill a malloc()ed array of metro devices (all, or only @name). */
int metro_dm_list(const char *only, struct metro_dm_dev **out, int *count);
const char *metro_dm_last_error(void);
/* The live table of metro device @name: 1 found, 0 not a metro device, <0 error. */
int metro_dm_get_table(const char *name, uint64_t *length, char *params, size_t len);
/* Load @params as the new table of @name, then suspend and resume it. */
int metro_dm_reload(const char *name, uint64_t length, const char *params);
/* Send message @msg to metro device @name: 0, or -errno (the reason is in the kernel log). */
int metro_dm_message(const char *name, const char *msg);

/* cmd-volume.c */
/*
 * cmd-udev.c: look for leg @want of volume @me on the devices the udev
 * database records as that leg, or on every block device.
 */
struct candidate {
	char path[300];
	uint64_t events;
	int found;		/* how many devices carry it */
	int skipped;		/* devices that did not answer in time */
};
void scan_for_leg(const struct metro_sb_info *me, dev_t self, uint32_t want,
		  struct candidate *c);

void report_split_brain(const char *name, const char *path_a, const struct metro_sb_info *a,
			const char *path_b, const struct metro_sb_info *b);
#define ASM_CREATE	1	/* the legs were just formatted by create */
#define ASM_UDEV	2	/* incremental: active already is fine, no order notes */
int assemble_volume(const char *name, const char *path0, const char *path1, int flags,
		    const struct table_opt_args *over);
int fill_random(void *buf, size_t len);
/* Stamp random bytes as an RFC 4122 version 4 UUID. */
void make_uuid(uint8_t u[METRO_UUID_LEN]);

/*
 * convert.c: the pure part of metroctl convert.  A format: version 1 with
 * one slot and no cluster name, or version 2 with 1..8 slots and a name.
 */
struct convert_target {
	uint32_t version;
	uint32_t nr_slots;
	char cluster_name[METRO_CLUSTER_NAME_LEN];
};
void convert_target_of(const struct metro_sb_info *sb, struct convert_target *t);
bool convert_in_format(const struct metro_sb_info *sb, const struct convert_target *t);
/* How many bitmap slots fit between the bitmap offset and the data offset. */
uint32_t convert_slots_fit(const struct metro_sb_info *sb);
/*
 * Can the superblocks read from @path[0] and @path[1] be converted to @t?
 * The index of leg A, or -EINVAL with the reason (for the administrator)
 * in @why.
 */
int convert_check(const struct metro_sb_info sb[2], const char *const path[2],
		  const struct convert_target *t, char *why, size_t len);
/* @in converted to @t, written at @now. */
void convert_sb(const struct metro_sb_info *in, const struct convert_target *t, uint64_t now,
		struct metro_sb_info *out);
/* "format 2 (cluster NAME, N bitmap slots)" */
const char *convert_format_words(const struct convert_target *t, char *buf, size_t len);
/* The convert options that ask for @t: "--cluster NAME --nodes N" or "--single-host". */
const char *convert_args(const struct convert_target *t, char *buf, size_t len);
/*
 * cmd-convert.c: convert the legs @legs (open for writing, exclusively,
 * under metro_lock) to @t; with @dry_run, check and say what would be done.
 * Returns an exit code, after the messages.
 */
int convert_pair(struct leg legs[METRO_NR_LEGS], const struct convert_target *t, bool dry_run);

/* cmd-info.c: examine's output for the superblock @sb of @dev. */
struct examine_counts {
	uint64_t dirty;				/* the union of the slots */
	uint64_t slot[METRO_MAX_SLOTS];		/* version 2: each slot's */
};
struct json_object *examine_json(const char *dev, const struct metro_sb_info *sb,
				 const struct examine_counts *c);
void examine_text(const char *dev, const struct metro_sb_info *sb,
		  const struct examine_counts *c);

/* Serialise activation against udev-triggered incremental assembly. */
int metro_lock(void);
void metro_unlock(int fd);

#endif
