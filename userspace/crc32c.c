// SPDX-License-Identifier: GPL-2.0-only
/*
 * CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, with the kernel's
 * crc32c() convention: @seed is the running value, no final inversion.
 * metro_crc32c(~0, "123456789", 9) == 0x1CF96D7C (== ~0xE3069283).
 */
#include <pthread.h>

#include "metroctl.h"

static __u32 table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
	__u32 i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ (0x82F63B78U & (0U - (c & 1)));
		table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			table[j][i] = (table[j - 1][i] >> 8) ^ table[0][table[j - 1][i] & 0xff];
}

__u32 metro_crc32c(__u32 crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	pthread_once(&table_once, table_init);
	/* Slicing by 8, byte order independent: the words are built by hand. */
	while (len >= 8) {
		__u32 lo = crc ^ ((__u32)p[0] | (__u32)p[1] << 8 |
				  (__u32)p[2] << 16 | (__u32)p[3] << 24);
		__u32 hi = (__u32)p[4] | (__u32)p[5] << 8 |
			   (__u32)p[6] << 16 | (__u32)p[7] << 24;

		crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^
		      table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
		      table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
		      table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
	return crc;
}
