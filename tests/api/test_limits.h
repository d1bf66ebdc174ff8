/* SPDX-License-Identifier: BSD-2-Clause */
/* test_limits.h — what test_limits.c (one thread) and test_limits_threads.c
 * share: the request sizes they use and the bucket or pages each takes from
 * its type, and a type's statistics read under REQUIRE. Include after
 * harness.h. */
#ifndef KMEM_TEST_LIMITS_H
#define KMEM_TEST_LIMITS_H

#define SMALL_REQ   1000u  /* -> the 1024-byte bucket */
#define SMALL_SIZE  1024u
#define LARGE_REQ   28000u /* -> 7 pages, large in either geometry */
#define LARGE_SIZE  (7u * 4096u)

static struct kmem_type_stats stats_of(const struct kmem_type *t)
{
    struct kmem_type_stats s;
    int rc = kmem_type_stats(t, &s);
    REQUIRE(rc == KMEM_OK, "kmem_type_stats returned %d", rc);
    return s;
}

#endif /* KMEM_TEST_LIMITS_H */
