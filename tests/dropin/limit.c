/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * limit.c — run with KMEM_LIMIT=64M: the program allocates 1 MiB blocks
 * until malloc returns NULL, checks that errno is ENOMEM and that it got
 * roughly what the limit allows, frees everything, and allocates again.
 * The point: past the limit the program sees NULL and handles it, instead
 * of the OOM killer stepping in.
 */
#include <errno.h>

#include "harness.h"

int main(void)
{
    static void *blocks[4096];
    int n = 0;
    errno = 0;
    while (n < 4096 && (blocks[n] = malloc(1 << 20)) != NULL) {
        memset(blocks[n], n, 1 << 20);
        n++;
    }
    CHECK(n < 4096, "no NULL after 4 GiB: the limit is not in force");
    CHECK(errno == ENOMEM, "errno %d after NULL", errno);
    CHECK(n >= 56 && n <= 64, "%d MiB granted under a 64 MiB limit", n);
    void *small = malloc(64 << 10);
    CHECK(small == NULL || n < 64, "a 64 KiB block past the limit");
    free(small);
    for (int i = 0; i < n; i++)
        free(blocks[i]);
    void *again = malloc(32 << 20);
    CHECK(again != NULL, "32 MiB after freeing everything");
    free(again);
    printf("granted %d MiB, then NULL with ENOMEM; recovered after freeing\n", n);
    return test_finish("limit");
}
