/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_text.c — the formatter kmem writes its messages and statistics
 * with (core/base/text.c), which must work without the C library: each
 * kind of field against printf's rendering of it, JSON escaping, and
 * output longer than the buffer (the sink must see every byte, in order).
 */
#include "core/base/text.h"

#include "harness.h"

struct sink {
    char out[8192];
    size_t len;
    unsigned calls;
};

static void collect(void *arg, const char *text, size_t len)
{
    struct sink *s = arg;
    REQUIRE(s->len + len < sizeof s->out, "sink overflow");
    memcpy(s->out + s->len, text, len);
    s->len += len;
    s->out[s->len] = '\0';
    s->calls++;
}

/* A formatter over a buffer of `cap` bytes writing into a fresh sink. */
static struct kmem_text start(struct sink *s, char *buf, size_t cap)
{
    struct kmem_text t;
    memset(s, 0, sizeof *s);
    kmem_text_init(&t, buf, cap, collect, s);
    return t;
}

static void expect(struct kmem_text *t, struct sink *s, const char *want, const char *what)
{
    kmem_text_flush(t);
    CHECK(strcmp(s->out, want) == 0, "%s: got \"%s\" want \"%s\"", what, s->out, want);
}

int main(void)
{
    struct sink s;
    char buf[64], want[256];
    uint64_t values[] = { 0, 1, 9, 10, 99, 12345, 4294967296ull, UINT64_MAX };
    for (unsigned i = 0; i < sizeof values / sizeof values[0]; i++)
        for (int width = 0; width <= 22; width += 11) {
            struct kmem_text t = start(&s, buf, sizeof buf);
            kmem_text_u64(&t, values[i], width);
            snprintf(want, sizeof want, "%*" PRIu64, width, values[i]);
            expect(&t, &s, want, "u64");
        }
    int64_t signed_values[] = { 0, -1, 42, -9223372036854775807ll - 1, 9223372036854775807ll };
    for (unsigned i = 0; i < sizeof signed_values / sizeof signed_values[0]; i++) {
        struct kmem_text t = start(&s, buf, sizeof buf);
        kmem_text_i64(&t, signed_values[i], 8);
        snprintf(want, sizeof want, "%8" PRId64, signed_values[i]);
        expect(&t, &s, want, "i64");
    }
    struct kmem_text t = start(&s, buf, sizeof buf);
    kmem_text_fixed(&t, 12345, 2, 0);
    kmem_text_char(&t, ' ');
    kmem_text_fixed(&t, 5, 3, 7);
    kmem_text_char(&t, ' ');
    kmem_text_fixed(&t, 7, 0, 0);
    expect(&t, &s, "123.45   0.005 7", "fixed");

    t = start(&s, buf, sizeof buf);
    kmem_text_hex(&t, 0xdeadbeef);
    kmem_text_char(&t, ' ');
    kmem_text_hex(&t, 0);
    snprintf(want, sizeof want, "%p %s", (void *)(uintptr_t)0xdeadbeef, "0x0");
    expect(&t, &s, want, "hex");

    t = start(&s, buf, sizeof buf);
    kmem_text_pad(&t, "ab", 5);
    kmem_text_char(&t, '|');
    kmem_text_pad(&t, "ab", -5);
    kmem_text_char(&t, '|');
    kmem_text_pad(&t, "abcdef", 3);
    expect(&t, &s, "   ab|ab   |abcdef", "pad");

    t = start(&s, buf, sizeof buf);
    kmem_text_kbytes(&t, 0, 5);
    kmem_text_kbytes(&t, 1, 5);
    kmem_text_kbytes(&t, 2048, 5);
    kmem_text_kbytes(&t, (uint64_t)3 << 20, 5);
    expect(&t, &s, "   0K   1K   2K3072K", "kbytes (vmstat -m's units)");
    t = start(&s, buf, sizeof buf);
    kmem_text_kbytes(&t, UINT64_MAX, 0); /* 2^44 MiB, rounded up: not "0K" */
    kmem_text_kbytes(&t, (uint64_t)100000 << 10, 9);
    kmem_text_kbytes(&t, (uint64_t)99999 << 10, 9);
    expect(&t, &s, "17592186044416M      98M   99999K", "kbytes near 2^64 and at the change of unit");

    t = start(&s, buf, sizeof buf);
    /* Quotes and backslashes escaped, control characters as \u00XX. */
    kmem_text_json_str(&t, "a\"b\\c\nd\te\x01");
    expect(&t, &s, "\"a\\\"b\\\\c\\u000ad\\u0009e\\u0001\"", "JSON string");

    /* Longer than the buffer: flushed whenever it fills, nothing lost. */
    t = start(&s, buf, 8);
    char expected[2048] = "";
    for (int i = 0; i < 200; i++) {
        kmem_text_u64(&t, (uint64_t)i, 0);
        kmem_text_char(&t, ',');
        snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%d,", i);
    }
    expect(&t, &s, expected, "a long line through an 8-byte buffer");
    CHECK(s.calls > 50, "the sink was called %u times", s.calls);
    return test_finish("text");
}
