/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * diag.h — fatal diagnostics: one line on the error output, then abort.
 * kmem stops rather than continue on a heap it can no longer trust.
 */
#ifndef KMEM_DIAG_H
#define KMEM_DIAG_H

#include <stddef.h>

struct kmem_type;

/* "kmem: <who>(<ptr>, type "<name>"): <why>" and abort. type may be NULL. */
_Noreturn void kmem_bad_pointer(const char *who, const void *ptr,
                                const struct kmem_type *type, const char *why);

/* The same, the reason in two parts, the second quoted:
 * "...: <why>"<what>"". */
_Noreturn void kmem_bad_pointer2(const char *who, const void *ptr,
                                 const struct kmem_type *type, const char *why,
                                 const char *what);

/* "kmem: <who>(<size> bytes, type "<name>"): <why>" and abort. */
_Noreturn void kmem_bad_request(const char *who, size_t size,
                                const struct kmem_type *type, const char *why);

/* A free piece found damaged where kmem was about to hand it out or list
 * it: "kmem: <where>: free <size>-byte block <ptr> <why>" and abort. */
_Noreturn void kmem_bad_free_block(const char *where, const void *piece, size_t size,
                                   const char *why);

/* An internal invariant failed: "kmem: internal error: <what>" and abort. */
_Noreturn void kmem_panic(const char *what);

/* "kmem: <a><b>" on the error output; the program goes on. */
void kmem_warn(const char *a, const char *b);

/* Like kmem_panic, but returns: for kmem_check(), which counts failures. */
void kmem_complain(const char *what, unsigned long long a, unsigned long long b);
/* "kmem_check: type "<name>" <what> (<a>, <b>)". */
void kmem_complain_type(const char *what, const char *name, unsigned long long a,
                        unsigned long long b);

#endif /* KMEM_DIAG_H */
