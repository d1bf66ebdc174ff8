/*
 * tune.c — the tunables (see tune.h): defaults, then kmem_init's options,
 * then the environment, which wins (so a user can retune a program they
 * cannot rebuild).
 *
 *   KMEM_DECAY_MS=N       free pages unused for N ms go back to the system
 *   KMEM_TCACHE_BYTES=N   bytes a thread cache keeps per bucket (e.g. 64K)
 *   KMEM_BACKGROUND=on|auto|off
 *   KMEM_DIRTY_MAX=N      most free pages kept resident (e.g. 256M)
 */
#include "core/alloc/tune.h"

#include "platform/platform.h"
#include "core/base/diag.h"
#include "core/alloc/init.h"

struct kmem_tunables kmem_tune = {
    KMEM_DIRTY_DECAY_MS, KMEM_BACKGROUND_TICK_MS, KMEM_TCACHE_BIN_BYTES,
    KMEM_BACKGROUND_AUTO, KMEM_BACKGROUND_START_BYTES >> KMEM_PAGE_SHIFT, 0,
};

static bool same(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static uint64_t env_size(const char *name, uint64_t fallback)
{
    const char *text = kmem_os_getenv(name);
    if (text == NULL || *text == '\0')
        return fallback;
    uint64_t v = kmem_parse_size(text);
    if (v == 0 && !same(text, "0")) {
        kmem_warn(name, " not understood; left at its default");
        return fallback;
    }
    return v;
}

void kmem_tune_init(const struct kmem_options *o)
{
    struct kmem_tunables *t = &kmem_tune;
    if (o != NULL) {
        if (o->decay_ms != 0)
            t->tu_decay_ms = o->decay_ms;
        if (o->tcache_bytes != 0)
            t->tu_tcache_bytes = o->tcache_bytes;
        if (o->background != 0)
            t->tu_background = o->background > 0 ? KMEM_BACKGROUND_ON : KMEM_BACKGROUND_OFF;
        if (o->dirty_max != 0)
            t->tu_dirty_max = o->dirty_max >> KMEM_PAGE_SHIFT;
    }
    t->tu_decay_ms = (uint32_t)env_size("KMEM_DECAY_MS", t->tu_decay_ms);
    t->tu_tcache_bytes = (uint32_t)env_size("KMEM_TCACHE_BYTES", t->tu_tcache_bytes);
    uint64_t dirty = env_size("KMEM_DIRTY_MAX", t->tu_dirty_max << KMEM_PAGE_SHIFT);
    t->tu_dirty_max = dirty >> KMEM_PAGE_SHIFT;
    const char *bg = kmem_os_getenv("KMEM_BACKGROUND");
    if (bg != NULL && *bg != '\0') {
        if (same(bg, "on") || same(bg, "1"))
            t->tu_background = KMEM_BACKGROUND_ON;
        else if (same(bg, "off") || same(bg, "0"))
            t->tu_background = KMEM_BACKGROUND_OFF;
        else if (same(bg, "auto"))
            t->tu_background = KMEM_BACKGROUND_AUTO;
        else
            kmem_warn("KMEM_BACKGROUND", " not understood (on, auto or off); left at auto");
    }
    if (t->tu_decay_ms == 0)
        t->tu_decay_ms = 1; /* "0" means at once */
    t->tu_tick_ms = t->tu_decay_ms / 5 < 20 ? 20 : t->tu_decay_ms / 5;
    if (t->tu_tick_ms > KMEM_BACKGROUND_TICK_MS)
        t->tu_tick_ms = KMEM_BACKGROUND_TICK_MS;
}
