// SPDX-License-Identifier: GPL-2.0-only
/*
 * Superblock reads that a dead device cannot hang: each device is opened
 * and its superblock read in a child process, and the parent waits for
 * the answer for a bounded time only.  incremental and resolve look for a
 * volume's other leg among every block device of the machine, and a
 * single network device whose server or link is gone (NBD, which has no
 * timeout of its own; NVMe/TCP or iSCSI retrying for minutes or for ever)
 * must cost them, and udev with them, seconds and not the device's
 * timeout.
 *
 * Why a process and a buffered read: a read through the page cache
 * sleeps killably on the page, so the reader does not count as a hung
 * task and is woken by the device's answer or by a fatal signal, whereas
 * an O_DIRECT read sleeps uninterruptibly until the device answers.  The
 * reader that gave up is not killed, though: it is left sleeping in its
 * read, and ends by itself once the device answers or fails.  Killing it
 * would make its exit close the device, and the last close of a block
 * device waits, unkillable, for the page cache reads still in flight
 * (kill_bdev), so the reader would sit in D state instead.  Nothing of
 * the parent waits for it: it holds no lock, no standard stream and no
 * other descriptor of the parent, and the parent never opens the device.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "metroctl.h"

/* Readers at once: a machine with hundreds of disks forks in batches. */
#define PROBE_PARALLEL	16

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The reader run in the child: open @path and read its superblock.  The
 * device stays open: _exit() closes it once the answer is sent.  No
 * readahead (POSIX_FADV_RANDOM): pages read ahead would still be in
 * flight when the device is closed, and the last close waits for them.
 */
static void read_sb_reply(const char *path, struct probe_reply *rep)
{
	struct leg l;
	int r;

	r = leg_open(&l, path, LEG_RDONLY | LEG_QUIET);
	if (r) {
		rep->step = (int32_t)l.step;
		rep->err = r;
		return;
	}
	rep->rdev = l.rdev;
	rep->sectors = l.sectors;
	posix_fadvise(l.fd, 0, 0, POSIX_FADV_RANDOM);
	r = leg_read_raw_sb(&l, &rep->raw);
	if (r) {
		rep->step = LEG_STEP_READ;
		rep->err = r;
	}
}

/*
 * In the child: nothing of the parent's but the answer pipe, on fd 3.
 * The standard streams go to /dev/null: a caller reading our output to
 * its end (a shell's $(...), udev) must not wait for a reader left behind,
 * and neither must anyone waiting on a descriptor or a lock we hold
 * (the flock of metro_lock() belongs to the open file, which a child's
 * copy would keep locked).
 */
static void __attribute__((noreturn)) child(const char *path, int wfd, probe_reader_fn *reader)
{
	struct probe_reply rep;
	const char *p = (const char *)&rep;
	size_t done = 0;
	int fd, nul;

	signal(SIGPIPE, SIG_DFL);
	fd = fcntl(wfd, F_DUPFD, 3);
	nul = open("/dev/null", O_RDWR);
	if (fd < 0 || nul < 0)
		_exit(1);
	dup2(nul, 0);
	dup2(nul, 1);
	dup2(nul, 2);
	if (fd != 3 && dup2(fd, 3) != 3)
		_exit(1);
	if (close_range(4, ~0U, 0)) {
		long max = sysconf(_SC_OPEN_MAX);

		for (fd = 4; fd < (max > 0 ? max : 1024); fd++)
			close(fd);
	}
	memset(&rep, 0, sizeof(rep));
	reader(path, &rep);
	while (done < sizeof(rep)) {
		ssize_t r = write(3, p + done, sizeof(rep) - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			_exit(1);
		done += (size_t)r;
	}
	_exit(0);
}

struct slot {
	struct sb_probe *p;
	pid_t pid;
	int fd;			/* read end of the answer pipe, -1 when free */
	size_t got;
	int64_t deadline;
	struct probe_reply rep;
};

static void fail_probe(struct sb_probe *p, enum leg_step step, int err)
{
	p->step = step;
	p->err = err;
}

static void start(struct slot *s, struct sb_probe *p, unsigned int timeout_ms,
		  probe_reader_fn *reader)
{
	int pfd[2];

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->p = p;
	if (pipe2(pfd, O_CLOEXEC)) {
		fail_probe(p, LEG_STEP_PROBE, -errno);
		return;
	}
	/* Nothing buffered may be written twice. */
	fflush(stdout);
	fflush(stderr);
	s->pid = fork();
	if (s->pid < 0) {
		fail_probe(p, LEG_STEP_PROBE, -errno);
		close(pfd[0]);
		close(pfd[1]);
		return;
	}
	if (s->pid == 0)
		child(p->path, pfd[1], reader);
	close(pfd[1]);
	s->fd = pfd[0];
	s->deadline = now_ms() + timeout_ms;
}

/* The answer is complete (or the child ended without one): decode it. */
static void finish(struct slot *s)
{
	struct sb_probe *p = s->p;
	struct probe_reply *rep = &s->rep;

	close(s->fd);
	s->fd = -1;
	/* It exits right after writing; if not yet, it is reaped later or by init. */
	waitpid(s->pid, NULL, WNOHANG);
	if (s->got < sizeof(*rep)) {
		fail_probe(p, LEG_STEP_PROBE, -EIO);
		return;
	}
	p->rdev = (dev_t)rep->rdev;
	p->sectors = rep->sectors;
	if (rep->err) {
		fail_probe(p, (enum leg_step)rep->step, rep->err < 0 ? rep->err : -EIO);
		return;
	}
	p->err = metro_sb_decode(&rep->raw, rep->sectors, &p->info, &p->why);
	if (p->err)
		p->step = LEG_STEP_DECODE;
}

void probe_sbs_with(struct sb_probe *p, unsigned int n, unsigned int timeout_ms,
		    probe_reader_fn *reader)
{
	struct slot slots[PROBE_PARALLEL];
	struct pollfd pfd[PROBE_PARALLEL];
	unsigned int idx[PROBE_PARALLEL];	/* the slot of each pfd */
	unsigned int next = 0, active = 0, i, k;

	for (i = 0; i < n; i++) {
		p[i].err = 0;
		p[i].step = LEG_STEP_NONE;
		p[i].why = NULL;
		p[i].rdev = 0;
		p[i].sectors = 0;
	}
	for (i = 0; i < PROBE_PARALLEL; i++)
		slots[i].fd = -1;
	for (;;) {
		int64_t now, wait = -1;

		for (i = 0; i < PROBE_PARALLEL && next < n; i++) {
			if (slots[i].fd >= 0)
				continue;
			start(&slots[i], &p[next++], timeout_ms, reader);
			if (slots[i].fd >= 0)
				active++;
		}
		if (!active)
			break;
		now = now_ms();
		for (i = 0, k = 0; i < PROBE_PARALLEL; i++) {
			struct slot *s = &slots[i];

			if (s->fd < 0)
				continue;
			if (now >= s->deadline) {
				/* Given up: left to end by itself (see the top of the file). */
				close(s->fd);
				s->fd = -1;
				fail_probe(s->p, LEG_STEP_TIMEOUT, -ETIMEDOUT);
				active--;
				continue;
			}
			if (wait < 0 || s->deadline - now < wait)
				wait = s->deadline - now;
			pfd[k].fd = s->fd;
			pfd[k].events = POLLIN;
			pfd[k].revents = 0;
			idx[k++] = i;
		}
		if (!k)
			continue;
		if (poll(pfd, k, (int)wait) < 0) {
			int e = -errno;

			if (e == -EINTR)
				continue;
			/* Cannot wait for them: each fails with poll's error. */
			for (i = 0; i < k; i++) {
				close(slots[idx[i]].fd);
				slots[idx[i]].fd = -1;
				fail_probe(slots[idx[i]].p, LEG_STEP_PROBE, e);
			}
			active = 0;
			continue;
		}
		for (i = 0; i < k; i++) {
			struct slot *s = &slots[idx[i]];
			ssize_t r;

			if (!pfd[i].revents)
				continue;
			r = read(s->fd, (char *)&s->rep + s->got, sizeof(s->rep) - s->got);
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r > 0)
				s->got += (size_t)r;
			if (r <= 0 || s->got == sizeof(s->rep)) {
				finish(s);
				active--;
			}
		}
	}
}

void probe_sbs(struct sb_probe *p, unsigned int n, unsigned int timeout_ms)
{
	probe_sbs_with(p, n, timeout_ms, read_sb_reply);
}

int probe_leg(const char *path, struct sb_probe *p, bool quiet)
{
	memset(p, 0, sizeof(*p));
	p->path = path;
	probe_sbs(p, 1, PROBE_TIMEOUT_MS);
	if (p->err && (!quiet || p->step == LEG_STEP_TIMEOUT))
		leg_report(p->path, p->step, p->err, p->why, PROBE_TIMEOUT_MS);
	return p->err;
}
