/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bump.c — libbump.so, a measuring baseline, not an allocator: bench/run.py
 * LD_PRELOADs it under the fastpath workload's callgrind count, and what it
 * counts there (the loop, the PLT calls, a pointer bump and a return) is
 * taken off every allocator's figure to give the allocator's own
 * instructions per malloc/free pair.
 *
 * malloc bumps a thread-local pointer through a chunk (initial-exec TLS);
 * chunks are carved by a compare-and-swap from one region reserved with
 * mmap(MAP_NORESERVE) at first use. free does nothing, so memory is never
 * reused: a block is fresh, zero-filled mmap memory (calloc need not clear
 * it).
 * Every block is 16-byte aligned, and at least 16 bytes apart from the next
 * (so malloc(0) is unique). When the region is used up malloc returns NULL.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ALIGN   16u
#define CHUNK   ((size_t)1 << 20) /* what a thread takes from the region at once */
#define REGION  ((size_t)64 << 30) /* reserved; halved down to 1 GiB if refused */

#define EXPORT  __attribute__((visibility("default")))
#define LIKELY(x) __builtin_expect(!!(x), 1)

/* The thread's chunk: [cur, end), end - cur a multiple of ALIGN. */
static __thread struct {
    char *cur, *end;
} tl __attribute__((tls_model("initial-exec")));

static _Atomic(char *) region;     /* base, NULL until first use */
static size_t region_size;         /* written before region is published */
static _Atomic size_t region_used; /* bytes handed out as chunks or large blocks */

static char *region_base(void)
{
    static atomic_flag lock = ATOMIC_FLAG_INIT; /* first use only */
    char *b = atomic_load_explicit(&region, memory_order_acquire);
    if (LIKELY(b != NULL))
        return b;
    while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire))
        ;
    b = atomic_load_explicit(&region, memory_order_relaxed);
    for (size_t size = REGION; b == NULL && size >= ((size_t)1 << 30); size /= 2) {
        void *m = mmap(NULL, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m != MAP_FAILED) {
            region_size = size;
            b = m;
            atomic_store_explicit(&region, b, memory_order_release);
        }
    }
    atomic_flag_clear_explicit(&lock, memory_order_release);
    return b;
}

/* n bytes (a multiple of ALIGN) from the region, or NULL. */
static char *take(size_t n)
{
    char *b = region_base();
    if (b == NULL)
        return NULL;
    /* A CAS, not an add: a request that does not fit must leave the rest. */
    size_t off = atomic_load_explicit(&region_used, memory_order_relaxed);
    do {
        if (n > region_size - off)
            return NULL;
    } while (!atomic_compare_exchange_weak_explicit(&region_used, &off, off + n,
                                                    memory_order_relaxed,
                                                    memory_order_relaxed));
    return b + off;
}

/* n bytes aligned to a (a power of two >= ALIGN). Large requests get a piece
 * of the region of their own; small ones a new chunk when this one is full. */
static void *bump_aligned(size_t a, size_t n)
{
    if (n > ((size_t)1 << 62))
        goto nomem;
    size_t r = (n + ALIGN) & ~(size_t)(ALIGN - 1);
    uintptr_t cur = (uintptr_t)tl.cur, end = (uintptr_t)tl.end;
    uintptr_t p = (cur + (a - 1)) & ~(uintptr_t)(a - 1);
    if (cur != 0 && p >= cur && p <= end && r <= end - p) {
        tl.cur = (char *)(p + r);
        return (void *)p;
    }
    if (r + a > CHUNK / 4) {
        char *q = take(r + a - ALIGN);
        if (q == NULL)
            goto nomem;
        return (void *)(((uintptr_t)q + (a - 1)) & ~(uintptr_t)(a - 1));
    }
    char *c = take(CHUNK);
    if (c == NULL)
        goto nomem;
    p = ((uintptr_t)c + (a - 1)) & ~(uintptr_t)(a - 1);
    tl.cur = (char *)(p + r);
    tl.end = c + CHUNK;
    return (void *)p;
nomem:
    errno = ENOMEM;
    return NULL;
}

static __attribute__((noinline)) void *malloc_slow(size_t n)
{
    return bump_aligned(ALIGN, n);
}

EXPORT void *malloc(size_t n)
{
    char *p = tl.cur;
    /* end - p is a multiple of 16, so n < end - p makes the rounded size fit. */
    if (LIKELY(n < (size_t)(tl.end - p))) {
        tl.cur = p + ((n + ALIGN) & ~(size_t)(ALIGN - 1));
        return p;
    }
    return malloc_slow(n);
}

EXPORT void free(void *p)
{
    (void)p;
}

EXPORT void *calloc(size_t k, size_t n)
{
    size_t t;
    if (__builtin_mul_overflow(k, n, &t)) {
        errno = ENOMEM;
        return NULL;
    }
    return malloc(t); /* never-used memory: already zero */
}

/* The bytes from p to the region's end: all of them are mapped, which is
 * what makes realloc's copy safe without knowing the old size. */
EXPORT size_t malloc_usable_size(void *p)
{
    char *b = atomic_load_explicit(&region, memory_order_acquire);
    if (p == NULL || b == NULL || (char *)p < b || (char *)p >= b + region_size)
        return 0;
    return (size_t)(b + region_size - (char *)p);
}

EXPORT void *realloc(void *p, size_t n)
{
    void *q = malloc(n);
    if (p == NULL || q == NULL)
        return q;
    size_t avail = malloc_usable_size(p);
    /* Outside the region (not ours): copy n bytes and hope. memmove: the
     * span copied may run past the old block into q. */
    memmove(q, p, avail != 0 && avail < n ? avail : n);
    return q;
}

EXPORT int posix_memalign(void **out, size_t a, size_t n)
{
    if (a < sizeof(void *) || (a & (a - 1)) != 0)
        return EINVAL;
    void *p = bump_aligned(a < ALIGN ? ALIGN : a, n);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

EXPORT void *aligned_alloc(size_t a, size_t n)
{
    if (a == 0 || (a & (a - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    return bump_aligned(a < ALIGN ? ALIGN : a, n);
}

EXPORT void *memalign(size_t a, size_t n)
{
    return aligned_alloc(a, n);
}

EXPORT void *valloc(size_t n)
{
    return bump_aligned((size_t)sysconf(_SC_PAGESIZE), n);
}

EXPORT void *pvalloc(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    return bump_aligned(pg, (n + pg - 1) & ~(pg - 1));
}
