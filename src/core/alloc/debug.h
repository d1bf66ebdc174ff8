/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * debug.h — the checks KMEM_DEBUG turns on, which cost time and memory
 * and so are off by default. With any of them on but guard, no thread
 * cache is used: every request and free takes the slow path, where they
 * are made.
 *
 *   junk     a freed piece is filled with KMEM_JUNK_BYTE (but its first
 *            two words, which kmem keeps its marks in); a piece is checked
 *            to still hold it when it is handed out again: a write after
 *            free is reported there. New slabs are filled too.
 *   redzone  a block keeps the size asked for: the block is taken at
 *            least KMEM_REDZONE_EXTRA bytes larger, its last 8 bytes
 *            hold the size (mixed with the block's key), the bytes between
 *            the size and them hold KMEM_CANARY_BYTE. Checked at free and
 *            resize: a write past the end is reported. The usable size is
 *            the size asked for.
 *   guard    a large block gets an inaccessible page after it: an overrun
 *            of its last page faults at once.
 *   quarantine[=SIZE]
 *            a freed piece is held back, the oldest going on once more
 *            than SIZE bytes (default KMEM_QUARANTINE_BYTES) or
 *            KMEM_QUARANTINE_SLOTS pieces are held: a second free of a
 *            held piece is a double free, not the free of a block handed
 *            out again, and a stale pointer keeps reading junk (checked
 *            when the piece goes on). Held pieces count as cached.
 *   trace    reports say where the block was allocated, and where a
 *            freed one was freed: the program's call into kmem
 *            (kmem_os_caller), kept in the redzone (8 bytes more; trace
 *            turns redzone on) and in a freed piece's words 2 and 3.
 *
 * Layout of a block with a redzone (usable: the piece, or the large
 * block's pages but the guard):
 *
 *   [ asked for: size ][ canary ... ][ site ^ key ][ trailer: ~size ^ key ]
 *   0                  size                        usable - 8             usable
 *                                   (the site, usable - 16, with trace only)
 */
#ifndef KMEM_DEBUG_H
#define KMEM_DEBUG_H

#include "core/base/config.h"
#include "core/base/lock.h"

struct kmem_type;

#define KMEM_DEBUG_JUNK    1u
#define KMEM_DEBUG_REDZONE 2u
#define KMEM_DEBUG_GUARD   4u
#define KMEM_DEBUG_QUARANTINE 8u
#define KMEM_DEBUG_TRACE   16u /* with redzone: set with it (settings.c) */
#define KMEM_DEBUG_ALL     15u /* all but trace, which is slow: a backtrace
                                  at every request and free */

#define KMEM_QUARANTINE_BYTES ((uint64_t)16 << 20)
#define KMEM_QUARANTINE_SLOTS 65536

#define KMEM_JUNK_BYTE      0xdf
#define KMEM_CANARY_BYTE    0xca
#define KMEM_REDZONE_EXTRA  9 /* one canary byte at least, and the trailer */

/* [init] The checks on (KMEM_DEBUG_*), and the quarantine's size in
 * bytes, set when kmem starts (kmem_debug_start). The freestanding core
 * reads no environment: there the checks are compiled out. */
#if __STDC_HOSTED__
extern uint32_t kmem_debug;
#else
enum { kmem_debug = 0 };
#endif
extern uint64_t kmem_debug_quarantine_bytes;

/* Whether the checks on keep the thread caches from being made (all but
 * guard, which is for large blocks: they take the slow path anyway). */
static inline bool kmem_debug_without_caches(void)
{
    return (kmem_debug & ~KMEM_DEBUG_GUARD) != 0;
}

/* At start: the checks asked for, and the quarantine's size. */
void kmem_debug_start(uint32_t checks, uint64_t quarantine_bytes);

/* The bytes to take for a request of `size` (with redzone, and trace,
 * more); SIZE_MAX when that overflows. */
size_t kmem_debug_request_redzone(size_t size);
static inline size_t kmem_debug_request(size_t size)
{
    return (kmem_debug & KMEM_DEBUG_REDZONE) ? kmem_debug_request_redzone(size) : size;
}

/* A block of `usable` bytes handed out for `size` to `type`: write its
 * redzone, which keeps the size and the type (and where it was
 * allocated). */
void kmem_debug_arm(void *block, size_t size, size_t usable, const struct kmem_type *type);

/* The size asked for of a live block of `usable` bytes, its redzone
 * checked: a write past its end, or a `type` (not NULL) other than the
 * one it was allocated with, is reported (naming `who` and `type`, and
 * where the block was allocated). */
size_t kmem_debug_asked(const void *block, size_t usable, const struct kmem_type *type,
                        const char *who);

/* A piece being freed (its redzone checked already): fill it with junk,
 * and note where it was freed and allocated. */
void kmem_debug_free_piece(void *piece, size_t size);

/* A piece about to be handed out: still all junk? Reported if not (with
 * where it was freed and allocated). */
void kmem_debug_check_junk(const void *piece, size_t size, const char *who);

/* A second free of a piece: reported with where it was freed and
 * allocated, when it keeps them. */
_Noreturn void kmem_debug_double_free(const char *who, const void *piece, size_t size,
                                      const struct kmem_type *type);

/* Hold back a freed piece of bucket b (marked free already). Returns a
 * piece that leaves the quarantine now, to be given back (its bucket in
 * *out_b), or NULL. A piece that cannot be held (no room for the ring)
 * is returned itself. */
void *kmem_debug_hold(void *piece, unsigned b, unsigned *out_b);

/* Around fork(): the quarantine's lock (see kmem_lock_fork, whose answer
 * it returns). A child whose parent's fork skipped it empties the
 * quarantine: its pieces stay out of use there. */
bool kmem_debug_fork(enum kmem_fork_phase phase);

/* The process ends (exit, _exit): check that every piece still held back
 * holds its junk (a write after free is reported, and the process
 * aborts). Once; nothing without the quarantine. */
void kmem_debug_at_exit(void);

/* Add the pieces held back, per bucket, to held[] (statistics: they are
 * free, as cached ones are). */
void kmem_debug_add_held(uint64_t held[KMEM_NBUCKETS + 1]);

#endif /* KMEM_DEBUG_H */
