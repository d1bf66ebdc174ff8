/* SPDX-License-Identifier: BSD-2-Clause */
/* test_smoke.c — the API end to end, once: allocate, use, free. */
#include <kmem.h>

#include "harness.h"

KMEM_TYPE_DEFINE(M_SMOKE, "smoke", "smoke test");

int main(void)
{
    void *small = kmem_malloc(100, M_SMOKE, KM_WAITOK);
    REQUIRE(small != NULL, "small allocation");
    memset(small, 0xab, 100);
    size_t small_size = kmem_bucket_size(kmem_bucket_index(100));
    CHECK_EQ(kmem_usable_size(small), small_size);
    void *large = kmem_malloc(100000, M_SMOKE, KM_WAITOK | KM_ZERO);
    REQUIRE(large != NULL, "large allocation");
    CHECK_EQ(((unsigned char *)large)[99999], 0);
    CHECK_EQ(kmem_usable_size(large), 25 * 4096);
    struct kmem_type_stats ts;
    kmem_type_stats(M_SMOKE, &ts);
    CHECK_EQ(ts.inuse, 2);
    CHECK_EQ(ts.memuse, small_size + 25 * 4096);
    kmem_free(small, M_SMOKE);
    kmem_free(large, M_SMOKE);
    kmem_type_stats(M_SMOKE, &ts);
    CHECK_EQ(ts.inuse, 0);
    CHECK_EQ(ts.memuse, 0);
    CHECK_EQ(ts.maxused, small_size + 25 * 4096);
    CHECK_EQ(kmem_check(), 0);
    return test_finish("smoke");
}
