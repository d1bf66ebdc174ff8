/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_settings.c — libFuzzer harness for what kmem reads from the
 * environment when it starts (core/alloc/settings.c, core/base/parse.c).
 * Each input is a list of lines; a line's first byte picks a variable
 * (the ten KMEM_* settings, or a name kmem does not read), the rest is
 * its value, bytes of any kind. The harness is the platform: its getenv
 * answers from the input, and the warnings kmem writes are collected.
 *
 * Checked against a model written here from the documentation (the
 * grammar of a size in parse.h, the words and limits in settings.c):
 *   every value the model understands is taken exactly (capped where the
 *     settings say), every other one leaves the default and gets one
 *     warning line that names the variable, and nothing else warns;
 *   kmem_parse_size agrees with the model on every value;
 *   whatever came in, the settings stay in their ranges (decay >= 1 ms,
 *     the tick 20 ms .. the default tick, at most 1000 exports a second,
 *     the export folder a string that fits).
 *
 * Built by mk/build.mk (target fuzzers) with clang -fsanitize=fuzzer,
 * address,undefined; run by tests/fuzz/run.sh (make fuzz, make test).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc/settings.h"
#include "core/base/parse.h"
#include "platform/platform.h"

/* ---- the harness as the platform ---------------------------------------- */

enum { NVARS = 12, VALUE_MAX = 400, DEBUG_VAR = 11 };
static const char *const names[NVARS] = {
    "KMEM_ARENA_SIZE", "KMEM_LIMIT",   "KMEM_DECAY_MS",        "KMEM_TCACHE_BYTES",
    "KMEM_BACKGROUND", "KMEM_DIRTY_MAX", "KMEM_EXPORT",       "KMEM_EXPORT_DIR",
    "KMEM_EXPORT_HZ",  "KMEM_EXPORT_DELAY_MS", "KMEM_NOT_A_SETTING", "KMEM_DEBUG",
};
static char values[NVARS][VALUE_MAX + 1];
static bool set[NVARS];
static char warnings[8192];
static size_t warned;

const char *kmem_os_getenv(const char *name)
{
    for (int i = 0; i < NVARS; i++)
        if (strcmp(name, names[i]) == 0)
            return set[i] ? values[i] : NULL;
    return NULL;
}

void kmem_os_write_error(const char *text, size_t len)
{
    if (warned + len < sizeof warnings) {
        memcpy(warnings + warned, text, len);
        warned += len;
    }
}

_Noreturn void kmem_os_abort(void)
{
    fprintf(stderr, "fuzz_settings: kmem aborted\n");
    abort();
}

/* ---- the model ------------------------------------------------------------ */

static _Noreturn void fail(const char *what, int var)
{
    fprintf(stderr, "fuzz_settings: %s: %s", what, var >= 0 ? names[var] : "");
    if (var >= 0 && set[var])
        fprintf(stderr, "=\"%s\"", values[var]);
    fprintf(stderr, "\n--- warnings ---\n%.*s---\n", (int)warned, warnings);
    abort();
}

/* A size as parse.h documents it: decimal digits, then optionally one of
 * k m g t (either case: 2^10 .. 2^40) followed optionally by i, then
 * optionally b; all of it fitting in 64 bits. */
static bool model_size(const char *s, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return false;
    unsigned __int128 v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (unsigned)(*s - '0');
        if (v > UINT64_MAX)
            return false;
    }
    const char *units = "kmgt";
    unsigned shift = 0;
    const char *u = *s != '\0' ? strchr(units, *s | 0x20) : NULL;
    if (u != NULL) {
        shift = 10 * (unsigned)(u - units + 1);
        s++;
        if (*s == 'i' || *s == 'I')
            s++;
    }
    if (*s == 'b' || *s == 'B')
        s++;
    if (*s != '\0')
        return false;
    v <<= shift;
    if (v > UINT64_MAX)
        return false;
    *out = (uint64_t)v;
    return true;
}

/* KMEM_DEBUG as settings.c documents it: words among junk, redzone,
 * guard, quarantine, quarantine=SIZE, trace (which is redzone too), all
 * (all but trace), 1, on, none, 0, off, joined by
 * single commas. The checks (debug.h's bits) into *checks, the quarantine
 * size into *held (unchanged without one). */
static bool model_debug(const char *v, uint64_t *checks, uint64_t *held)
{
    static const struct {
        const char *word;
        uint64_t checks;
    } words[] = {
        { "junk", 1 }, { "redzone", 2 }, { "guard", 4 }, { "quarantine", 8 }, { "trace", 18 },
        { "all", 15 }, { "1", 15 },      { "on", 15 },   { "none", 0 },        { "0", 0 },
        { "off", 0 },
    };
    uint64_t c = 0, h = *held;
    const char *at = v;
    for (;;) {
        const char *end = strchr(at, ',');
        size_t n = end != NULL ? (size_t)(end - at) : strlen(at);
        if (n > 255)
            return false; /* settings.c reads words of up to 255 characters */
        char word[VALUE_MAX + 1];
        memcpy(word, at, n);
        word[n] = '\0';
        bool found = false;
        if (strncmp(word, "quarantine=", 11) == 0) {
            if (!model_size(word + 11, &h))
                return false;
            c |= 8;
            found = true;
        }
        for (size_t i = 0; !found && i < sizeof words / sizeof words[0]; i++)
            if (strcmp(word, words[i].word) == 0) {
                c |= words[i].checks;
                found = true;
            }
        if (!found)
            return false;
        if (end == NULL)
            break;
        at = end + 1;
    }
    *checks = c;
    *held = h;
    return true;
}

/* Does the model understand variable i's value? Fills *size for sizes. */
static bool model_understands(int i, uint64_t *size)
{
    const char *v = values[i];
    if (!set[i] || v[0] == '\0')
        return true; /* unset or empty: the default, silently */
    switch (i) {
    case 4: /* KMEM_BACKGROUND */
        return !strcmp(v, "on") || !strcmp(v, "1") || !strcmp(v, "off") || !strcmp(v, "0") ||
               !strcmp(v, "auto");
    case 6: /* KMEM_EXPORT */
        return !strcmp(v, "on") || !strcmp(v, "1") || !strcmp(v, "off") || !strcmp(v, "0");
    case 7:  /* KMEM_EXPORT_DIR: any text that fits */
    case 10: /* not read at all */
        return true;
    case DEBUG_VAR: {
        uint64_t checks, held = 0;
        return model_debug(v, &checks, &held);
    }
    default:
        return model_size(v, size);
    }
}

/* The warnings name each variable that was not understood (or was too
 * large, or too long) once per line, and nothing else. */
static void check_warnings(const bool expect[NVARS])
{
    bool seen[NVARS] = { false };
    size_t at = 0;
    while (at < warned) {
        const char *line = warnings + at, *nl = memchr(line, '\n', warned - at);
        if (nl == NULL)
            fail("a warning without its newline", -1);
        size_t len = (size_t)(nl - line);
        int which = -1;
        for (int i = 0; i < NVARS; i++) {
            size_t n = strlen(names[i]);
            if (len > 6 + n && memcmp(line, "kmem: ", 6) == 0 && memcmp(line + 6, names[i], n) == 0 &&
                line[6 + n] == ' ')
                which = i;
        }
        if (which < 0)
            fail("a warning that names no setting", -1);
        if (!expect[which])
            fail("a warning for a value that is fine", which);
        if (seen[which])
            fail("two warnings for one variable", which);
        seen[which] = true;
        at += len + 1;
    }
    for (int i = 0; i < NVARS; i++)
        if (expect[i] && !seen[i])
            fail("no warning for a value not taken", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Nothing set: the defaults, without a word. */
    memset(set, 0, sizeof set);
    warned = 0;
    kmem_settings_read(NULL);
    struct kmem_settings def = kmem_settings;
    if (warned != 0)
        fail("a warning with nothing set", -1);

    /* Lines: a selector byte, then the value up to the newline (a later
     * line for the same variable replaces it). */
    size_t at = 0;
    while (at < size) {
        int i = data[at++] % NVARS;
        size_t n = 0;
        while (at < size && data[at] != '\n') {
            if (n < VALUE_MAX && data[at] != '\0')
                values[i][n++] = (char)data[at];
            at++;
        }
        at++;
        values[i][n] = '\0';
        set[i] = true;
    }

    /* kmem_parse_size against the model, on every value. */
    for (int i = 0; i < NVARS; i++) {
        if (!set[i])
            continue;
        uint64_t want = 7, got = 7;
        bool m = model_size(values[i], &want), k = kmem_parse_size(values[i], &got);
        if (m != k || got != want)
            fail(k ? "kmem_parse_size took what the model refuses, or read it otherwise"
                   : "kmem_parse_size refused a size",
                 i);
    }

    warned = 0;
    kmem_settings_read(NULL);
    struct kmem_settings s = kmem_settings;
    size_t first_warned = warned;
    kmem_settings_read(NULL);
    if (memcmp(&s, &kmem_settings, sizeof s) != 0)
        fail("the same environment read twice gave two settings", -1);
    warned = first_warned;

    bool expect[NVARS] = { false };
    uint64_t v[NVARS] = { 0 };
    for (int i = 0; i < NVARS; i++)
        expect[i] = !model_understands(i, &v[i]);
    /* Values taken, capped where the settings say (and warned then). */
    struct {
        int var;
        uint64_t got, dflt, max;
    } sizes[] = {
        { 0, s.st_arena_size, def.st_arena_size, UINT64_MAX },
        { 1, s.st_memory_limit, def.st_memory_limit, UINT64_MAX },
        { 2, s.st_decay_ms, def.st_decay_ms, UINT32_MAX },
        { 3, s.st_tcache_bytes, def.st_tcache_bytes, (uint64_t)1 << 30 },
        { 5, s.st_dirty_max, def.st_dirty_max, UINT64_MAX },
        { 8, s.st_export_interval_ms, def.st_export_interval_ms, 1000 },
        { 9, s.st_export_delay_ms, def.st_export_delay_ms, UINT32_MAX },
    };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int i = sizes[k].var;
        uint64_t want = sizes[k].dflt;
        if (set[i] && values[i][0] != '\0' && !expect[i]) {
            want = v[i];
            if (want > sizes[k].max) {
                want = sizes[k].max;
                expect[i] = true; /* "too large" */
            }
            if (i == 2 && want == 0)
                want = 1; /* a decay of 0 means at once */
            if (i == 5)
                want >>= KMEM_PAGE_SHIFT; /* kept in pages */
            if (i == 8)
                want = 1000 / (want != 0 ? want : 1); /* kept as the interval */
        }
        if (sizes[k].got != want)
            fail("a setting is not what the variable asked for", i);
    }
    if (set[7] && strlen(values[7]) >= sizeof s.st_export_dir)
        expect[7] = true; /* too long: not published */
    uint64_t checks = def.st_debug, held = def.st_quarantine_bytes;
    if (set[DEBUG_VAR] && values[DEBUG_VAR][0] != '\0' && !expect[DEBUG_VAR])
        (void)model_debug(values[DEBUG_VAR], &checks, &held);
    if (s.st_debug != checks || s.st_quarantine_bytes != held)
        fail("KMEM_DEBUG is not what it asked for", DEBUG_VAR);
    check_warnings(expect);

    if (s.st_background < KMEM_BACKGROUND_OFF || s.st_background > KMEM_BACKGROUND_ON)
        fail("KMEM_BACKGROUND out of range", 4);
    if (s.st_decay_ms < 1 || s.st_tick_ms < 1 ||
        s.st_tick_ms > (KMEM_BACKGROUND_TICK_MS > 20 ? KMEM_BACKGROUND_TICK_MS : 20))
        fail("the decay or the background tick out of range", 2);
    if (s.st_export_interval_ms < 1 || s.st_export_interval_ms > 1000)
        fail("the export interval out of range", 8);
    if (memchr(s.st_export_dir, '\0', sizeof s.st_export_dir) == NULL)
        fail("the export folder is not a string", 7);
    if (expect[7] && set[7] && strlen(values[7]) >= sizeof s.st_export_dir && s.st_export)
        fail("a folder name too long, and statistics still published", 7);
    return 0;
}
