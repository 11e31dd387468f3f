// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for fence_metro (userspace/cmd-fence.c): the fence agent
 * API's key=value arguments, and each action carried out on a directory
 * tree laid out as nvmet's configfs (subsystems/NQN/namespaces/N/enable),
 * plus the real binary reading its arguments on stdin as dlm_controld
 * gives them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "metroctl.h"

/* what cmd-fence.c uses of metroctl.c */
int verbose;
const char *bin_name = "metroctl";
void p_err(const char *fmt, ...) { (void)fmt; }
void p_info(const char *fmt, ...) { (void)fmt; }
int usage_err(const char *cmd, const char *fmt, ...) { (void)cmd; (void)fmt; return EXIT_USAGE; }
int common_opt(const char *cmd, int opt, char **argv) { (void)cmd; (void)opt; (void)argv; return EXIT_USAGE; }

static char root[64];

static void put(const char *rel, const char *val)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(val, f);
	fclose(f);
}

static int get(const char *rel)
{
	char p[256];
	int c;
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	f = fopen(p, "r");
	assert_non_null(f);
	c = fgetc(f);
	fclose(f);
	return c;
}

static void mkdirs(const char *rel)
{
	char cmd[320];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", root, rel);
	assert_int_equal(system(cmd), 0);
}

/* two subsystems: "a" with namespaces 1 and 2, "b" with namespace 1 */
static int setup(void **state)
{
	(void)state;
	strcpy(root, "/tmp/test_fence.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	mkdirs("subsystems/a/namespaces/1");
	mkdirs("subsystems/a/namespaces/2");
	mkdirs("subsystems/b/namespaces/1");
	mkdirs("subsystems/empty/namespaces");
	put("subsystems/a/namespaces/1/enable", "1\n");
	put("subsystems/a/namespaces/2/enable", "1\n");
	put("subsystems/b/namespaces/1/enable", "1\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[96];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static int run_kv(const char *const *kv)
{
	struct fence_req rq = { 0 };
	static char buf[16][128];
	int i;

	for (i = 0; kv[i]; i++) {
		snprintf(buf[i], sizeof(buf[i]), "%s", kv[i]);
		if (fence_parse_kv(&rq, buf[i]))
			return -100;
	}
	snprintf(buf[i], sizeof(buf[i]), "configfs=%s", root);
	assert_int_equal(fence_parse_kv(&rq, buf[i]), 0);
	return fence_run(&rq);
}

static void test_off_on_status(void **state)
{
	(void)state;
	assert_int_equal(run_kv((const char *[]){ "action=status", "subsys=a,b", NULL }), FENCE_OK);
	/* off is the default action, as for any fence agent called by dlm_controld */
	assert_int_equal(run_kv((const char *[]){ "subsys=a", "nodeid=2", NULL }), FENCE_OK);
	assert_int_equal(get("subsystems/a/namespaces/1/enable"), '0');
	assert_int_equal(get("subsystems/a/namespaces/2/enable"), '0');
	assert_int_equal(get("subsystems/b/namespaces/1/enable"), '1');
	assert_int_equal(run_kv((const char *[]){ "action=status", "subsys=a", NULL }), FENCE_IS_OFF);
	assert_int_equal(run_kv((const char *[]){ "action=monitor", "subsys=b,a", NULL }), FENCE_IS_OFF);
	assert_int_equal(run_kv((const char *[]){ "action=status", "subsys=b", NULL }), FENCE_OK);
	/* again: already off is success */
	assert_int_equal(run_kv((const char *[]){ "action=off", "subsys=a", NULL }), FENCE_OK);
	assert_int_equal(run_kv((const char *[]){ "action=on", "subsys=a", NULL }), FENCE_OK);
	assert_int_equal(get("subsystems/a/namespaces/1/enable"), '1');
	assert_int_equal(get("subsystems/a/namespaces/2/enable"), '1');
	/* a storage fence cannot power-cycle: reboot fences */
	assert_int_equal(run_kv((const char *[]){ "action=reboot", "subsys=b", NULL }), FENCE_OK);
	assert_int_equal(get("subsystems/b/namespaces/1/enable"), '0');
	assert_int_equal(run_kv((const char *[]){ "action=on", "subsys=b", NULL }), FENCE_OK);
}

static void test_refusals(void **state)
{
	(void)state;
	/* nothing named: fails, changes nothing */
	assert_int_equal(run_kv((const char *[]){ "action=off", NULL }), FENCE_FAILED);
	assert_int_equal(run_kv((const char *[]){ "action=off", "subsys=nosuch", NULL }), FENCE_FAILED);
	assert_int_equal(run_kv((const char *[]){ "action=off", "subsys=empty", NULL }), FENCE_FAILED);
	assert_int_equal(run_kv((const char *[]){ "action=explode", "subsys=a", NULL }), FENCE_FAILED);
	assert_int_equal(get("subsystems/a/namespaces/1/enable"), '1');
	/* a missing subsystem fails the fence, the others are still fenced */
	assert_int_equal(run_kv((const char *[]){ "subsys=nosuch,b", NULL }), FENCE_FAILED);
	assert_int_equal(get("subsystems/b/namespaces/1/enable"), '0');
	assert_int_equal(run_kv((const char *[]){ "action=on", "subsys=b", NULL }), FENCE_OK);
	/* names that would leave the subsystems directory, and bad pairs */
	assert_int_equal(run_kv((const char *[]){ "subsys=../a", NULL }), -100);
	assert_int_equal(run_kv((const char *[]){ "subsys=..", NULL }), -100);
	assert_int_equal(run_kv((const char *[]){ "action=on", "subsys=a,,b", NULL }), FENCE_OK);
	assert_int_equal(run_kv((const char *[]){ "noequals", NULL }), -100);
	assert_int_equal(run_kv((const char *[]){ "subsys=a,b,c,d,e,f,g,h,i", NULL }), -100);
	/* keys the callers add for every agent are accepted */
	assert_int_equal(run_kv((const char *[]){ "action=on", "subsys=a", "nodename=B", "port=2",
						  "plug=x", "timestamp=1", NULL }), FENCE_OK);
}

/* the real binary as dlm_controld calls it: fence_metro, pairs on stdin */
static void test_stdin_agent(void **state)
{
	const char *mc = getenv("METROCTL");
	char agent[512], cmd[1200];

	(void)state;
	if (!mc)
		skip();
	snprintf(agent, sizeof(agent), "%.*s/fence_metro", (int)(strrchr(mc, '/') - mc), mc);
	snprintf(cmd, sizeof(cmd), "printf 'nodeid=2\\nsubsys=a\\nconfigfs=%s\\n' | %s 2>/dev/null",
		 root, agent);
	assert_int_equal(WEXITSTATUS(system(cmd)), FENCE_OK);
	assert_int_equal(get("subsystems/a/namespaces/1/enable"), '0');
	snprintf(cmd, sizeof(cmd), "printf 'action=status subsys=a configfs=%s' | %s >/dev/null 2>&1",
		 root, agent);
	assert_int_equal(WEXITSTATUS(system(cmd)), FENCE_IS_OFF);
	snprintf(cmd, sizeof(cmd), "%s fence -o on --subsys a --configfs %s 2>/dev/null", mc, root);
	assert_int_equal(WEXITSTATUS(system(cmd)), FENCE_OK);
	assert_int_equal(get("subsystems/a/namespaces/1/enable"), '1');
	snprintf(cmd, sizeof(cmd), "printf 'action=metadata' | %s | grep -q '<resource-agent name=\"fence_metro\"'",
		 agent);
	assert_int_equal(WEXITSTATUS(system(cmd)), 0);
	snprintf(cmd, sizeof(cmd), "%s fence -o on --configfs %s 2>/dev/null", mc, root);
	assert_int_equal(WEXITSTATUS(system(cmd)), FENCE_FAILED);
	snprintf(cmd, sizeof(cmd), "%s fence --bogus 2>/dev/null", mc);
	assert_int_equal(WEXITSTATUS(system(cmd)), EXIT_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_off_on_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stdin_agent, setup, teardown),
	};

	return cmocka_run_group_tests_name("fence", tests, NULL, NULL);
}
