/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * debug.c — the KMEM_DEBUG checks (see debug.h): junk in freed pieces,
 * the redzone after a block. Guard pages are alloc.c's, around the arena.
 */
#include "core/alloc/debug.h"

#include "core/alloc/own.h"
#include "core/base/diag.h"
#include "core/base/lock.h"
#include "core/base/text.h"
#include "core/bucket/bucket.h"

#if __STDC_HOSTED__
uint32_t kmem_debug;
#endif
uint64_t kmem_debug_quarantine_bytes = KMEM_QUARANTINE_BYTES;

void kmem_debug_start(uint32_t checks, uint64_t quarantine_bytes)
{
#if __STDC_HOSTED__
    kmem_debug = checks;
#else
    (void)checks;
#endif
    kmem_debug_quarantine_bytes = quarantine_bytes;
}

/* The size, mixed with the block's key so that neither stale data nor a
 * free piece's marks (key ^ 0..3, which the trailer of a 16-byte piece
 * overlays) read as one: its complement, never within 3 of the key. */
static uintptr_t trailer_of(const void *block, size_t size)
{
    return kmem_piece_key(block) ^ ~(uintptr_t)size;
}

void kmem_debug_arm(void *block, size_t size, size_t usable)
{
    char *b = block;
    __builtin_memset(b + size, KMEM_CANARY_BYTE, usable - 8 - size);
    uintptr_t t = trailer_of(block, size);
    __builtin_memcpy(b + usable - 8, &t, sizeof t);
}

/* A write past the end found: byte `at` changed, of a block of `size`
 * bytes asked for (SIZE_MAX: its size is overwritten too). Aborts. */
static _Noreturn void overflow(const char *who, const void *block, const struct kmem_type *type,
                               size_t size, size_t at)
{
    char text[200]; /* more than the longest message */
    struct kmem_text t;
    kmem_text_init(&t, text, sizeof text - 1, NULL, NULL);
    kmem_text_str(&t, "block");
    if (size != SIZE_MAX) {
        kmem_text_str(&t, " of ");
        kmem_text_u64(&t, size, 0);
        kmem_text_str(&t, " bytes");
    }
    kmem_text_str(&t, " was written past its end (a heap overflow: KMEM_DEBUG=redzone found "
                      "byte ");
    kmem_text_u64(&t, at, 0);
    kmem_text_str(&t, size != SIZE_MAX ? " changed)" : ", where it keeps the size, changed)");
    text[t.tx_len] = '\0';
    kmem_bad_pointer(who, block, type, text);
}

size_t kmem_debug_asked(const void *block, size_t usable, const struct kmem_type *type,
                        const char *who)
{
    const unsigned char *b = block;
    uintptr_t t;
    __builtin_memcpy(&t, b + usable - 8, sizeof t);
    size_t size = (size_t)~(t ^ kmem_piece_key(block));
    if (usable < KMEM_REDZONE_EXTRA || size > usable - KMEM_REDZONE_EXTRA)
        overflow(who, block, type, SIZE_MAX, usable - 8);
    for (size_t i = size; i < usable - 8; i++)
        if (b[i] != KMEM_CANARY_BYTE)
            overflow(who, block, type, size, i);
    return size;
}

void kmem_debug_junk(void *piece, size_t size)
{
    if (size > 2 * sizeof(uintptr_t))
        __builtin_memset((char *)piece + 2 * sizeof(uintptr_t), KMEM_JUNK_BYTE,
                         size - 2 * sizeof(uintptr_t));
}

void kmem_debug_check_junk(const void *piece, size_t size, const char *who)
{
    const unsigned char *b = piece;
    for (size_t i = 2 * sizeof(uintptr_t); i < size; i++)
        if (b[i] != KMEM_JUNK_BYTE)
            kmem_bad_free_block(who, piece, size,
                                "was written after it was freed (KMEM_DEBUG=junk found the "
                                "junk it was filled with changed)");
}

/* ---- the quarantine: a ring of the pieces held back, oldest first ------ */

static kmem_lock held_lock = KMEM_LOCK_INIT;
static void **held;          /* [held_lock] KMEM_QUARANTINE_SLOTS pieces, made on first use */
static uint32_t held_first;  /* [held_lock] the oldest */
static uint32_t held_count;  /* [held_lock] */
static uint64_t held_bytes;  /* [held_lock] */
static uint64_t held_pieces[KMEM_NBUCKETS + 1]; /* [held_lock] per bucket */

/* The bucket of a held piece: its page says (tails count back). */
static unsigned bucket_of(const void *piece)
{
    const struct kmem_page *d = kmem_page_of(kmem_page_index(piece));
    return kmem_kind_is_slab_tail(d->ku_kind) ? d->ku_kind - KMEM_KIND_SLAB_TAIL : d->ku_kind;
}

void *kmem_debug_hold(void *piece, unsigned b, unsigned *out_b)
{
    size_t size = kmem_classes[b].kc_size;
    kmem_lock_acquire(&held_lock);
    if (held == NULL)
        held = kmem_own_alloc(KMEM_QUARANTINE_SLOTS * sizeof(void *));
    if (held == NULL || size > kmem_debug_quarantine_bytes) {
        kmem_lock_release(&held_lock);
        *out_b = b;
        return piece;
    }
    void *out = NULL;
    if (held_count == KMEM_QUARANTINE_SLOTS || held_bytes + size > kmem_debug_quarantine_bytes) {
        out = held[held_first];
        held_first = (held_first + 1) % KMEM_QUARANTINE_SLOTS;
        held_count--;
        *out_b = bucket_of(out);
        held_bytes -= kmem_classes[*out_b].kc_size;
        held_pieces[*out_b]--;
    }
    held[(held_first + held_count) % KMEM_QUARANTINE_SLOTS] = piece;
    held_count++;
    held_bytes += size;
    held_pieces[b]++;
    kmem_lock_release(&held_lock);
    return out;
}

void kmem_debug_add_held(uint64_t counts[KMEM_NBUCKETS + 1])
{
    if (!(kmem_debug & KMEM_DEBUG_QUARANTINE))
        return;
    kmem_lock_acquire(&held_lock);
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
        counts[b] += held_pieces[b];
    kmem_lock_release(&held_lock);
}

void kmem_debug_at_exit(void)
{
    static uint32_t done;
    if (!(kmem_debug & KMEM_DEBUG_QUARANTINE) || !(kmem_debug & KMEM_DEBUG_JUNK) ||
        __atomic_exchange_n(&done, 1, __ATOMIC_RELAXED) != 0)
        return;
    /* Only tried: exit may come from a signal handler that interrupted a
     * free holding the lock. */
    if (!kmem_lock_try(&held_lock))
        return;
    for (uint32_t i = 0; i < held_count; i++) {
        const void *piece = held[(held_first + i) % KMEM_QUARANTINE_SLOTS];
        kmem_debug_check_junk(piece, kmem_classes[bucket_of(piece)].kc_size,
                              "at exit, in the quarantine");
    }
    kmem_lock_release(&held_lock);
}

bool kmem_debug_fork(enum kmem_fork_phase phase)
{
    return kmem_lock_fork(&held_lock, phase);
}
