// SPDX-License-Identifier: GPL-2.0-only
/*
 * metroctl fence, and fence_metro: fabric fencing of a lost site's path to
 * this site's array, as a fence agent dlm_controld (or Pacemaker's
 * fencer) runs before it lets the cluster take over a node's locks.
 *
 * In the two-site topology each node writes its own site's array directly
 * and the other site's through an NVMe/TCP export (Linux nvmet) at that
 * site.  When a node is lost, writes it had sent to this site's export may
 * still be held by its transport (NVMe/TCP requeues them and resubmits
 * them when the link returns); landing after the survivors wrote the same
 * blocks, they would undo acknowledged writes.  Fencing disables the
 * export's namespaces: nvmet's disable waits for every request already
 * inside the namespace to complete and fails every later one, so once the
 * agent returns nothing from the fabric writes this site's array.  The
 * survivors' own I/O to it goes straight to the device and is not
 * affected.  Unfencing ("on") enables the namespaces again; it is the
 * administrator's step once the lost node was rebooted (metroctl(8),
 * Documentation/dm-metro-cluster.rst).
 *
 * Arguments come from the command line (metroctl fence ...) or, when the
 * program is called as fence_metro with no arguments, as key=value pairs
 * on standard input, the fence agent API dlm_controld and Pacemaker use.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metroctl.h"

#define NVMET_CONFIGFS "/sys/kernel/config/nvmet"

static int fence_add_subsys(struct fence_req *rq, char *list)
{
	char *save = NULL, *nqn;

	for (nqn = strtok_r(list, ",", &save); nqn; nqn = strtok_r(NULL, ",", &save)) {
		if (!*nqn || strchr(nqn, '/') || !strcmp(nqn, ".") || !strcmp(nqn, "..")) {
			p_err("fence: '%s' is not an NVMe subsystem name", nqn);
			return -EINVAL;
		}
		if (rq->nr_subsys == FENCE_MAX_SUBSYS) {
			p_err("fence: more than %d subsystems", FENCE_MAX_SUBSYS);
			return -EINVAL;
		}
		rq->subsys[rq->nr_subsys++] = nqn;
	}
	return 0;
}

/*
 * One key=value of the fence agent API.  Keys dlm_controld and Pacemaker
 * add for every agent (nodename, port, plug, ...) name the victim; this
 * agent acts on this site's export whoever the victim is, so they are only
 * logged.
 */
int fence_parse_kv(struct fence_req *rq, char *kv)
{
	char *val = strchr(kv, '=');

	if (!val) {
		p_err("fence: '%s' is not key=value", kv);
		return -EINVAL;
	}
	*val++ = '\0';
	if (!strcmp(kv, "action") || !strcmp(kv, "option"))
		rq->action = val;
	else if (!strcmp(kv, "subsys"))
		return fence_add_subsys(rq, val);
	else if (!strcmp(kv, "configfs"))
		rq->configfs = val;
	else if (!strcmp(kv, "nodeid") || !strcmp(kv, "node") || !strcmp(kv, "nodename") ||
		 !strcmp(kv, "port") || !strcmp(kv, "plug"))
		rq->nodeid = rq->nodeid ? rq->nodeid : val;
	else
		p_info("fence: ignoring %s=%s", kv, val);
	return 0;
}

static int fence_read_stdin(struct fence_req *rq)
{
	static char buf[8192];
	size_t len = 0;
	ssize_t n;
	char *save = NULL, *tok;

	while (len < sizeof(buf) - 1 &&
	       (n = read(STDIN_FILENO, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			p_err("fence: cannot read the arguments on stdin: %s", strerror(errno));
			return -errno;
		}
		len += n;
	}
	buf[len] = '\0';
	for (tok = strtok_r(buf, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (*tok == '#')
			continue;
		if (fence_parse_kv(rq, tok))
			return -EINVAL;
	}
	return 0;
}

/* read_enable: the namespace's "enable" file, 0 or 1; -errno */
static int read_enable(const char *path)
{
	char c = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = read(fd, &c, 1) == 1 ? 0 : -EIO;
	close(fd);
	if (r)
		return r;
	return c == '1';
}

static int write_enable(const char *path, int on)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	/* nvmet's disable returns once the namespace's requests are done */
	if (write(fd, on ? "1\n" : "0\n", 2) != 2)
		r = errno ? -errno : -EIO;
	if (close(fd) && !r)
		r = -errno;
	return r;
}

/*
 * fence_subsys: carry ACTION out on every namespace of subsystem NQN.
 * Returns FENCE_OK, FENCE_FAILED, or for status FENCE_IS_OFF when a
 * namespace is disabled.
 */
static int fence_subsys(const struct fence_req *rq, const char *nqn, int on, bool status)
{
	char dir[2048], path[2304];
	struct dirent *de;
	int ret = FENCE_OK, n = 0, r;
	DIR *d;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/subsystems/%s/namespaces", rq->configfs,
			     nqn) >= sizeof(dir)) {
		p_err("fence: subsystem name %s too long", nqn);
		return FENCE_FAILED;
	}
	d = opendir(dir);
	if (!d) {
		p_err("fence: no nvmet subsystem %s here (%s: %s): check the fence configuration (subsys=) of this node",
		      nqn, dir, strerror(errno));
		return FENCE_FAILED;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%.200s/enable", dir, de->d_name) >=
		    sizeof(path))
			continue;
		r = read_enable(path);
		if (r < 0) {
			p_err("fence: %s: %s", path, strerror(-r));
			ret = FENCE_FAILED;
			continue;
		}
		n++;
		if (status) {
			printf("subsystem %s namespace %s: %s\n", nqn, de->d_name, r ? "on" : "off");
			if (!r && ret == FENCE_OK)
				ret = FENCE_IS_OFF;
			continue;
		}
		if (r != on) {
			r = write_enable(path, on);
			if (!r)
				r = read_enable(path);
			if (r != on) {
				p_err("fence: cannot %s namespace %s of %s: %s", on ? "enable" : "disable",
				      de->d_name, nqn, r < 0 ? strerror(-r) : "it did not change");
				ret = FENCE_FAILED;
				continue;
			}
		}
		fprintf(stderr, "%s: fence: node %s: subsystem %s namespace %s %s\n", bin_name,
			rq->nodeid ? rq->nodeid : "-", nqn, de->d_name,
			on ? "enabled: hosts reach it over the fabric again"
			   : "disabled: no host writes it over the fabric any more");
	}
	closedir(d);
	if (!n) {
		p_err("fence: subsystem %s has no namespace: nothing to fence", nqn);
		return FENCE_FAILED;
	}
	return ret;
}

static void fence_metadata(void)
{
	printf("<?xml version=\"1.0\" ?>\n"
	       "<resource-agent name=\"fence_metro\" shortdesc=\"Fence a node's NVMe/TCP path to this site's dm-metro leg\">\n"
	       "<longdesc>Disables the namespaces of this site's nvmet subsystems, so that no write a lost node's transport still holds reaches this site's array. Run it at the node that survives; enable them again (action on) once the lost node was rebooted.</longdesc>\n"
	       "<parameters>\n"
	       "  <parameter name=\"subsys\" unique=\"0\" required=\"1\"><getopt mixed=\"--subsys NQN\"/><content type=\"string\"/><shortdesc lang=\"en\">nvmet subsystems exporting this site's legs (comma-separated)</shortdesc></parameter>\n"
	       "  <parameter name=\"action\" unique=\"0\" required=\"0\"><getopt mixed=\"-o, --action ACTION\"/><content type=\"string\" default=\"off\"/><shortdesc lang=\"en\">off, on, reboot (as off), status, monitor, metadata</shortdesc></parameter>\n"
	       "  <parameter name=\"configfs\" unique=\"0\" required=\"0\"><content type=\"string\" default=\"" NVMET_CONFIGFS "\"/><shortdesc lang=\"en\">nvmet's configfs directory</shortdesc></parameter>\n"
	       "</parameters>\n"
	       "<actions>\n"
	       "  <action name=\"off\"/>\n  <action name=\"on\"/>\n  <action name=\"reboot\"/>\n"
	       "  <action name=\"status\"/>\n  <action name=\"monitor\"/>\n  <action name=\"metadata\"/>\n"
	       "</actions>\n"
	       "</resource-agent>\n");
}

/* fence_run: the request once parsed; the fence agent API's exit code */
int fence_run(struct fence_req *rq)
{
	bool status = false;
	int on, ret = FENCE_OK, r;
	unsigned int i;

	if (!rq->configfs)
		rq->configfs = NVMET_CONFIGFS;
	if (!rq->action)
		rq->action = "off";
	if (!strcmp(rq->action, "metadata")) {
		fence_metadata();
		return FENCE_OK;
	}
	/* a storage fence powers nothing on: a reboot is an off */
	if (!strcmp(rq->action, "off") || !strcmp(rq->action, "reboot"))
		on = 0;
	else if (!strcmp(rq->action, "on"))
		on = 1;
	else if (!strcmp(rq->action, "status") || !strcmp(rq->action, "monitor"))
		on = 1, status = true;
	else {
		p_err("fence: unknown action '%s' (off, on, reboot, status, monitor, metadata)", rq->action);
		return FENCE_FAILED;
	}
	if (!rq->nr_subsys) {
		p_err("fence: no subsys= given: name the nvmet subsystems exporting this site's legs");
		return FENCE_FAILED;
	}
	for (i = 0; i < rq->nr_subsys; i++) {
		r = fence_subsys(rq, rq->subsys[i], on, status);
		if (r == FENCE_FAILED || (r == FENCE_IS_OFF && ret == FENCE_OK))
			ret = r;
	}
	return ret;
}

static int fence_args(struct fence_req *rq, int argc, char **argv, const char *cmd)
{
	static const struct option opts[] = {
		{ "action", required_argument, NULL, 'o' },
		{ "subsys", required_argument, NULL, 's' },
		{ "nodeid", required_argument, NULL, 'n' },
		{ "configfs", required_argument, NULL, 'c' },
		COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int opt, r;

	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS "o:s:n:", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			rq->action = optarg;
			break;
		case 's':
			if (fence_add_subsys(rq, optarg))
				return EXIT_USAGE;
			break;
		case 'n':
			rq->nodeid = optarg;
			break;
		case 'c':
			rq->configfs = optarg;
			break;
		default:
			r = common_opt(cmd, opt, argv);
			if (r >= 0)
				return r;
		}
	}
	if (optind < argc)
		return usage_err(cmd, "%s: unexpected argument '%s'", cmd, argv[optind]);
	return -1;
}

int do_fence(int argc, char **argv)
{
	struct fence_req rq = { 0 };
	int r = fence_args(&rq, argc, argv, "fence");

	if (r >= 0)
		return r;
	return fence_run(&rq);
}

/* main() of fence_metro (metroctl called by that name) */
int fence_agent_main(int argc, char **argv)
{
	struct fence_req rq = { 0 };
	int r;

	bin_name = "fence_metro";
	if (argc > 1) {
		r = fence_args(&rq, argc, argv, "fence");
		if (r >= 0)
			return r;
	} else if (fence_read_stdin(&rq)) {
		return FENCE_FAILED;
	}
	return fence_run(&rq);
}
