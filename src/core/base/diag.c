/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * diag.c — see diag.h. Each message is built in a small buffer on the
 * stack (no allocation: the heap may be what is wrong) and written in one
 * piece.
 */
#include "core/base/diag.h"

#include "platform/platform.h"
#include "core/base/text.h"
#include "kmem.h"

struct diag {
    struct kmem_text d_text;
    char d_buf[256];
};

static void diag_sink(void *arg, const char *text, size_t len)
{
    (void)arg;
    kmem_os_write_error(text, len);
}

static struct kmem_text *diag_start(struct diag *d, const char *prefix)
{
    kmem_text_init(&d->d_text, d->d_buf, sizeof d->d_buf, diag_sink, NULL);
    kmem_text_str(&d->d_text, prefix);
    return &d->d_text;
}

static void diag_end(struct diag *d)
{
    kmem_text_char(&d->d_text, '\n');
    kmem_text_flush(&d->d_text);
}

/* "<who>(<argument>, type "<name>"): <why>", then abort; `what`, if not
 * NULL, follows in quotes. */
static _Noreturn void diag_call_end(struct diag *d, const struct kmem_type *type,
                                    const char *why, const char *what)
{
    struct kmem_text *t = &d->d_text;
    if (type != NULL) {
        kmem_text_str(t, ", type \"");
        kmem_text_str(t, type->ks_shortdesc != NULL ? type->ks_shortdesc : "?");
        kmem_text_char(t, '"');
    }
    kmem_text_str(t, "): ");
    kmem_text_str(t, why);
    if (what != NULL) {
        kmem_text_char(t, '"');
        kmem_text_str(t, what);
        kmem_text_char(t, '"');
    }
    diag_end(d);
    kmem_os_abort();
}

static struct kmem_text *diag_call_start(struct diag *d, const char *who)
{
    struct kmem_text *t = diag_start(d, "kmem: ");
    kmem_text_str(t, who);
    kmem_text_char(t, '(');
    return t;
}

void kmem_bad_pointer(const char *who, const void *ptr,
                      const struct kmem_type *type, const char *why)
{
    struct diag d;
    kmem_text_hex(diag_call_start(&d, who), (uintptr_t)ptr);
    diag_call_end(&d, type, why, NULL);
}

void kmem_bad_pointer2(const char *who, const void *ptr, const struct kmem_type *type,
                       const char *why, const char *what)
{
    struct diag d;
    kmem_text_hex(diag_call_start(&d, who), (uintptr_t)ptr);
    diag_call_end(&d, type, why, what);
}

void kmem_bad_request(const char *who, size_t size,
                      const struct kmem_type *type, const char *why)
{
    struct diag d;
    struct kmem_text *t = diag_call_start(&d, who);
    kmem_text_u64(t, size, 0);
    kmem_text_str(t, " bytes");
    diag_call_end(&d, type, why, NULL);
}

void kmem_bad_free_block(const char *where, const void *piece, size_t size, const char *why)
{
    struct diag d;
    struct kmem_text *t = diag_start(&d, "kmem: ");
    kmem_text_str(t, where);
    kmem_text_str(t, ": free ");
    kmem_text_u64(t, size, 0);
    kmem_text_str(t, "-byte block ");
    kmem_text_hex(t, (uintptr_t)piece);
    kmem_text_char(t, ' ');
    kmem_text_str(t, why);
    diag_end(&d);
    kmem_os_abort();
}

void kmem_panic(const char *what)
{
    struct diag d;
    kmem_text_str(diag_start(&d, "kmem: internal error: "), what);
    diag_end(&d);
    kmem_os_abort();
}

void kmem_warn(const char *a, const char *b)
{
    struct diag d;
    struct kmem_text *t = diag_start(&d, "kmem: ");
    kmem_text_str(t, a);
    kmem_text_str(t, b);
    diag_end(&d);
}

void kmem_complain_type(const char *what, const char *name, unsigned long long a,
                        unsigned long long b)
{
    struct diag d;
    struct kmem_text *t = diag_start(&d, "kmem_check: type \"");
    kmem_text_str(t, name != NULL ? name : "?");
    kmem_text_str(t, "\" ");
    kmem_text_str(t, what);
    kmem_text_str(t, " (");
    kmem_text_u64(t, a, 0);
    kmem_text_str(t, ", ");
    kmem_text_u64(t, b, 0);
    kmem_text_str(t, ")");
    diag_end(&d);
}

void kmem_complain(const char *what, unsigned long long a, unsigned long long b)
{
    struct diag d;
    struct kmem_text *t = diag_start(&d, "kmem_check: ");
    kmem_text_str(t, what);
    kmem_text_str(t, " (");
    kmem_text_u64(t, a, 0);
    kmem_text_str(t, ", ");
    kmem_text_u64(t, b, 0);
    kmem_text_char(t, ')');
    diag_end(&d);
}
