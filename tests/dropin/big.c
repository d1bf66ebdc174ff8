/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * big.c — large amounts: a single block above 1 GiB (touched at every
 * page's first byte, checked, shrunk and grown by realloc), and more than
 * 4 GiB allocated in total over the run.
 */
#include "harness.h"

int main(void)
{
    size_t gib = (size_t)1 << 30;
    size_t one = gib + gib / 2; /* 1.5 GiB */
    unsigned char *p = malloc(one);
    REQUIRE(p != NULL, "malloc(1.5 GiB)");
    for (size_t i = 0; i < one; i += 4096)
        p[i] = (unsigned char)(i >> 12);
    int ok = 1;
    for (size_t i = 0; i < one; i += 4096)
        ok &= p[i] == (unsigned char)(i >> 12);
    CHECK(ok, "1.5 GiB block lost writes");
    p = realloc(p, gib / 4);
    REQUIRE(p != NULL, "shrink to 256 MiB");
    ok = 1;
    for (size_t i = 0; i < gib / 4; i += 4096)
        ok &= p[i] == (unsigned char)(i >> 12);
    CHECK(ok, "shrinking realloc lost bytes");
    p = realloc(p, 2 * gib);
    REQUIRE(p != NULL, "grow to 2 GiB");
    ok = 1;
    for (size_t i = 0; i < gib / 4; i += 4096)
        ok &= p[i] == (unsigned char)(i >> 12);
    CHECK(ok, "growing realloc lost bytes");
    free(p);

    size_t total = 0;
    for (int round = 0; round < 32; round++) {
        size_t n = (size_t)(round % 4 + 1) * (64 << 20); /* 64 .. 256 MiB */
        unsigned char *q = malloc(n);
        REQUIRE(q != NULL, "round %d: %zu bytes", round, n);
        q[0] = 1;
        q[n - 1] = 2;
        CHECK(q[0] == 1 && q[n - 1] == 2, "round %d", round);
        total += n;
        free(q);
    }
    printf("one block of 1.5 GiB (realloc to 256 MiB and 2 GiB), %zu MiB in total after\n",
           total >> 20);
    CHECK(total > ((size_t)4 << 30), "less than 4 GiB in total");
    return test_finish("big");
}
