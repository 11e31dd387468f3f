// SPDX-License-Identifier: GPL-2.0-only
/*
 * late_read: do the reader's buffers stay the reader's once a read has
 * completed?  For leg_stall.sh: one leg of a metro volume, the one reads go
 * to first, is stalled; a read sent to it is abandoned at the I/O deadline
 * and retried on the other leg (which detaches the stalled one).  When the stalled leg later completes them,
 * nothing may land in the memory those reads were given.
 *
 *   late_read DEV OFFSET COUNT SLOW_MS GO_FILE
 *
 * Reads 4 KiB at OFFSET (bytes) COUNT times with O_DIRECT, each into a
 * buffer of its own, and fills each buffer with a marker as soon as its
 * read returns.  A read taking at least SLOW_MS went to the stalled leg
 * first.  Prints "READY", waits (at most 120 s) for GO_FILE to exist (the
 * caller releases the stalled leg first), and checks that every buffer
 * still holds the marker.
 *
 * Exit status: 0 buffers intact and at least one slow read, 1 a buffer was
 * overwritten, 2 no read was slow (the check proved nothing), 3 error.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define BLOCK	4096
#define MARKER	0xa5

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	unsigned char *bufs;
	long count, slow_ms, i, j, slow = 0, bad = 0;
	char *end;
	off_t off;
	int fd;

	if (argc != 6) {
		fprintf(stderr, "usage: late_read DEV OFFSET COUNT SLOW_MS GO_FILE\n");
		return 3;
	}
	off = strtoll(argv[2], &end, 10);
	if (*end || off < 0 || off % BLOCK) {
		fprintf(stderr, "late_read: bad offset %s\n", argv[2]);
		return 3;
	}
	count = strtol(argv[3], &end, 10);
	if (*end || count < 1 || count > 1024) {
		fprintf(stderr, "late_read: bad count %s (1-1024)\n", argv[3]);
		return 3;
	}
	slow_ms = strtol(argv[4], &end, 10);
	if (*end || slow_ms < 1) {
		fprintf(stderr, "late_read: bad SLOW_MS %s\n", argv[4]);
		return 3;
	}
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd < 0) {
		perror(argv[1]);
		return 3;
	}
	/* One page per read, kept mapped until the end. */
	bufs = mmap(NULL, count * BLOCK, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (bufs == MAP_FAILED) {
		perror("mmap");
		return 3;
	}
	for (i = 0; i < count; i++) {
		unsigned char *b = bufs + i * BLOCK;
		double t0 = now_ms();

		if (pread(fd, b, BLOCK, off) != BLOCK) {
			perror("pread");
			return 3;
		}
		if (now_ms() - t0 >= slow_ms)
			slow++;
		memset(b, MARKER, BLOCK);
	}
	printf("READY %ld reads, %ld slow\n", count, slow);
	fflush(stdout);
	for (i = 0; i < 1200 && access(argv[5], F_OK); i++)
		usleep(100000);
	for (i = 0; i < count; i++) {
		unsigned char *b = bufs + i * BLOCK;

		for (j = 0; j < BLOCK && b[j] == MARKER; j++)
			;
		if (j < BLOCK) {
			printf("buffer %ld overwritten at byte %ld after its read completed\n",
			       i, j);
			bad++;
		}
	}
	if (bad)
		return 1;
	if (!slow) {
		printf("no read was slow: none went to the stalled leg\n");
		return 2;
	}
	printf("ok: %ld buffers intact after the late completions\n", count);
	return 0;
}
