// SPDX-License-Identifier: GPL-2.0-only
/*
 * odd_reads DEV OFFSET: O_DIRECT reads whose buffers and device offsets do
 * not line up with pages, checked against a pattern written first.  Under
 * an I/O deadline dm-metro bounces reads through pages laid out like the
 * reader's segments; these shapes exercise that layout and the copy back:
 * buffers straddling pages, segments of 512 bytes at odd page offsets,
 * more segments than one bio may hold (the read is split), a 1 MiB read at
 * a device offset that is not page aligned.
 *
 * Writes 4 MiB at OFFSET (bytes, a multiple of 4096), then runs the reads.
 * Prints one line per shape; exits 0 when every byte read matched, 1 on a
 * mismatch, 2 on a usage or I/O error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define AREA		(4u << 20)
#define PAGE		4096u
#define NR_SMALL	300		/* segments in one readv: over BIO_MAX_VECS */

static unsigned char *pattern;

static void fill_pattern(void)
{
	uint32_t x = 0x9e3779b9;
	size_t i;

	for (i = 0; i < AREA; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		pattern[i] = x >> 24;
	}
}

static void *alloc_aligned(size_t len)
{
	void *p;

	if (posix_memalign(&p, PAGE, len)) {
		fprintf(stderr, "odd_reads: out of memory\n");
		exit(2);
	}
	memset(p, 0xee, len);
	return p;
}

/* Compare @len bytes read into @buf with the pattern at area offset @at. */
static int check(const char *what, const unsigned char *buf, size_t at, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != pattern[at + i]) {
			printf("MISMATCH %s: byte %zu (area offset %zu): read %#x, wrote %#x\n",
			       what, i, at + i, buf[i], pattern[at + i]);
			return 1;
		}
	return 0;
}

static void io_fail(const char *what, ssize_t got, size_t want)
{
	fprintf(stderr, "odd_reads: %s: %zd of %zu bytes: %s\n", what, got, want,
		got < 0 ? strerror(errno) : "short");
	exit(2);
}

int main(int argc, char **argv)
{
	struct iovec iov[NR_SMALL];
	unsigned char *buf, *p;
	size_t at, len, i;
	off_t base;
	ssize_t n;
	int fd, bad = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: odd_reads DEV OFFSET\n");
		return 2;
	}
	base = strtoll(argv[2], NULL, 0);
	if (base < 0 || base % PAGE) {
		fprintf(stderr, "odd_reads: OFFSET must be a multiple of %u\n", PAGE);
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "odd_reads: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	pattern = alloc_aligned(AREA);
	fill_pattern();
	n = pwrite(fd, pattern, AREA, base);
	if (n != (ssize_t)AREA)
		io_fail("write", n, AREA);
	if (fsync(fd))
		io_fail("fsync", -1, 0);
	buf = alloc_aligned(AREA + 2 * PAGE);

	/* 1. One buffer 512 bytes into a page, 64 KiB + 512, device offset +512. */
	at = 512, len = (64u << 10) + 512;
	n = pread(fd, buf + 512, len, base + at);
	if (n != (ssize_t)len)
		io_fail("straddling read", n, len);
	bad |= check("straddling read", buf + 512, at, len);
	printf("straddling read: %zu bytes at buffer offset 512\n", len);

	/* 2. 300 segments of 512 bytes, each at a different page offset. */
	for (i = 0; i < NR_SMALL; i++) {
		iov[i].iov_base = buf + i * PAGE + (i % 8) * 512;
		iov[i].iov_len = 512;
	}
	at = 8192;
	n = preadv(fd, iov, NR_SMALL, base + at);
	if (n != NR_SMALL * 512)
		io_fail("small segments", n, NR_SMALL * 512);
	for (i = 0; i < NR_SMALL; i++)
		bad |= check("small segments", iov[i].iov_base, at + i * 512, 512);
	printf("small segments: %d of 512 bytes at odd page offsets\n", NR_SMALL);

	/* 3. Mixed: 1536 bytes across a page boundary, a page, 3584 bytes. */
	memset(buf, 0xee, 5 * PAGE);
	iov[0].iov_base = buf + 3584;
	iov[0].iov_len = 1536;
	iov[1].iov_base = buf + 2 * PAGE;
	iov[1].iov_len = PAGE;
	iov[2].iov_base = buf + 3 * PAGE + 512;
	iov[2].iov_len = 3584;
	at = 3 * PAGE + 1024;
	n = preadv(fd, iov, 3, base + at);
	len = 1536 + PAGE + 3584;
	if (n != (ssize_t)len)
		io_fail("mixed segments", n, len);
	p = buf + 8 * PAGE;
	memcpy(p, iov[0].iov_base, 1536);
	memcpy(p + 1536, iov[1].iov_base, PAGE);
	memcpy(p + 1536 + PAGE, iov[2].iov_base, 3584);
	bad |= check("mixed segments", p, at, len);
	printf("mixed segments: %zu bytes in 3 segments\n", len);

	/* 4. 1 MiB, page-aligned buffer, device offset not page aligned. */
	at = (1u << 20) + 3584, len = 1u << 20;
	n = pread(fd, buf, len, base + at);
	if (n != (ssize_t)len)
		io_fail("unaligned 1 MiB read", n, len);
	bad |= check("unaligned 1 MiB read", buf, at, len);
	printf("unaligned 1 MiB read: device offset +%zu\n", at);

	close(fd);
	printf("%s\n", bad ? "FAILED" : "all reads matched");
	return bad;
}
