/*
 * tune.h — the tunables a program may change: from kmem_init's options and
 * the environment at start, some later through the API. Defaults are in
 * config.h, with their reasons.
 */
#ifndef KMEM_TUNE_H
#define KMEM_TUNE_H

#include "core/base/config.h"

#define KMEM_BACKGROUND_OFF  (-1)
#define KMEM_BACKGROUND_AUTO 0
#define KMEM_BACKGROUND_ON   1

struct kmem_tunables {
    uint32_t tu_decay_ms;      /* [A] free pages unused this long go back */
    uint32_t tu_tick_ms;       /* [I] the background thread's period */
    uint32_t tu_tcache_bytes;  /* [I] bytes a thread cache keeps per bucket */
    int tu_background;         /* [I] KMEM_BACKGROUND_* */
    uint64_t tu_start_pages;   /* [I] idle pages that start the background thread */
    uint64_t tu_dirty_max;     /* [I] most free pages kept resident; 0: derive */
};

extern struct kmem_tunables kmem_tune;

/* Fill kmem_tune from the options (may be NULL) and the environment. */
void kmem_tune_init(const struct kmem_options *options);

#endif /* KMEM_TUNE_H */
