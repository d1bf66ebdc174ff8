/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * init.h — starting kmem (see init.c). kmem starts by itself on first use;
 * kmem_start lets a caller give options first.
 */
#ifndef KMEM_INIT_H
#define KMEM_INIT_H

#include "core/base/config.h"

/* Reserve and lay out the arena, with the options (NULL: defaults and the
 * environment). KMEM_OK, KMEM_ERR_BUSY if already started, or
 * KMEM_ERR_NOMEM. */
int kmem_start(const struct kmem_options *options);

/* Start kmem if it has not started; false if no arena could be had. The
 * test of every request is inline; starting is out of line. */
extern uint32_t kmem_started; /* [A] 1 once the arena is ready */
bool kmem_ensure_init_slow(void);
static inline bool kmem_ensure_init(void)
{
    return __atomic_load_n(&kmem_started, __ATOMIC_ACQUIRE) || kmem_ensure_init_slow();
}

#endif /* KMEM_INIT_H */
