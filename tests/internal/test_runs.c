/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_runs.c — the arena's run allocator (core/arena) on its own, over a
 * private reservation of 64 MiB: the size bins, which run a request gets,
 * joining freed neighbours, aligned runs, growing and shrinking in place,
 * purging, the page map, and a long random sequence with kmem_arena_check
 * after every step and a shadow map of the pages that no two live runs
 * may share.
 *
 *   KMEM_TEST_SEED, KMEM_TEST_OPS (default 20000) vary the random part.
 */
#include "core/arena/arena.h"
#include "core/arena/runs.h"
#include "platform/platform.h"

#include "harness.h"

#define ARENA_BYTES ((size_t)64 << 20)

static void test_bins(void)
{
    unsigned prev = 0;
    for (uint64_t n = 1; n <= ((uint64_t)1 << 31); n = n < 100000 ? n + 1 : n * 2 - 1) {
        unsigned b = kmem_run_bin_of((uint32_t)n);
        CHECK(b < KMEM_RUN_BINS, "%" PRIu64 " pages: bin %u", n, b);
        CHECK(kmem_run_bin_min(b) <= n, "%" PRIu64 " pages below its bin's least", n);
        if (b + 1 < KMEM_RUN_BINS)
            CHECK(n < kmem_run_bin_min(b + 1), "%" PRIu64 " pages: the next bin's least", n);
        CHECK(b >= prev, "%" PRIu64 " pages: bins out of order", n);
        prev = b;
        if (test_failures > 10)
            break;
    }
    for (unsigned b = 0; b < 64; b++)
        CHECK_EQ(kmem_run_bin_min(b), b + 1); /* one bin per size up to 64 pages */
}

static struct kmem_page large_head(uint32_t npages)
{
    struct kmem_page h = { KMEM_KIND_LARGE, 0, 0, npages };
    return h;
}

static uint32_t take(uint32_t npages, uint32_t align)
{
    bool zeroed;
    uint32_t page = kmem_arena_alloc(npages, align, large_head(npages), KMEM_KIND_LARGE_TAIL,
                                     &zeroed);
    REQUIRE(page != KMEM_NO_PAGE, "no run of %u pages", npages);
    return page;
}

static void give(uint32_t page)
{
    REQUIRE(kmem_arena_free_block(page, KMEM_KIND_LARGE) != 0, "page %u not a block", page);
}

static uint32_t free_pages(void)
{
    return (uint32_t)(kmem_arena.ka_free_pages[KMEM_RUN_DIRTY] +
                      kmem_arena.ka_free_pages[KMEM_RUN_CLEAN]);
}

/* Requests go to the smallest bin that surely fits, dirty runs first. */
static void test_which_run(void)
{
    uint32_t a = take(3, 1), s1 = take(1, 1), c = take(5, 1), s2 = take(1, 1);
    uint32_t e = take(9, 1), s3 = take(1, 1);
    give(a);
    give(c);
    give(e);
    CHECK_EQ(take(4, 1), c); /* the 5-page run, not the 9 or the untouched top */
    CHECK_EQ(take(9, 1), e);
    CHECK_EQ(take(3, 1), a);
    CHECK_EQ(take(1, 1), c + 4); /* what was left of the 5 */
    CHECK_EQ(kmem_arena_check(), 0);
    uint32_t blocks[] = { a, s1, c, c + 4, s2, e, s3 };
    for (unsigned i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
        give(blocks[i]);
    /* Freed neighbours join: after a purge the whole arena is one run. */
    kmem_arena_purge_all();
    CHECK_EQ(kmem_arena_check(), 0);
    uint32_t id = kmem_run_at_edge(0);
    CHECK(id != 0 && kmem_run(id)->rn_npages == kmem_arena.ka_npages,
          "after freeing everything: a run of %u pages of %u", id ? kmem_run(id)->rn_npages : 0,
          kmem_arena.ka_npages);
}

/* The page map follows every change of kind (a slab made, a block taken,
 * grown, given back), and kmem_arena_check finds an entry that does not. */
static void test_page_map(void)
{
    uint32_t p = take(6, 1);
    CHECK_EQ(kmem_arena.ka_map[p].me_kind, 0); /* only slabs are in the map */
    CHECK_EQ(kmem_arena.ka_map[p + 5].me_kind, 0);
    /* A slab's later pages count back to its first. */
    struct kmem_page slab = { 7, 0, 0, 0 };
    bool zeroed;
    uint32_t s = kmem_arena_alloc(3, 1, slab, KMEM_KIND_SLAB_TAIL + 7, &zeroed);
    REQUIRE(s != KMEM_NO_PAGE, "a 3-page slab");
    CHECK_EQ(kmem_arena.ka_map[s].me_kind, 7);
    CHECK_EQ(kmem_arena.ka_map[s + 2].me_kind, KMEM_KIND_SLAB_TAIL + 7);
    CHECK_EQ(kmem_arena.ka_map[s + 2].me_back, 2);
    CHECK_EQ(kmem_arena_check(), 0);
    struct kmem_map_entry saved = kmem_arena.ka_map[s + 1];
    kmem_arena.ka_map[s + 1].me_back = 2;
    CHECK(kmem_arena_check() != 0, "a wrong map entry not found");
    kmem_arena.ka_map[s + 1] = saved;
    CHECK_EQ(kmem_arena_check(), 0);
    uint32_t slabs[1] = { s };
    kmem_arena_free_slabs(slabs, 1, 3, false);
    CHECK_EQ(kmem_arena.ka_map[s + 2].me_kind, 0);
    CHECK_EQ(s, p + 6); /* so the block can grow into the slab's pages */
    CHECK(kmem_arena_grow(p, 6, 8, &zeroed), "grow into the freed slab");
    CHECK_EQ(kmem_arena.ka_map[p + 7].me_kind, 0);
    CHECK_EQ(kmem_arena_check(), 0);
    give(p);
    for (uint32_t i = 0; i < 8; i++)
        CHECK_EQ(kmem_arena.ka_map[p + i].me_kind, 0);
    kmem_arena_purge_all(); /* one clean run again, for the tests after */
    CHECK_EQ(kmem_arena_check(), 0);
    CHECK_EQ(free_pages(), kmem_arena.ka_npages);
}

static void test_aligned_and_resize(void)
{
    /* The arena is one free run: blocks are cut from its low end. */
    uint32_t p = take(10, 1), q = take(1, 1);
    CHECK_EQ(q, p + 10);
    bool zeroed;
    CHECK(!kmem_arena_grow(p, 10, 11, &zeroed), "grow over a live block");
    kmem_arena_shrink(p, 10, 4);
    CHECK_EQ(kmem_page_of(p)->ku_word, 4);
    CHECK(kmem_arena_grow(p, 4, 10, &zeroed), "grow into the free pages after it");
    CHECK_EQ(kmem_page_of(p)->ku_word, 10);
    CHECK_EQ(kmem_arena_check(), 0);
    /* An aligned block: its first page on a 16-page boundary, the pages
     * skipped before it free. */
    uint32_t a = take(10, 16);
    CHECK((((uintptr_t)kmem_page_addr(a)) & (16 * 4096 - 1)) == 0, "16-page alignment");
    CHECK_EQ(kmem_arena_check(), 0);
    give(p);
    give(q);
    give(a);
    CHECK_EQ(kmem_arena_check(), 0);
    CHECK_EQ(free_pages(), kmem_arena.ka_npages);
}

struct live {
    uint32_t page, npages;
};

static void test_random(uint64_t seed, long ops)
{
    static struct live live[512];
    static uint32_t owner[ARENA_BYTES / 4096]; /* page -> live index + 1 */
    unsigned n = 0;
    struct rng r = rng_make(seed);
    for (long op = 0; op < ops; op++) {
        unsigned what = (unsigned)rng_below(&r, 100);
        if (n < 512 && (what < 55 || n == 0)) {
            uint32_t npages = 1 + (uint32_t)(rng_below(&r, 4) == 0 ? rng_below(&r, 300)
                                                                   : rng_below(&r, 8));
            uint32_t align = (uint32_t)1 << rng_below(&r, 4);
            bool zeroed;
            uint32_t page = kmem_arena_alloc(npages, align, large_head(npages),
                                             KMEM_KIND_LARGE_TAIL, &zeroed);
            if (page == KMEM_NO_PAGE)
                continue;
            CHECK((((uintptr_t)kmem_page_addr(page)) & ((uintptr_t)align * 4096 - 1)) == 0,
                  "op %ld: %u pages not aligned to %u", op, npages, align);
            for (uint32_t i = 0; i < npages; i++) {
                CHECK(owner[page + i] == 0, "op %ld: page %u handed out twice", op, page + i);
                owner[page + i] = n + 1;
            }
            live[n++] = (struct live){ page, npages };
        } else if (what < 90) {
            unsigned k = (unsigned)rng_below(&r, n);
            for (uint32_t i = 0; i < live[k].npages; i++)
                owner[live[k].page + i] = 0;
            CHECK_EQ(kmem_arena_free_block(live[k].page, KMEM_KIND_LARGE), live[k].npages);
            live[k] = live[--n];
            for (uint32_t i = 0; k < n && i < live[k].npages; i++)
                owner[live[k].page + i] = k + 1;
        } else if (what < 98) {
            unsigned k = (unsigned)rng_below(&r, n);
            uint32_t want = 1 + (uint32_t)rng_below(&r, 2 * live[k].npages + 2);
            bool zeroed;
            if (want < live[k].npages) {
                for (uint32_t i = want; i < live[k].npages; i++)
                    owner[live[k].page + i] = 0;
                kmem_arena_shrink(live[k].page, live[k].npages, want);
                live[k].npages = want;
            } else if (want > live[k].npages &&
                       kmem_arena_grow(live[k].page, live[k].npages, want, &zeroed)) {
                for (uint32_t i = live[k].npages; i < want; i++) {
                    CHECK(owner[live[k].page + i] == 0, "op %ld: grew over a live page", op);
                    owner[live[k].page + i] = k + 1;
                }
                live[k].npages = want;
            }
        } else {
            kmem_arena_purge_all();
        }
        int bad = kmem_arena_check();
        REQUIRE(bad == 0, "op %ld: kmem_arena_check found %d", op, bad);
        uint64_t used = 0;
        for (unsigned k = 0; k < n; k++)
            used += live[k].npages;
        CHECK_EQ(used, kmem_arena.ka_large_pages);
        CHECK_EQ(used + free_pages(), kmem_arena.ka_npages);
    }
    while (n > 0)
        give(live[--n].page);
    kmem_arena_purge_all();
    CHECK_EQ(kmem_arena_check(), 0);
    CHECK_EQ(free_pages(), kmem_arena.ka_npages);
}

int main(void)
{
    uint64_t seed = test_seed(1988);
    long ops = test_env_long("KMEM_TEST_OPS", 20000);
    test_bins();
    size_t granted = 0;
    void *base = kmem_os_reserve(ARENA_BYTES, KMEM_COMMIT_STEP, &granted);
    REQUIRE(base != NULL && kmem_arena_init(base, granted), "a 64 MiB arena");
    kmem_arena_set_decay(0x7fffffff, 0); /* no purge by age during the test */
    printf("arena of %u pages\n", kmem_arena.ka_npages);
    test_which_run();
    test_page_map();
    test_aligned_and_resize();
    test_random(seed, ops);
    printf("%ld random operations\n", ops);
    return test_finish("runs");
}
