/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * freestanding.c — kmem_freestanding_init: starting kmem without an
 * operating system, over the caller's region and with the caller's hooks
 * (include/kmem_freestanding.h). The rest of the interface is the typed
 * API's (src/front/api).
 */
#include "kmem_freestanding.h"

#include "core/alloc/init.h"
#include "platform/freestanding.h"

KMEM_API int kmem_freestanding_init(void *region, size_t size, const struct kmem_hooks *h)
{
    if (region == NULL || h == NULL || size < ((size_t)1 << 20))
        return KMEM_ERR_INVAL;
    uintptr_t start = ((uintptr_t)region + KMEM_PAGE_SIZE - 1) & ~(uintptr_t)(KMEM_PAGE_SIZE - 1);
    size -= start - (uintptr_t)region;
    size &= ~(size_t)(KMEM_PAGE_SIZE - 1);
    if (!kmem_os_freestanding_setup((void *)start, size, h))
        return KMEM_ERR_BUSY;
    struct kmem_options options = { 0 };
    options.arena_size = size;
    return kmem_start(&options);
}
