/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * text.h — building lines of text without the C library: numbers, padding,
 * JSON strings, into a caller's buffer that is handed to a write function
 * whenever it fills. Used for diagnostics and for the statistics output,
 * so both work in freestanding builds.
 */
#ifndef KMEM_TEXT_H
#define KMEM_TEXT_H

#include <stddef.h>
#include <stdint.h>

typedef void kmem_text_sink(void *arg, const char *text, size_t len);

struct kmem_text {
    char *tx_buf;           /* the caller's buffer */
    size_t tx_cap;          /* its size */
    size_t tx_len;          /* bytes not yet written out */
    kmem_text_sink *tx_sink;
    void *tx_arg;
};

void kmem_text_init(struct kmem_text *t, char *buf, size_t cap,
                    kmem_text_sink *sink, void *arg);
void kmem_text_flush(struct kmem_text *t);
void kmem_text_char(struct kmem_text *t, char c);
void kmem_text_str(struct kmem_text *t, const char *s);
/* s padded with spaces to `width` columns, on the left when width < 0. */
void kmem_text_pad(struct kmem_text *t, const char *s, int width);
/* Decimal, right-aligned in `width` columns (0: no padding). */
void kmem_text_u64(struct kmem_text *t, uint64_t v, int width);
void kmem_text_i64(struct kmem_text *t, int64_t v, int width);
/* v / 10^decimals with `decimals` digits after the point, right-aligned. */
void kmem_text_fixed(struct kmem_text *t, uint64_t v, unsigned decimals, int width);
void kmem_text_hex(struct kmem_text *t, uintptr_t v);
/* A JSON string literal, quotes included. */
void kmem_text_json_str(struct kmem_text *t, const char *s);
/* Bytes in the units vmstat -m used: "123K", "5M"; right-aligned. */
void kmem_text_kbytes(struct kmem_text *t, uint64_t bytes, int width);

#endif /* KMEM_TEXT_H */
