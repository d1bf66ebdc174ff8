/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dlopen_alloc.c — libraries loaded at run time allocate through the same
 * malloc: dlopen zlib (its deflate state is malloc'ed), compress and
 * uncompress with it, dlclose, repeat; and malloc_usable_size users that
 * write the whole usable size.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>

#include "harness.h"

typedef int (*compress2_fn)(unsigned char *, unsigned long *, const unsigned char *,
                            unsigned long, int);
typedef int (*uncompress_fn)(unsigned char *, unsigned long *, const unsigned char *,
                             unsigned long);

int main(void)
{
    enum { N = 1 << 20 };
    unsigned char *src = malloc(N), *packed = malloc(N + 1024), *back = malloc(N);
    for (size_t i = 0; i < N; i++)
        src[i] = (unsigned char)("kmem allocates"[i % 14] + (i >> 12));
    for (int round = 0; round < 20; round++) {
        void *z = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
        REQUIRE(z != NULL, "dlopen libz.so.1: %s", dlerror());
        compress2_fn compress2 = (compress2_fn)dlsym(z, "compress2");
        uncompress_fn uncompress = (uncompress_fn)dlsym(z, "uncompress");
        REQUIRE(compress2 != NULL && uncompress != NULL, "zlib symbols");
        unsigned long plen = N + 1024, blen = N;
        CHECK(compress2(packed, &plen, src, N, round % 10) == 0, "compress2");
        CHECK(uncompress(back, &blen, packed, plen) == 0 && blen == N, "uncompress");
        CHECK(memcmp(src, back, N) == 0, "round trip differs");
        dlclose(z);
    }
    /* Programs that use the whole usable size. */
    int ok = 1;
    for (size_t n = 1; n < 100000; n = n * 3 + 1) {
        unsigned char *p = malloc(n), *q = malloc(n);
        size_t up = malloc_usable_size(p), uq = malloc_usable_size(q);
        memset(p, 0x11, up);
        memset(q, 0x22, uq);
        for (size_t i = 0; i < up; i++)
            ok &= p[i] == 0x11;
        p = realloc(p, up);
        ok &= p != NULL && p[up - 1] == 0x11;
        free(p);
        free(q);
    }
    CHECK(ok, "usable size not usable");
    free(src);
    free(packed);
    free(back);
    printf("zlib loaded and unloaded 20 times; whole usable sizes written\n");
    return test_finish("dlopen_alloc");
}
