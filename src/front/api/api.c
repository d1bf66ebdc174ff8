/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api.c — the exported kmem_* functions of <kmem.h>: argument checks, then
 * the core. Nothing here decides how memory is found or counted.
 */
#include "core/alloc/alloc.h"
#include "core/alloc/init.h"
#include "core/alloc/reclaim.h"
#include "core/alloc/stats.h"
#include "core/alloc/threads.h"
#include "core/arena/arena.h"
#include "core/base/diag.h"
#include "core/type/type.h"

/* Exactly one of KM_WAITOK and KM_NOWAIT, optionally KM_ZERO; a type. */
static void check_request(size_t size, const struct kmem_type *type, int flags,
                          const char *who)
{
    int wait = flags & (KM_WAITOK | KM_NOWAIT);
    if ((flags & ~(KM_WAITOK | KM_NOWAIT | KM_ZERO)) != 0 || wait == 0 ||
        wait == (KM_WAITOK | KM_NOWAIT))
        kmem_bad_request(who, size, type,
                         "flags must hold exactly one of KM_WAITOK and KM_NOWAIT, "
                         "optionally KM_ZERO");
    if (type == NULL)
        kmem_bad_request(who, size, type, "type is NULL");
}

/* Everything but the cache hit: check the arguments, then the core. */
static __attribute__((noinline)) void *malloc_slow(size_t size, struct kmem_type *type,
                                                   int flags)
{
    check_request(size, type, flags, "kmem_malloc");
    return kmem_alloc_slow(size, type, flags, "kmem_malloc");
}

KMEM_API void *kmem_malloc(size_t size, struct kmem_type *type, int flags)
{
    void *p;
    /* The common case: KM_WAITOK or KM_NOWAIT alone, a type, a small size,
     * a hit. */
    if (__builtin_expect((unsigned)flags - 1u >= 2u || type == NULL, 0))
        return malloc_slow(size, type, flags);
    if (kmem_cache_alloc(size, type, &p))
        return p;
    return kmem_alloc_slow(size, type, flags, "kmem_malloc"); /* arguments checked above */
}

KMEM_API void *kmem_malloc_aligned(size_t size, size_t align, struct kmem_type *type,
                                   int flags)
{
    check_request(size, type, flags, "kmem_malloc_aligned");
    if (align == 0 || (align & (align - 1)) != 0)
        kmem_bad_request("kmem_malloc_aligned", size, type,
                         "alignment is not a power of two");
    return kmem_alloc_aligned(size, align, type, flags, "kmem_malloc_aligned");
}

KMEM_API void kmem_free(void *ptr, struct kmem_type *type)
{
    if (__builtin_expect(type == NULL, 0) && ptr != NULL)
        kmem_bad_pointer("kmem_free", ptr, type, "type is NULL");
    kmem_dealloc(ptr, type, "kmem_free");
}

KMEM_API void *kmem_realloc(void *ptr, size_t size, struct kmem_type *type, int flags)
{
    check_request(size, type, flags, "kmem_realloc");
    return kmem_resize(ptr, size, type, flags, "kmem_realloc");
}

KMEM_API size_t kmem_usable_size(const void *ptr)
{
    return kmem_block_usable(ptr, NULL, "kmem_usable_size");
}

KMEM_API int kmem_type_setlimit(struct kmem_type *type, size_t bytes)
{
    if (type == NULL)
        return KMEM_ERR_INVAL;
    return kmem_type_set_limit(type, bytes);
}

KMEM_API int kmem_type_stats(const struct kmem_type *type, struct kmem_type_stats *out)
{
    if (type == NULL || out == NULL)
        return KMEM_ERR_INVAL;
    /* Reading does not register the type: it appears once used. */
    struct kmem_type *t = (struct kmem_type *)(uintptr_t)type; /* maxused is sampled */
    kmem_type_read(t, out);
    return KMEM_OK;
}

KMEM_API struct kmem_type *kmem_type_next(const struct kmem_type *prev)
{
    return kmem_types_next(prev);
}

KMEM_API const char *kmem_type_name(const struct kmem_type *type)
{
    return type != NULL ? type->ks_shortdesc : NULL;
}

KMEM_API const char *kmem_type_description(const struct kmem_type *type)
{
    return type != NULL ? type->ks_longdesc : NULL;
}

KMEM_API unsigned kmem_nbuckets(void)
{
    return KMEM_NBUCKETS;
}

KMEM_API int kmem_bucket_stats(unsigned index, struct kmem_bucket_stats *out)
{
    if (index < 1 || index > KMEM_NBUCKETS || out == NULL)
        return KMEM_ERR_INVAL;
    if (!kmem_ensure_init())
        return KMEM_ERR_NOMEM;
    kmem_collect_bucket(index, out);
    return KMEM_OK;
}

KMEM_API int kmem_arena_stats(struct kmem_arena_stats *out)
{
    if (out == NULL)
        return KMEM_ERR_INVAL;
    if (!kmem_ensure_init())
        return KMEM_ERR_NOMEM;
    kmem_collect_arena(out);
    return KMEM_OK;
}

KMEM_API int kmem_init(const struct kmem_options *options)
{
    return kmem_start(options);
}

KMEM_API int kmem_set_memory_limit(size_t bytes)
{
    if (!kmem_ensure_init())
        return KMEM_ERR_NOMEM;
    kmem_arena_set_cap(bytes);
    return KMEM_OK;
}

KMEM_API size_t kmem_trim(void)
{
    return kmem_reclaim_all();
}

KMEM_API void kmem_maintain(void)
{
    if (kmem_max_request() != 0)
        kmem_reclaim_pass();
}

KMEM_API void kmem_set_decay_ms(uint32_t ms)
{
    if (kmem_ensure_init())
        kmem_arena_set_decay(ms, UINT64_MAX);
}

KMEM_API void kmem_thread_flush(void)
{
    kmem_threads_flush_self();
}

KMEM_API int kmem_check(void)
{
    if (kmem_max_request() == 0)
        return 0;
    return kmem_check_all();
}
