/* SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later */
/*
 * What dm-metro/metro-format.h needs outside the kernel: fixed-width and
 * little-endian types, the kernel's byte order helpers and __packed.
 * Kept here so that the module's directory holds only kernel-style code.
 */
#ifndef METRO_FORMAT_USER_H
#define METRO_FORMAT_USER_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <errno.h>
#include <endian.h>
#include <linux/types.h>
#define cpu_to_le16(x) ((__le16)htole16(x))
#define cpu_to_le32(x) ((__le32)htole32(x))
#define cpu_to_le64(x) ((__le64)htole64(x))
#define le16_to_cpu(x) le16toh((__u16)(x))
#define le32_to_cpu(x) le32toh((__u32)(x))
#define le64_to_cpu(x) le64toh((__u64)(x))
#ifndef __packed
#define __packed __attribute__((__packed__))
#endif

#endif /* METRO_FORMAT_USER_H */
