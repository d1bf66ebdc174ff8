/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * own.c — see own.h.
 */
#include "core/alloc/own.h"

#include "core/arena/arena.h"
#include "core/arena/page.h"
#include "core/base/diag.h"
#include "core/type/type.h"

static KMEM_TYPE_DEFINE(M_KMEM, "kmem", "kmem's own memory: thread caches, statistics");

struct kmem_type *kmem_own_type(void)
{
    return M_KMEM;
}

void kmem_own_count_take(size_t bytes, size_t needed)
{
    kmem_type_ensure(M_KMEM);
    kmem_type_count_alloc(M_KMEM, (struct kmem_size){ 0, bytes }, needed);
}

void kmem_own_count_give(size_t bytes)
{
    kmem_type_count_free(M_KMEM, (struct kmem_size){ 0, bytes });
}

static uint32_t pages_of(size_t bytes)
{
    return (uint32_t)((bytes + KMEM_PAGE_MASK) >> KMEM_PAGE_SHIFT);
}

void *kmem_own_alloc(size_t bytes)
{
    uint32_t npages = pages_of(bytes);
    struct kmem_page head = { KMEM_KIND_INTERNAL, 0, 0, npages };
    bool zeroed;
    uint32_t page = kmem_arena_alloc(npages, 1, head, KMEM_KIND_INTERNAL_TAIL, &zeroed);
    if (page == KMEM_NO_PAGE)
        return NULL;
    kmem_own_count_take((size_t)npages << KMEM_PAGE_SHIFT, bytes);
    return kmem_page_addr(page);
}

void kmem_own_free(void *block, size_t bytes)
{
    uint32_t page = kmem_page_index(block);
    if (page == KMEM_NO_PAGE || kmem_arena_free_block(page, KMEM_KIND_INTERNAL) != pages_of(bytes))
        kmem_panic("kmem_own_free: not a block of kmem's own pages of that size");
    kmem_own_count_give((size_t)pages_of(bytes) << KMEM_PAGE_SHIFT);
}
