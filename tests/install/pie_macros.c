/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pie_macros.c — a position-independent program linked with -lkmem that
 * inlines the macros. The macros read kmem's fast-path data, so the
 * program gets a copy of it (a copy relocation): the library must keep
 * both copies alike, or its own checks would disagree with the macros'.
 *
 *   pie_macros ok       allocate and free through macros and functions
 *                       mixed, many times; exit 0
 *   pie_macros double   free a block with KMEM_FREE, then with kmem_free:
 *                       kmem must report the double free (abort)
 */
#include <kmem.h>
#include <stdio.h>
#include <string.h>

KMEM_TYPE_DEFINE(M_PIE, "pie", "copy-relocation test");

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "ok";
    if (strcmp(mode, "double") == 0) {
        void *p;
        KMEM_MALLOC(p, void *, 64, M_PIE, KM_WAITOK);
        KMEM_FREE(p, M_PIE);
        kmem_free(p, M_PIE); /* must abort: already free */
        printf("the second free went through\n");
        return 1;
    }
    void *keep[512];
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 512; i++) {
            if (i % 2)
                KMEM_MALLOC(keep[i], void *, 64, M_PIE, KM_WAITOK);
            else
                keep[i] = kmem_malloc(64, M_PIE, KM_WAITOK);
            memset(keep[i], i & 0xff, 64);
        }
        for (int i = 0; i < 512; i++) {
            if (i % 3)
                KMEM_FREE(keep[i], M_PIE);
            else
                kmem_free(keep[i], M_PIE);
        }
    }
    struct kmem_type_stats ts;
    kmem_type_stats(M_PIE, &ts);
    if (ts.inuse != 0 || kmem_check() != 0) {
        printf("figures off: %llu in use\n", (unsigned long long)ts.inuse);
        return 1;
    }
    printf("pie: macros and functions agree\n");
    return 0;
}
