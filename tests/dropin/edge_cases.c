/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * edge_cases.c — the C library allocation interface at its edges. The
 * program prints one line per fact, in words that do not depend on the
 * allocator (NULL or not, errno, alignment kept, contents kept), and
 * tests/dropin/run.sh runs it on glibc and on kmem and requires the same
 * output. Facts every malloc must hold (alignment, usable size) are
 * printed too, so a difference shows which allocator broke them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *err_name(int e)
{
    switch (e) {
    case 0: return "0";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    default: return "other";
    }
}

/* Keep sizes opaque to the compiler so it neither folds nor warns. */
static size_t opaque(size_t v)
{
    volatile size_t x = v;
    return x;
}

static void say(const char *what, const void *p, int err)
{
    printf("%-44s %s errno=%s\n", what, p != NULL ? "ptr" : "NULL", err_name(err));
}

static int filled(const unsigned char *p, size_t n, unsigned char c)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != c)
            return 0;
    return 1;
}

static int aligned(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

int main(void)
{
    /* malloc */
    void *a = malloc(0), *b = malloc(0);
    printf("malloc(0) twice: %s, distinct: %s\n", a && b ? "ptrs" : "NULL",
           a != b ? "yes" : "no");
    free(a);
    free(b);
    errno = 0;
    a = malloc(opaque(SIZE_MAX));
    say("malloc(SIZE_MAX)", a, errno);
    errno = 0;
    a = malloc(opaque((size_t)PTRDIFF_MAX + 1));
    say("malloc(PTRDIFF_MAX+1)", a, errno);
    errno = 0;
    a = malloc(opaque((size_t)PTRDIFF_MAX));
    say("malloc(PTRDIFF_MAX)", a, errno);

    int misaligned = 0;
    for (size_t n = 1; n <= 70000; n += (n < 2048 ? 1 : 997)) {
        void *p = malloc(n);
        if (!aligned(p, 16))
            misaligned++;
        size_t u = malloc_usable_size(p);
        if (u < n)
            misaligned++;
        memset(p, 0xa5, u); /* the whole usable size is the caller's */
        free(p);
    }
    printf("malloc 1..70000: 16-aligned with usable >= size: %s\n", misaligned ? "no" : "yes");

    /* The whole usable size survives among neighbours. */
    enum { N = 64 };
    unsigned char *blk[N];
    size_t use[N];
    for (int i = 0; i < N; i++) {
        blk[i] = malloc(opaque(17 + (size_t)i * 37));
        use[i] = malloc_usable_size(blk[i]);
        memset(blk[i], i, use[i]);
    }
    int kept = 1;
    for (int i = 0; i < N; i++)
        kept &= filled(blk[i], use[i], (unsigned char)i);
    printf("usable bytes of 64 neighbours kept: %s\n", kept ? "yes" : "no");
    for (int i = 0; i < N; i++)
        free(blk[i]);
    printf("malloc_usable_size(NULL): %zu\n", malloc_usable_size(NULL));

    /* calloc */
    void *dirty = malloc(8000);
    memset(dirty, 0xff, 8000);
    free(dirty);
    unsigned char *z = calloc(1000, 8);
    printf("calloc(1000, 8) zeroed: %s\n", z && filled(z, 8000, 0) ? "yes" : "no");
    free(z);
    z = calloc(1, opaque(3 << 20));
    printf("calloc(1, 3 MiB) zeroed: %s\n", z && filled(z, 3 << 20, 0) ? "yes" : "no");
    free(z);
    errno = 0;
    a = calloc(opaque(SIZE_MAX / 2), 3);
    say("calloc(SIZE_MAX/2, 3)", a, errno);
    errno = 0;
    a = calloc(opaque(1), SIZE_MAX);
    say("calloc(1, SIZE_MAX)", a, errno);
    a = calloc(0, 5);
    say("calloc(0, 5)", a, 0);
    free(a);
    a = calloc(5, 0);
    say("calloc(5, 0)", a, 0);
    free(a);

    /* realloc */
    char *r = malloc(10);
    memcpy(r, "0123456789", 10);
    size_t sizes[] = { 100, 5000, 100000, 50, 3 << 20, 9000, 8, 2 << 20 };
    int survived = 1;
    size_t have = 10;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        r = realloc(r, sizes[i]);
        /* What survives: the old contents up to the smaller size. */
        size_t keep = have < sizes[i] ? have : sizes[i];
        survived &= r != NULL && memcmp(r, "0123456789", keep < 10 ? keep : 10) == 0;
        have = keep < 10 ? keep : 10;
        if (sizes[i] >= 10) {
            memcpy(r, "0123456789", 10);
            have = 10;
        }
    }
    printf("realloc up and down keeps contents: %s\n", survived ? "yes" : "no");
    memcpy(r, "0123456789", 10);
    errno = 0;
    char *fail = realloc(r, opaque(SIZE_MAX));
    say("realloc(p, SIZE_MAX)", fail, errno);
    printf("  old block intact: %s\n", memcmp(r, "0123456789", 10) == 0 ? "yes" : "no");
    errno = 0;
    fail = realloc(r, opaque((size_t)PTRDIFF_MAX + 1));
    say("realloc(p, PTRDIFF_MAX+1)", fail, errno);
    errno = 0;
    fail = realloc(r, 0);
    say("realloc(p, 0)", fail, errno);
    a = realloc(NULL, 0);
    say("realloc(NULL, 0)", a, 0);
    free(a);
    a = realloc(NULL, 100);
    say("realloc(NULL, 100)", a, 0);

    /* reallocarray */
    memset(a, 7, 100);
    errno = 0;
    void *ra = reallocarray(a, opaque(SIZE_MAX / 2), 4);
    say("reallocarray(p, SIZE_MAX/2, 4)", ra, errno);
    printf("  old block intact: %s\n", filled(a, 100, 7) ? "yes" : "no");
    ra = reallocarray(a, 50, 4);
    printf("reallocarray(p, 50, 4) keeps contents: %s\n", ra && filled(ra, 100, 7) ? "yes" : "no");
    free(ra);
    ra = reallocarray(NULL, 4, 8);
    say("reallocarray(NULL, 4, 8)", ra, 0);
    free(ra);

    /* posix_memalign */
    size_t bad_align[] = { 0, 1, 2, 3, 4, 12, 24, 48, 100 };
    for (size_t i = 0; i < sizeof bad_align / sizeof bad_align[0]; i++) {
        void *out = (void *)0x1234;
        int rc = posix_memalign(&out, bad_align[i], 64);
        printf("posix_memalign(align %zu): %s, output %s\n", bad_align[i], err_name(rc),
               out == (void *)0x1234 ? "untouched" : "written");
        if (rc == 0)
            free(out);
    }
    int all_ok = 1;
    for (size_t al = sizeof(void *); al <= (4u << 20); al *= 2) {
        size_t n_sizes[] = { 1, 100, al, 3 * al + 5, 70000 };
        for (size_t k = 0; k < 5; k++) {
            void *out = NULL;
            int rc = posix_memalign(&out, al, n_sizes[k]);
            all_ok &= rc == 0 && out != NULL && aligned(out, al) &&
                      malloc_usable_size(out) >= n_sizes[k];
            if (out != NULL)
                memset(out, 1, n_sizes[k]);
            void *moved = realloc(out, n_sizes[k] + 1000);
            all_ok &= moved != NULL;
            free(moved);
        }
    }
    printf("posix_memalign 8 .. 4 MiB, sizes 1 .. 3*align+5: aligned: %s\n", all_ok ? "yes" : "no");
    void *out = (void *)0x1234;
    int rc = posix_memalign(&out, 64, opaque(SIZE_MAX - 10));
    printf("posix_memalign(64, SIZE_MAX-10): %s, output %s\n", err_name(rc),
           out == (void *)0x1234 ? "untouched" : "written");

    /* aligned_alloc, memalign, valloc, pvalloc */
    a = aligned_alloc(64, 100);
    printf("aligned_alloc(64, 100): %s\n", a && aligned(a, 64) ? "aligned" : "no");
    free(a);
    a = aligned_alloc(4096, 10000);
    printf("aligned_alloc(4096, 10000): %s\n", a && aligned(a, 4096) ? "aligned" : "no");
    free(a);
    a = aligned_alloc(1 << 20, 5);
    printf("aligned_alloc(1 MiB, 5): %s\n", a && aligned(a, 1 << 20) ? "aligned" : "no");
    free(a);
    a = aligned_alloc(opaque(0), 10);
    say("aligned_alloc(0, 10)", a, 0);
    free(a);
    a = memalign(24, 100);
    printf("memalign(24, 100): %s\n", a && aligned(a, 32) ? "aligned to 32" : "no");
    free(a);
    a = memalign(opaque(3000), 100);
    printf("memalign(3000, 100): %s\n", a && aligned(a, 4096) ? "aligned to 4096" : "no");
    free(a);
    errno = 0;
    a = memalign(opaque(SIZE_MAX / 2 + 2), 1);
    say("memalign(SIZE_MAX/2+2, 1)", a, errno);
    errno = 0;
    a = memalign(64, opaque(SIZE_MAX - 100));
    say("memalign(64, SIZE_MAX-100)", a, errno);
    long page = sysconf(_SC_PAGESIZE);
    a = valloc(100);
    printf("valloc(100): %s\n", a && aligned(a, (size_t)page) ? "page aligned" : "no");
    free(a);
    a = pvalloc(100);
    printf("pvalloc(100): %s, usable >= page: %s\n", a && aligned(a, (size_t)page) ? "page aligned" : "no",
           a && malloc_usable_size(a) >= (size_t)page ? "yes" : "no");
    free(a);
    errno = 0;
    a = pvalloc(opaque(SIZE_MAX - 10));
    say("pvalloc(SIZE_MAX-10)", a, errno);

    /* free keeps errno */
    errno = 12345;
    free(NULL);
    printf("free(NULL) keeps errno: %s\n", errno == 12345 ? "yes" : "no");
    int errno_kept = 1;
    for (int i = 0; i < 2000; i++) {
        void *p = malloc((size_t)(i % 7 == 0 ? (1 << 20) + i : 100 + i));
        errno = 12345;
        free(p);
        errno_kept &= errno == 12345;
    }
    printf("free(p) keeps errno: %s\n", errno_kept ? "yes" : "no");

    /* mallopt: known parameters accepted, unknown ones refused */
    printf("mallopt(M_ARENA_MAX, 2): %d\n", mallopt(M_ARENA_MAX, 2));
    printf("mallopt(M_MMAP_THRESHOLD, 1 MiB): %d\n", mallopt(M_MMAP_THRESHOLD, 1 << 20));
    printf("mallopt(12345, 1): %d\n", mallopt(12345, 1));

    /* mallinfo2 sees a 2 MiB block somewhere */
    void *big = malloc(2 << 20);
    memset(big, 3, 2 << 20);
    struct mallinfo2 mi = mallinfo2();
    printf("mallinfo2 counts a 2 MiB block: %s\n",
           mi.uordblks + mi.hblkhd >= (2u << 20) ? "yes" : "no");
    free(big);
    malloc_trim(0);
    printf("done\n");
    return 0;
}
