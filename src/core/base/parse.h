/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * parse.h — reading the values people write in kmem's settings: sizes
 * ("64G", "512M", "4096") and words. No C library, so that the
 * freestanding core can use it too.
 */
#ifndef KMEM_PARSE_H
#define KMEM_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "64G", "512M", "1T", "4096", "2k", "64GiB", "8MB": bytes. Returns false
 * (and leaves *out alone) for anything else, including a value that does
 * not fit in 64 bits. "0" is a valid size. */
bool kmem_parse_size(const char *text, uint64_t *out);

/* The two strings are equal. */
bool kmem_parse_same(const char *a, const char *b);

#endif /* KMEM_PARSE_H */
