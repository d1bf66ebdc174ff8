/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libc.c — the three functions of a C library that the freestanding kmem
 * core needs (memcpy, memset, memmove), for a machine that has no C
 * library. Byte loops, a word at a time when both ends allow it; compiled
 * with -fno-builtin so that the compiler does not turn them into calls to
 * themselves.
 */
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);

#define WORD sizeof(uint64_t)

/* Low addresses first: also right for an overlap with dst below src. */
static void copy_forward(unsigned char *d, const unsigned char *s, size_t n)
{
    if ((((uintptr_t)d | (uintptr_t)s) & (WORD - 1)) == 0) {
        for (; n >= WORD; n -= WORD, d += WORD, s += WORD)
            *(uint64_t *)(void *)d = *(const uint64_t *)(const void *)s;
    }
    while (n-- > 0)
        *d++ = *s++;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    copy_forward(dst, src, n);
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    uint64_t w = (unsigned char)c * 0x0101010101010101ull;
    while (n > 0 && ((uintptr_t)d & (WORD - 1)) != 0) {
        *d++ = (unsigned char)c;
        n--;
    }
    for (; n >= WORD; n -= WORD, d += WORD)
        *(uint64_t *)(void *)d = w;
    while (n-- > 0)
        *d++ = (unsigned char)c;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d == s || n == 0)
        return dst;
    if (d < s || d >= s + n) {
        copy_forward(d, s, n);
        return dst;
    }
    while (n-- > 0)
        d[n] = s[n];
    return dst;
}
