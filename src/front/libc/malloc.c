/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * malloc.c — the C library's allocation interface on kmem, for
 * LD_PRELOAD=libkmem.so or linking -lkmem: malloc, free, calloc, realloc,
 * reallocarray, posix_memalign, aligned_alloc, memalign, valloc, pvalloc,
 * malloc_usable_size, free_sized, free_aligned_sized, malloc_trim,
 * mallinfo/mallinfo2, malloc_stats and mallopt.
 *
 * Everything is accounted under one type, "malloc". Edge cases follow
 * glibc 2.36: malloc(0) gives a unique pointer; sizes that cannot be met
 * give NULL with errno ENOMEM; realloc(p, 0) frees p and returns NULL;
 * memalign and aligned_alloc round an alignment that is not a power of
 * two up to one; free never changes errno. A pointer kmem did not hand
 * out, or one freed twice, ends the program with a one-line message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/alloc/alloc.h"
#include "core/alloc/init.h"
#include "core/alloc/reclaim.h"
#include "core/alloc/stats.h"
#include "core/type/type.h"
#include "front/libc/report.h"

#define LIBC_API __attribute__((visibility("default")))

/* Everything here is of the libc type (core/type/type.h): its fast paths
 * count in the bins' own counters, without reading the type. */
#define M_MALLOC (&kmem_type_libc)

/* ---- allocation ------------------------------------------------------------ */

/* The C library's conventions on a failure: NULL and errno ENOMEM. */
static void *or_enomem(void *p)
{
    if (p == NULL)
        errno = ENOMEM;
    return p;
}

static __attribute__((noinline)) void *malloc_slow(size_t size, int flags, const char *who)
{
    return or_enomem(kmem_alloc_slow(size, M_MALLOC, flags, who));
}

LIBC_API void *malloc(size_t size)
{
    void *p;
    if (kmem_cache_pop_as(kmem_request_bin(size), size, M_MALLOC, 1, &p))
        return p;
    return malloc_slow(size, KM_NOWAIT, "malloc");
}

LIBC_API void free(void *ptr)
{
    if (!kmem_cache_push_as(ptr, M_MALLOC, 1))
        kmem_dealloc_slow(ptr, M_MALLOC, "free");
}

LIBC_API void *calloc(size_t n, size_t size)
{
    size_t bytes;
    void *p;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    if (kmem_cache_pop_as(kmem_request_bin(bytes), bytes, M_MALLOC, 1, &p))
        return __builtin_memset(p, 0, bytes);
    return malloc_slow(bytes, KM_NOWAIT | KM_ZERO, "calloc");
}

LIBC_API void *realloc(void *ptr, size_t size)
{
    if (ptr == NULL)
        return malloc(size);
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    return or_enomem(kmem_resize(ptr, size, M_MALLOC, KM_NOWAIT, "realloc"));
}

LIBC_API void *reallocarray(void *ptr, size_t n, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(ptr, bytes);
}

/* ---- aligned allocation ---------------------------------------------------- */

/* glibc's memalign: alignments up to 16 are malloc's own; others that are
 * not a power of two are rounded up to one; beyond SIZE_MAX/2+1 none
 * exists (EINVAL). */
static void *memalign_like(size_t align, size_t size, const char *who)
{
    if (align > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    if (align > KMEM_MINALLOC && (align & (align - 1))) {
        size_t a = 2 * KMEM_MINALLOC;
        while (a < align)
            a <<= 1;
        align = a;
    }
    return or_enomem(kmem_alloc_aligned(size, align, M_MALLOC, KM_NOWAIT, who));
}

LIBC_API int posix_memalign(void **out, size_t align, size_t size)
{
    if (align % sizeof(void *) != 0 || (align & (align - 1)) != 0 || align == 0)
        return EINVAL;
    int saved = errno;
    void *p = kmem_alloc_aligned(size, align, M_MALLOC, KM_NOWAIT, "posix_memalign");
    errno = saved; /* untouched, as POSIX asks */
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

LIBC_API void *memalign(size_t align, size_t size)
{
    return memalign_like(align, size, "memalign");
}

/* As in glibc 2.36, aligned_alloc is memalign: any size, and an alignment
 * that is not a power of two rounded up. */
LIBC_API void *aligned_alloc(size_t align, size_t size)
{
    return memalign_like(align, size, "aligned_alloc");
}

LIBC_API void *valloc(size_t size)
{
    return memalign_like(KMEM_PAGE_SIZE, size, "valloc");
}

LIBC_API void *pvalloc(size_t size)
{
    size_t rounded;
    if (__builtin_add_overflow(size, KMEM_PAGE_SIZE - 1, &rounded)) {
        errno = ENOMEM;
        return NULL;
    }
    return memalign_like(KMEM_PAGE_SIZE, rounded & ~(KMEM_PAGE_SIZE - 1), "pvalloc");
}

/* ---- sizes ------------------------------------------------------------------- */

LIBC_API size_t malloc_usable_size(void *ptr)
{
    return kmem_block_usable(ptr, M_MALLOC, "malloc_usable_size");
}

/* C23: the size (and alignment) the block was requested with; kmem needs
 * neither, and frees as free() does. glibc 2.36's headers do not declare
 * them yet. */
void free_sized(void *ptr, size_t size);
void free_aligned_sized(void *ptr, size_t align, size_t size);

LIBC_API void free_sized(void *ptr, size_t size)
{
    (void)size;
    free(ptr);
}

LIBC_API void free_aligned_sized(void *ptr, size_t align, size_t size)
{
    (void)align;
    (void)size;
    free(ptr);
}

/* ---- the rest of glibc's interface ----------------------------------------------- */

LIBC_API int malloc_trim(size_t pad)
{
    (void)pad;
    return kmem_reclaim_all() != 0;
}

LIBC_API struct mallinfo2 mallinfo2(void)
{
    struct mallinfo2 mi = { 0 };
    struct kmem_arena_stats as;
    if (!kmem_ensure_init())
        return mi;
    kmem_collect_arena(&as);
    mi.arena = as.slab_bytes + as.dirty_free;      /* held for small pieces, and kept */
    mi.ordblks = 0;
    mi.hblks = as.large_blocks;                    /* large blocks: whole pages */
    mi.hblkhd = as.large_inuse;
    mi.uordblks = as.small_inuse + as.large_inuse; /* in use */
    mi.fordblks = as.slab_bytes - as.small_inuse + as.dirty_free; /* free, held */
    mi.keepcost = as.dirty_free;
    mi.usmblks = 0;
    return mi;
}

static int clamp_int(size_t v)
{
    return v > (size_t)INT32_MAX ? INT32_MAX : (int)v;
}

LIBC_API struct mallinfo mallinfo(void)
{
    struct mallinfo2 m2 = mallinfo2();
    struct mallinfo mi = { 0 };
    mi.arena = clamp_int(m2.arena);
    mi.hblks = clamp_int(m2.hblks);
    mi.hblkhd = clamp_int(m2.hblkhd);
    mi.uordblks = clamp_int(m2.uordblks);
    mi.fordblks = clamp_int(m2.fordblks);
    mi.keepcost = clamp_int(m2.keepcost);
    return mi;
}

LIBC_API void malloc_stats(void)
{
    kmem_report_write(2, 0);
}

/* glibc's tuning parameters have no meaning here. As glibc 2.36 does,
 * every parameter is accepted (1), except M_MXFAST beyond its range. */
LIBC_API int mallopt(int param, int value)
{
    if (param == M_MXFAST && (value < 0 || value > 80 * (int)sizeof(size_t) / 4))
        return 0;
    return 1;
}
