/*
 * init.h — starting kmem (see init.c). kmem starts by itself on first use;
 * kmem_start lets a caller choose the arena size first.
 */
#ifndef KMEM_INIT_H
#define KMEM_INIT_H

#include "core/base/config.h"

/* Reserve and lay out the arena, with the options (NULL: defaults and the
 * environment). KMEM_OK, KMEM_ERR_BUSY if already started, or
 * KMEM_ERR_NOMEM. */
int kmem_start(const struct kmem_options *options);

/* Parse "64G", "512M", "4096": bytes, or 0 if not understood. */
uint64_t kmem_parse_size(const char *text);

#endif /* KMEM_INIT_H */
