/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * text.c — see text.h. No C library: only the caller's buffer and sink.
 */
#include "core/base/text.h"

void kmem_text_init(struct kmem_text *t, char *buf, size_t cap,
                    kmem_text_sink *sink, void *arg)
{
    t->tx_buf = buf;
    t->tx_cap = cap;
    t->tx_len = 0;
    t->tx_sink = sink;
    t->tx_arg = arg;
}

void kmem_text_flush(struct kmem_text *t)
{
    if (t->tx_len > 0 && t->tx_sink != NULL)
        t->tx_sink(t->tx_arg, t->tx_buf, t->tx_len);
    t->tx_len = 0;
}

void kmem_text_char(struct kmem_text *t, char c)
{
    if (t->tx_len == t->tx_cap)
        kmem_text_flush(t);
    t->tx_buf[t->tx_len++] = c;
}

static size_t text_length(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0')
        n++;
    return n;
}

void kmem_text_str(struct kmem_text *t, const char *s)
{
    while (*s != '\0')
        kmem_text_char(t, *s++);
}

void kmem_text_pad(struct kmem_text *t, const char *s, int width)
{
    size_t len = text_length(s);
    size_t w = (size_t)(width < 0 ? -width : width);
    size_t fill = len < w ? w - len : 0;
    if (width > 0)
        for (size_t i = 0; i < fill; i++)
            kmem_text_char(t, ' ');
    kmem_text_str(t, s);
    if (width < 0)
        for (size_t i = 0; i < fill; i++)
            kmem_text_char(t, ' ');
}

/* Digits of v into the end of buf; returns the first digit. */
static char *format_u64(char *end, uint64_t v)
{
    *--end = '\0';
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return end;
}

void kmem_text_u64(struct kmem_text *t, uint64_t v, int width)
{
    char buf[24];
    kmem_text_pad(t, format_u64(buf + sizeof buf, v), width);
}

void kmem_text_i64(struct kmem_text *t, int64_t v, int width)
{
    char buf[24];
    char *s = format_u64(buf + sizeof buf, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
    if (v < 0)
        *--s = '-';
    kmem_text_pad(t, s, width);
}

void kmem_text_fixed(struct kmem_text *t, uint64_t v, unsigned decimals,
                     int width)
{
    char buf[32];
    char *end = buf + sizeof buf;
    *--end = '\0';
    for (unsigned i = 0; i < decimals; i++) {
        *--end = (char)('0' + v % 10);
        v /= 10;
    }
    if (decimals > 0)
        *--end = '.';
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    kmem_text_pad(t, end, width);
}

void kmem_text_hex(struct kmem_text *t, uintptr_t v)
{
    char buf[2 + 2 * sizeof v + 1];
    char *end = buf + sizeof buf;
    *--end = '\0';
    do {
        *--end = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v != 0);
    *--end = 'x';
    *--end = '0';
    kmem_text_str(t, end);
}

void kmem_text_json_str(struct kmem_text *t, const char *s)
{
    kmem_text_char(t, '"');
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            kmem_text_char(t, '\\');
            kmem_text_char(t, (char)c);
        } else if (c < 0x20) {
            kmem_text_str(t, "\\u00");
            kmem_text_char(t, "0123456789abcdef"[c >> 4]);
            kmem_text_char(t, "0123456789abcdef"[c & 15]);
        } else {
            kmem_text_char(t, (char)c);
        }
    }
    kmem_text_char(t, '"');
}

void kmem_text_kbytes(struct kmem_text *t, uint64_t bytes, int width)
{
    char buf[32];
    /* Rounded up, without the wrap of (bytes + 1023) / 1024 near 2^64. */
    uint64_t k = bytes / 1024 + (bytes % 1024 != 0);
    char unit = 'K';
    if (k >= 100000) {
        k = k / 1024 + (k % 1024 != 0);
        unit = 'M';
    }
    char *s = format_u64(buf + sizeof buf - 1, k);
    /* format_u64 wrote the NUL at buf[sizeof buf - 2]; put the unit there. */
    buf[sizeof buf - 2] = unit;
    buf[sizeof buf - 1] = '\0';
    kmem_text_pad(t, s, width);
}
