/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * freestanding.h — what the freestanding platform needs to know before
 * kmem starts: the caller's region and hooks (given by the front end,
 * src/front/freestanding).
 */
#ifndef KMEM_PLATFORM_FREESTANDING_H
#define KMEM_PLATFORM_FREESTANDING_H

#include <stdbool.h>
#include <stddef.h>

#include "kmem_freestanding.h"

/* Take over [region, region+size) (page aligned) and the hooks (copied).
 * False if a region was given already. */
bool kmem_os_freestanding_setup(void *region, size_t size, const struct kmem_hooks *hooks);

#endif /* KMEM_PLATFORM_FREESTANDING_H */
