/*
 * diag.c — see diag.h.
 */
#include "diag.h"

#include "../platform/platform.h"
#include "../util/text.h"
#include "kmem.h"

static void diag_sink(void *arg, const char *text, size_t len)
{
    (void)arg;
    kmem_os_write_error(text, len);
}

static void diag_type(struct kmem_text *t, const struct kmem_type *type)
{
    if (type == NULL)
        return;
    kmem_text_str(t, ", type \"");
    kmem_text_str(t, type->ks_shortdesc != NULL ? type->ks_shortdesc : "?");
    kmem_text_char(t, '"');
}

static _Noreturn void diag_finish(struct kmem_text *t, const char *why)
{
    kmem_text_str(t, "): ");
    kmem_text_str(t, why);
    kmem_text_char(t, '\n');
    kmem_text_flush(t);
    kmem_os_abort();
}

void kmem_bad_pointer(const char *who, const void *ptr,
                      const struct kmem_type *type, const char *why)
{
    char buf[256];
    struct kmem_text t;
    kmem_text_init(&t, buf, sizeof buf, diag_sink, NULL);
    kmem_text_str(&t, "kmem: ");
    kmem_text_str(&t, who);
    kmem_text_char(&t, '(');
    kmem_text_hex(&t, (uintptr_t)ptr);
    diag_type(&t, type);
    diag_finish(&t, why);
}

void kmem_bad_request(const char *who, size_t size,
                      const struct kmem_type *type, const char *why)
{
    char buf[256];
    struct kmem_text t;
    kmem_text_init(&t, buf, sizeof buf, diag_sink, NULL);
    kmem_text_str(&t, "kmem: ");
    kmem_text_str(&t, who);
    kmem_text_char(&t, '(');
    kmem_text_u64(&t, size, 0);
    kmem_text_str(&t, " bytes");
    diag_type(&t, type);
    diag_finish(&t, why);
}

void kmem_panic(const char *what)
{
    char buf[256];
    struct kmem_text t;
    kmem_text_init(&t, buf, sizeof buf, diag_sink, NULL);
    kmem_text_str(&t, "kmem: internal error: ");
    kmem_text_str(&t, what);
    kmem_text_char(&t, '\n');
    kmem_text_flush(&t);
    kmem_os_abort();
}

void kmem_warn(const char *a, const char *b)
{
    char buf[256];
    struct kmem_text t;
    kmem_text_init(&t, buf, sizeof buf, diag_sink, NULL);
    kmem_text_str(&t, "kmem: ");
    kmem_text_str(&t, a);
    kmem_text_str(&t, b);
    kmem_text_char(&t, '\n');
    kmem_text_flush(&t);
}

void kmem_complain(const char *what, unsigned long long a, unsigned long long b)
{
    char buf[256];
    struct kmem_text t;
    kmem_text_init(&t, buf, sizeof buf, diag_sink, NULL);
    kmem_text_str(&t, "kmem_check: ");
    kmem_text_str(&t, what);
    kmem_text_str(&t, " (");
    kmem_text_u64(&t, a, 0);
    kmem_text_str(&t, ", ");
    kmem_text_u64(&t, b, 0);
    kmem_text_str(&t, ")\n");
    kmem_text_flush(&t);
}
