/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * settings.c — see settings.h. The environment:
 *
 *   KMEM_ARENA_SIZE=N     address space to reserve (e.g. 64G)
 *   KMEM_LIMIT=N          most memory kmem holds for the process (e.g. 512M)
 *   KMEM_DECAY_MS=N       free pages unused for N ms go back to the system
 *   KMEM_TCACHE_BYTES=N   bytes a thread cache keeps per bucket (e.g. 64K)
 *   KMEM_BACKGROUND=on|auto|off
 *   KMEM_DIRTY_MAX=N      most free pages kept resident (e.g. 256M)
 *   KMEM_EXPORT=0|1       publish statistics for other processes (kmemstat)
 *   KMEM_EXPORT_DIR=PATH  where (default: see src/platform/export_dir.h)
 *   KMEM_EXPORT_HZ=N      how often, 1..1000 times a second (default 10)
 *   KMEM_EXPORT_DELAY_MS=N  not before the program has run this long
 *   KMEM_DEBUG=WORDS      checks that cost time and memory (debug.h):
 *                         junk, redzone, guard, quarantine[=SIZE], trace,
 *                         comma-separated; all (or 1, on); none (or 0, off)
 */
#include "core/alloc/settings.h"

#include "core/alloc/debug.h"
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
    .st_export = KMEM_EXPORT_DEFAULT != 0,
    .st_export_interval_ms = 1000 / KMEM_EXPORT_HZ_DEFAULT,
    .st_export_delay_ms = KMEM_EXPORT_DELAY_DEFAULT_MS,
    .st_export_dir = "",
    .st_debug = KMEM_DEBUG_DEFAULT,
    .st_quarantine_bytes = KMEM_QUARANTINE_BYTES,
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

static bool env_switch(const char *name, bool fallback)
{
    const char *v = kmem_os_getenv(name);
    if (v == NULL || *v == '\0')
        return fallback;
    if (kmem_parse_same(v, "1") || kmem_parse_same(v, "on"))
        return true;
    if (kmem_parse_same(v, "0") || kmem_parse_same(v, "off"))
        return false;
    kmem_warn(name, " not understood (1 or 0, on or off); ignored");
    return fallback;
}

/* KMEM_DEBUG: words separated by commas, each naming checks;
 * "quarantine=SIZE" also sets the quarantine's size. The whole value is
 * ignored, with a warning, if a word is not one of them (or is longer
 * than 255 characters). */
static uint32_t env_debug(uint32_t fallback, uint64_t *quarantine)
{
    const char *v = kmem_os_getenv("KMEM_DEBUG");
    if (v == NULL || *v == '\0')
        return fallback;
    static const struct {
        const char *word;
        uint32_t checks;
    } words[] = {
        { "junk", KMEM_DEBUG_JUNK }, { "redzone", KMEM_DEBUG_REDZONE },
        { "guard", KMEM_DEBUG_GUARD }, { "quarantine", KMEM_DEBUG_QUARANTINE },
        { "trace", KMEM_DEBUG_TRACE | KMEM_DEBUG_REDZONE },
        { "all", KMEM_DEBUG_ALL }, { "1", KMEM_DEBUG_ALL }, { "on", KMEM_DEBUG_ALL },
        { "none", 0 }, { "0", 0 }, { "off", 0 },
    };
    enum { NWORDS = sizeof words / sizeof words[0] };
    uint32_t checks = 0;
    uint64_t held = *quarantine;
    for (;;) {
        char word[256]; /* longer words are none of them */
        size_t n = 0;
        while (v[n] != '\0' && v[n] != ',' && n < sizeof word - 1) {
            word[n] = v[n];
            n++;
        }
        word[n] = '\0';
        size_t i = 0;
        const char *size = NULL;
        if (n > 11 && __builtin_memcmp(word, "quarantine=", 11) == 0) {
            size = word + 11;
            word[10] = '\0';
        }
        while (i < NWORDS && !kmem_parse_same(word, words[i].word))
            i++;
        bool good = n > 0 && (v[n] == '\0' || v[n] == ',') && i < NWORDS &&
                    (size == NULL || kmem_parse_size(size, &held));
        if (!good || (v[n] == ',' && v[n + 1] == '\0')) {
            kmem_warn("KMEM_DEBUG", " not understood (junk, redzone, guard, quarantine[=SIZE], "
                                    "trace, comma-separated; all or none); ignored");
            return fallback;
        }
        checks |= words[i].checks;
        if (v[n] == '\0')
            break;
        v += n + 1;
    }
    *quarantine = held;
    return checks;
}

/* A size from the environment, at most `max`. */
static uint64_t env_size_max(const char *name, uint64_t fallback, uint64_t max)
{
    uint64_t v = env_size(name, fallback);
    if (v > max) {
        kmem_warn(name, " too large; the largest allowed is used");
        v = max;
    }
    return v;
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
        if (o->export_stats != 0)
            s.st_export = o->export_stats > 0;
    }
    s.st_arena_size = env_size("KMEM_ARENA_SIZE", s.st_arena_size);
    s.st_memory_limit = env_size("KMEM_LIMIT", s.st_memory_limit);
    s.st_decay_ms = (uint32_t)env_size_max("KMEM_DECAY_MS", s.st_decay_ms, UINT32_MAX);
    s.st_tcache_bytes =
        (uint32_t)env_size_max("KMEM_TCACHE_BYTES", s.st_tcache_bytes, (uint32_t)1 << 30);
    s.st_dirty_max = env_size("KMEM_DIRTY_MAX", s.st_dirty_max << KMEM_PAGE_SHIFT) >>
                     KMEM_PAGE_SHIFT;
    s.st_background = env_background(s.st_background);
    s.st_export = env_switch("KMEM_EXPORT", s.st_export);
    uint64_t hz = env_size_max("KMEM_EXPORT_HZ", 1000 / s.st_export_interval_ms, 1000);
    s.st_export_interval_ms = (uint32_t)(1000 / (hz != 0 ? hz : 1));
    s.st_export_delay_ms =
        (uint32_t)env_size_max("KMEM_EXPORT_DELAY_MS", s.st_export_delay_ms, UINT32_MAX);
    s.st_debug = env_debug(s.st_debug, &s.st_quarantine_bytes);
    const char *dir = kmem_os_getenv("KMEM_EXPORT_DIR");
    if (dir != NULL) {
        size_t n = 0;
        while (dir[n] != '\0' && n + 1 < sizeof s.st_export_dir) {
            s.st_export_dir[n] = dir[n];
            n++;
        }
        s.st_export_dir[n] = '\0';
        if (dir[n] != '\0') {
            kmem_warn("KMEM_EXPORT_DIR", " too long; statistics not published");
            s.st_export = false;
        }
    }
    if (s.st_decay_ms == 0)
        s.st_decay_ms = 1; /* "0" means at once */
    s.st_tick_ms = s.st_decay_ms / 5 < 20 ? 20 : s.st_decay_ms / 5;
    if (s.st_tick_ms > KMEM_BACKGROUND_TICK_MS)
        s.st_tick_ms = KMEM_BACKGROUND_TICK_MS;
    kmem_settings = s;
}
