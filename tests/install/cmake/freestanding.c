/* SPDX-License-Identifier: BSD-2-Clause */
/* freestanding.c — the smallest program on libkmem-freestanding.a through
 * the installed headers: kmem over a static region, a block through the
 * macros and one through the functions, then a heap check. Prints the
 * usable sizes; exits 0 when all went well. */
#include <kmem_freestanding.h>
#include <stdio.h>

KMEM_TYPE_DEFINE(M_TEST, "test", "freestanding consumer");

static char region[8 << 20] __attribute__((aligned(4096)));

int main(void)
{
    static const struct kmem_hooks hooks = { .seed = 42 };
    if (kmem_freestanding_init(region, sizeof region, &hooks) != KMEM_OK)
        return 1;
    void *p, *q = kmem_malloc(5000, M_TEST, KM_NOWAIT);
    KMEM_MALLOC(p, void *, 100, M_TEST, KM_NOWAIT);
    if (p == NULL || q == NULL)
        return 1;
    printf("freestanding: %zu and %zu usable bytes\n", kmem_usable_size(p),
           kmem_usable_size(q));
    KMEM_FREE(p, M_TEST);
    kmem_free(q, M_TEST);
    return kmem_check() == 0 ? 0 : 1;
}
