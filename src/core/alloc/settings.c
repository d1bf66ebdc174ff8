/*
 * settings.c — see settings.h. The environment:
 *
 *   KMEM_ARENA_SIZE=N     address space to reserve (e.g. 64G)
 *   KMEM_LIMIT=N          most memory kmem holds for the process (e.g. 512M)
 *   KMEM_DECAY_MS=N       free pages unused for N ms go back to the system
 *   KMEM_TCACHE_BYTES=N   bytes a thread cache keeps per bucket (e.g. 64K)
 *   KMEM_BACKGROUND=on|auto|off
 *   KMEM_DIRTY_MAX=N      most free pages kept resident (e.g. 256M)
 */
#include "core/alloc/settings.h"

#include "core/base/diag.h"
#include "core/base/parse.h"
#include "platform/platform.h"

struct kmem_settings kmem_settings;

static const struct kmem_settings defaults = {
    .st_arena_size = 0,
    .st_memory_limit = 0,
    .st_decay_ms = KMEM_DIRTY_DECAY_MS,
    .st_tick_ms = KMEM_BACKGROUND_TICK_MS,
    .st_tcache_bytes = KMEM_TCACHE_BIN_BYTES,
    .st_background = KMEM_BACKGROUND_AUTO,
    .st_start_pages = KMEM_BACKGROUND_START_BYTES >> KMEM_PAGE_SHIFT,
    .st_dirty_max = 0,
};

/* The size in the variable `name`, or `fallback` when it is unset or not
 * understood (then with a warning). */
static uint64_t env_size(const char *name, uint64_t fallback)
{
    const char *text = kmem_os_getenv(name);
    uint64_t v;
    if (text == NULL || *text == '\0')
        return fallback;
    if (!kmem_parse_size(text, &v)) {
        kmem_warn(name, " not understood (a size such as 4096, 64K, 512M or 2G); ignored");
        return fallback;
    }
    return v;
}

static int env_background(int fallback)
{
    const char *bg = kmem_os_getenv("KMEM_BACKGROUND");
    if (bg == NULL || *bg == '\0')
        return fallback;
    if (kmem_parse_same(bg, "on") || kmem_parse_same(bg, "1"))
        return KMEM_BACKGROUND_ON;
    if (kmem_parse_same(bg, "off") || kmem_parse_same(bg, "0"))
        return KMEM_BACKGROUND_OFF;
    if (kmem_parse_same(bg, "auto"))
        return KMEM_BACKGROUND_AUTO;
    kmem_warn("KMEM_BACKGROUND", " not understood (on, auto or off); ignored");
    return fallback;
}

void kmem_settings_read(const struct kmem_options *o)
{
    struct kmem_settings s = defaults;
    if (o != NULL) {
        if (o->arena_size != 0)
            s.st_arena_size = o->arena_size;
        if (o->decay_ms != 0)
            s.st_decay_ms = o->decay_ms;
        if (o->tcache_bytes != 0)
            s.st_tcache_bytes = o->tcache_bytes;
        if (o->background != 0)
            s.st_background = o->background > 0 ? KMEM_BACKGROUND_ON : KMEM_BACKGROUND_OFF;
        if (o->dirty_max != 0)
            s.st_dirty_max = o->dirty_max >> KMEM_PAGE_SHIFT;
    }
    s.st_arena_size = env_size("KMEM_ARENA_SIZE", s.st_arena_size);
    s.st_memory_limit = env_size("KMEM_LIMIT", s.st_memory_limit);
    s.st_decay_ms = (uint32_t)env_size("KMEM_DECAY_MS", s.st_decay_ms);
    s.st_tcache_bytes = (uint32_t)env_size("KMEM_TCACHE_BYTES", s.st_tcache_bytes);
    s.st_dirty_max = env_size("KMEM_DIRTY_MAX", s.st_dirty_max << KMEM_PAGE_SHIFT) >>
                     KMEM_PAGE_SHIFT;
    s.st_background = env_background(s.st_background);
    if (s.st_decay_ms == 0)
        s.st_decay_ms = 1; /* "0" means at once */
    s.st_tick_ms = s.st_decay_ms / 5 < 20 ? 20 : s.st_decay_ms / 5;
    if (s.st_tick_ms > KMEM_BACKGROUND_TICK_MS)
        s.st_tick_ms = KMEM_BACKGROUND_TICK_MS;
    kmem_settings = s;
}
