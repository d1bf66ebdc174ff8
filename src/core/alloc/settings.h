/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * settings.h — what a program and its environment ask of kmem: read once,
 * when kmem starts, from the defaults (core/base/config.h, with their
 * reasons), then kmem_init's options, then the environment, which wins
 * (so that a user can retune a program they cannot rebuild). The layers
 * below never read these: start-up hands each its part.
 */
#ifndef KMEM_SETTINGS_H
#define KMEM_SETTINGS_H

#include "core/base/config.h"

#define KMEM_BACKGROUND_OFF  (-1)
#define KMEM_BACKGROUND_AUTO 0
#define KMEM_BACKGROUND_ON   1

struct kmem_settings {
    uint64_t st_arena_size;    /* KMEM_ARENA_SIZE; 0: the default (init.c) */
    uint64_t st_memory_limit;  /* KMEM_LIMIT: most bytes held; 0: none */
    uint32_t st_decay_ms;      /* KMEM_DECAY_MS: free pages unused this long
                                  go back (at least 1) */
    uint32_t st_tick_ms;       /* the background thread's period, from the decay */
    uint32_t st_tcache_bytes;  /* KMEM_TCACHE_BYTES: bytes a thread cache
                                  keeps per bucket */
    int st_background;         /* KMEM_BACKGROUND: KMEM_BACKGROUND_* */
    uint64_t st_start_pages;   /* idle pages that start the background thread */
    uint64_t st_dirty_max;     /* KMEM_DIRTY_MAX, in pages; 0: derived */
    bool st_export;            /* KMEM_EXPORT: publish statistics for other
                                  processes (kmemstat) */
    uint32_t st_export_interval_ms; /* 1000 / KMEM_EXPORT_HZ */
    uint32_t st_export_delay_ms;    /* KMEM_EXPORT_DELAY_MS: not before */
    char st_export_dir[256];   /* KMEM_EXPORT_DIR; empty: the default */
    uint32_t st_debug;         /* KMEM_DEBUG: KMEM_DEBUG_* checks (debug.h) */
    uint64_t st_quarantine_bytes; /* KMEM_DEBUG=quarantine=SIZE */
};

/* [init] Filled by kmem_settings_read when kmem starts; read-only after. */
extern struct kmem_settings kmem_settings;

/* Fill kmem_settings from the defaults, the options (may be NULL) and the
 * environment. A value that cannot be understood is named in a warning
 * and left at what it was. */
void kmem_settings_read(const struct kmem_options *options);

#endif /* KMEM_SETTINGS_H */
