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

/* Start kmem if it has not started; false if no arena could be had. */
bool kmem_ensure_init(void);

#endif /* KMEM_INIT_H */
