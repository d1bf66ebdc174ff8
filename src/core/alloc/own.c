/*
 * own.c — see own.h.
 */
#include "core/alloc/own.h"

#include "core/type/type.h"

static KMEM_TYPE_DEFINE(M_KMEM, "kmem", "kmem's own thread caches");

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
