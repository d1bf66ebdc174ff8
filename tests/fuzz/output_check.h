/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * output_check.h — is what kmemstat printed well-formed? For the fuzzer
 * (tests/fuzz/fuzz_record.c) and the reader's test (tests/internal/
 * test_record.c), on whatever record they made it print:
 *
 *   out_json_error        one JSON value (RFC 8259), strings in valid UTF-8
 *   out_prometheus_error  the text exposition format: "# HELP"/"# TYPE"
 *                         lines and `name{label="value",...} number` lines,
 *                         in valid UTF-8
 *   out_text_error        the tables: valid UTF-8, no control character but
 *                         the newline (nothing a terminal would act on)
 *
 * Each returns NULL when the text is well-formed, else what is wrong and
 * at which byte (in a static buffer).
 */
#ifndef KMEM_TEST_OUTPUT_CHECK_H
#define KMEM_TEST_OUTPUT_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct oc {
    const unsigned char *start, *p, *end;
    const char *what;
};

static inline bool oc_fail(struct oc *c, const char *what)
{
    if (c->what == NULL)
        c->what = what;
    return false;
}

static inline const char *oc_result(const struct oc *c)
{
    static char msg[128];
    if (c->what == NULL)
        return NULL;
    snprintf(msg, sizeof msg, "%s at byte %zu", c->what, (size_t)(c->p - c->start));
    return msg;
}

/* One UTF-8 character at c->p (its first byte >= 0x80): shortest form,
 * no surrogate, at most U+10FFFF. */
static inline bool oc_utf8(struct oc *c)
{
    const unsigned char *p = c->p;
    unsigned n, min;
    uint32_t v;
    if (*p >= 0xc2 && *p <= 0xdf) {
        n = 1, min = 0x80, v = *p & 0x1f;
    } else if (*p >= 0xe0 && *p <= 0xef) {
        n = 2, min = 0x800, v = *p & 0x0f;
    } else if (*p >= 0xf0 && *p <= 0xf4) {
        n = 3, min = 0x10000, v = *p & 0x07;
    } else {
        return oc_fail(c, "a byte that starts no UTF-8 character");
    }
    if ((size_t)(c->end - p) <= n)
        return oc_fail(c, "a UTF-8 character cut short");
    for (unsigned i = 1; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return oc_fail(c, "a UTF-8 character cut short");
        v = v << 6 | (p[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return oc_fail(c, "an invalid UTF-8 character");
    c->p += n + 1;
    return true;
}

/* ---- JSON ----------------------------------------------------------------- */

static inline void oc_space(struct oc *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static inline bool oc_digits(struct oc *c)
{
    const unsigned char *from = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        c->p++;
    return c->p > from || oc_fail(c, "a number without digits");
}

static inline bool oc_number(struct oc *c)
{
    if (c->p < c->end && *c->p == '-')
        c->p++;
    if (c->p < c->end && *c->p == '0')
        c->p++;
    else if (!oc_digits(c))
        return false;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (!oc_digits(c))
            return false;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (!oc_digits(c))
            return false;
    }
    return true;
}

static inline bool oc_hex4(struct oc *c)
{
    for (int i = 0; i < 4; i++, c->p++) {
        unsigned char h = c->p < c->end ? *c->p : 0;
        if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F')))
            return oc_fail(c, "a \\u escape without four hex digits");
    }
    return true;
}

static inline bool oc_string(struct oc *c)
{
    c->p++; /* the opening quote */
    while (c->p < c->end) {
        unsigned char ch = *c->p;
        if (ch == '"') {
            c->p++;
            return true;
        }
        if (ch < 0x20)
            return oc_fail(c, "a control character in a JSON string");
        if (ch >= 0x80) {
            if (!oc_utf8(c))
                return false;
            continue;
        }
        c->p++;
        if (ch != '\\')
            continue;
        if (c->p == c->end)
            break;
        ch = *c->p++;
        if (ch == 'u') {
            if (!oc_hex4(c))
                return false;
        } else if (strchr("\"\\/bfnrt", ch) == NULL || ch == '\0') {
            return oc_fail(c, "an unknown escape in a JSON string");
        }
    }
    return oc_fail(c, "a JSON string without its closing quote");
}

static inline bool oc_literal(struct oc *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return oc_fail(c, "not a JSON value");
    c->p += n;
    return true;
}

static inline bool oc_value(struct oc *c, int depth);

/* An object (close '}') or an array (close ']'). */
static inline bool oc_members(struct oc *c, int depth, char close)
{
    c->p++;
    oc_space(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        return true;
    }
    for (;;) {
        oc_space(c);
        if (close == '}') {
            if (c->p == c->end || *c->p != '"')
                return oc_fail(c, "an object member without a string name");
            if (!oc_string(c))
                return false;
            oc_space(c);
            if (c->p == c->end || *c->p != ':')
                return oc_fail(c, "an object member without a colon");
            c->p++;
        }
        if (!oc_value(c, depth + 1))
            return false;
        oc_space(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == close) {
            c->p++;
            return true;
        }
        return oc_fail(c, "neither a comma nor the end of an object or array");
    }
}

static inline bool oc_value(struct oc *c, int depth)
{
    oc_space(c);
    if (depth > 64)
        return oc_fail(c, "JSON nested too deep");
    if (c->p == c->end)
        return oc_fail(c, "the JSON ends before a value");
    switch (*c->p) {
    case '{': return oc_members(c, depth, '}');
    case '[': return oc_members(c, depth, ']');
    case '"': return oc_string(c);
    case 't': return oc_literal(c, "true");
    case 'f': return oc_literal(c, "false");
    case 'n': return oc_literal(c, "null");
    default:  return oc_number(c);
    }
}

static inline const char *out_json_error(const char *text, size_t len)
{
    struct oc c = { (const void *)text, (const void *)text, (const void *)(text + len), NULL };
    if (oc_value(&c, 0)) {
        oc_space(&c);
        if (c.p != c.end)
            oc_fail(&c, "more after the JSON value");
    }
    return oc_result(&c);
}

/* ---- Prometheus ------------------------------------------------------------ */

static inline bool oc_is(unsigned char ch, bool first)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == ':' ||
           (!first && ch >= '0' && ch <= '9');
}

static inline bool oc_name(struct oc *c)
{
    if (c->p == c->end || !oc_is(*c->p, true))
        return oc_fail(c, "not a metric or label name");
    while (c->p < c->end && oc_is(*c->p, false))
        c->p++;
    return true;
}

static inline bool oc_label_value(struct oc *c)
{
    if (c->p == c->end || *c->p != '"')
        return oc_fail(c, "a label value without its opening quote");
    c->p++;
    while (c->p < c->end && *c->p != '"') {
        if (*c->p == '\n')
            return oc_fail(c, "a newline in a label value");
        if (*c->p >= 0x80) {
            if (!oc_utf8(c))
                return false;
            continue;
        }
        if (*c->p == '\\') {
            c->p++;
            if (c->p == c->end || (*c->p != '\\' && *c->p != '"' && *c->p != 'n'))
                return oc_fail(c, "an unknown escape in a label value");
        }
        c->p++;
    }
    if (c->p == c->end)
        return oc_fail(c, "a label value without its closing quote");
    c->p++;
    return true;
}

static inline bool oc_sample(struct oc *c)
{
    if (!oc_name(c))
        return false;
    if (c->p < c->end && *c->p == '{') {
        c->p++;
        while (c->p < c->end && *c->p != '}') {
            if (!oc_name(c))
                return false;
            if (c->p == c->end || *c->p != '=')
                return oc_fail(c, "a label without '='");
            c->p++;
            if (!oc_label_value(c))
                return false;
            if (c->p < c->end && *c->p == ',')
                c->p++;
            else if (c->p < c->end && *c->p != '}')
                return oc_fail(c, "labels not separated by commas");
        }
        if (c->p == c->end)
            return oc_fail(c, "labels without their closing brace");
        c->p++;
    }
    if (c->p == c->end || *c->p != ' ')
        return oc_fail(c, "no space before a sample's value");
    c->p++;
    if (!oc_digits(c))
        return false;
    if (c->p == c->end || *c->p != '\n')
        return oc_fail(c, "more after a sample's value");
    c->p++;
    return true;
}

static inline const char *out_prometheus_error(const char *text, size_t len)
{
    struct oc c = { (const void *)text, (const void *)text, (const void *)(text + len), NULL };
    while (c.p < c.end) {
        if (*c.p == '#') {
            if ((size_t)(c.end - c.p) < 7 ||
                (memcmp(c.p, "# HELP ", 7) != 0 && memcmp(c.p, "# TYPE ", 7) != 0)) {
                oc_fail(&c, "a comment line neither HELP nor TYPE");
                break;
            }
            const unsigned char *nl = memchr(c.p, '\n', (size_t)(c.end - c.p));
            if (nl == NULL) {
                oc_fail(&c, "a last line without its newline");
                break;
            }
            c.p = nl + 1;
        } else if (!oc_sample(&c)) {
            break;
        }
    }
    return oc_result(&c);
}

/* ---- the tables -------------------------------------------------------------- */

static inline const char *out_text_error(const char *text, size_t len)
{
    struct oc c = { (const void *)text, (const void *)text, (const void *)(text + len), NULL };
    while (c.p < c.end) {
        if (*c.p >= 0x80) {
            if (!oc_utf8(&c))
                break;
        } else if ((*c.p < 0x20 && *c.p != '\n') || *c.p == 0x7f) {
            oc_fail(&c, "a control character in the tables");
            break;
        } else {
            c.p++;
        }
    }
    return oc_result(&c);
}

#endif /* KMEM_TEST_OUTPUT_CHECK_H */
