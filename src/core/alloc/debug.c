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
#include "core/type/type.h"

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

/* The size, and with 64-bit words the low 16 bits of the type's id in
 * the top 16, mixed with the block's key so that neither stale data nor a
 * free piece's marks (key ^ 0..3, which the trailer of a 16-byte piece
 * overlays) read as one: the complement, never within 3 of the key
 * (sizes stay below 2^48 - 4):
 *
 *     trailer = key ^ ~(size | id << 48). */
#if UINTPTR_MAX > 0xFFFFFFFFu
#define TRAILER_SIZE_BITS 48
#define TRAILER_SIZE_MASK (((uintptr_t)1 << TRAILER_SIZE_BITS) - 1)
#define TRAILER_ID_MASK   0xFFFFu
#else
/* 32 bits (freestanding only, where the checks are compiled out). */
#define TRAILER_SIZE_BITS 0
#define TRAILER_SIZE_MASK UINTPTR_MAX
#define TRAILER_ID_MASK   0u
#endif

static uintptr_t type_tag(const struct kmem_type *type)
{
    return type != NULL ? KMEM_RELAXED_LOAD(type->ks_id) & TRAILER_ID_MASK : 0;
}

static uintptr_t trailer_of(const void *block, size_t size, uintptr_t tag)
{
    uintptr_t v = (uintptr_t)size;
#if TRAILER_SIZE_BITS
    v |= tag << TRAILER_SIZE_BITS;
#else
    (void)tag;
#endif
    return kmem_piece_key(block) ^ ~v;
}

/* ---- trace: where a block was allocated and freed ------------------------
 * The allocation's caller in the word before the trailer; a freed piece's
 * freeing caller and allocating one in its words 2 and 3 (junk starts
 * after them), each below 2^48 with the same 16-bit check of both in its
 * top bits, so that a write after free into them is still found. Each
 * mixed with the block's key. */

#if UINTPTR_MAX > 0xFFFFFFFFu
#define SITE_BITS 48
#define SITE_MASK (((uintptr_t)1 << SITE_BITS) - 1)

static uintptr_t site_check(uintptr_t freed, uintptr_t allocated)
{
    uint64_t h = (uint64_t)freed * 0x9E3779B97F4A7C15ull ^
                 (uint64_t)allocated * 0xC2B2AE3D27D4EB4Full;
    return (uintptr_t)(h >> SITE_BITS) << SITE_BITS;
}
#else
/* 32 bits (freestanding only, where there is no trace): no spare bits. */
#define SITE_MASK UINTPTR_MAX

static uintptr_t site_check(uintptr_t freed, uintptr_t allocated)
{
    (void)freed;
    (void)allocated;
    return 0;
}
#endif

static bool tracing(void)
{
    return (kmem_debug & KMEM_DEBUG_TRACE) != 0;
}

/* Where junk starts in a freed piece: past its marks, and past the two
 * sites a traced piece keeps. */
static size_t junk_from(void)
{
    return (tracing() ? 4 : 2) * sizeof(uintptr_t);
}

static uintptr_t load_word(const void *block, size_t at)
{
    uintptr_t w;
    __builtin_memcpy(&w, (const char *)block + at, sizeof w);
    return w ^ kmem_piece_key(block);
}

static void store_word(void *block, size_t at, uintptr_t v)
{
    v ^= kmem_piece_key(block);
    __builtin_memcpy((char *)block + at, &v, sizeof v);
}

/* "; <what> at <where>" for a site, nothing for none. */
static void add_site(struct kmem_text *t, const char *what, uintptr_t pc)
{
    if (pc == 0)
        return;
    char where[160];
    kmem_os_describe_code(pc, where, sizeof where);
    kmem_text_str(t, "; ");
    kmem_text_str(t, what);
    kmem_text_str(t, " at ");
    kmem_text_str(t, where);
}

/* Where a block's tail starts, counted back from its usable end: the
 * trailer, and before it, with trace, the allocation's site. */
#define TRAILER_BACK 8
#define SITE_BACK    16

/* The bytes a redzone adds: one canary byte at least, and the tail. */
static size_t redzone_extra(void)
{
    return tracing() ? KMEM_REDZONE_EXTRA + 8 : KMEM_REDZONE_EXTRA;
}

size_t kmem_debug_request_redzone(size_t size)
{
    size_t extra = redzone_extra();
    return size <= SIZE_MAX - extra ? size + extra : SIZE_MAX;
}

/* The end of a block's canary: the start of its tail. */
static size_t canary_end(size_t usable)
{
    return usable - (tracing() ? SITE_BACK : TRAILER_BACK);
}

void kmem_debug_arm(void *block, size_t size, size_t usable, const struct kmem_type *type)
{
    char *b = block;
    __builtin_memset(b + size, KMEM_CANARY_BYTE, canary_end(usable) - size);
    if (tracing())
        store_word(block, usable - SITE_BACK, kmem_os_caller());
    uintptr_t t = trailer_of(block, size, type_tag(type));
    __builtin_memcpy(b + usable - TRAILER_BACK, &t, sizeof t);
}

/* A write past the end found: byte `at` changed, of a block of `size`
 * bytes asked for (SIZE_MAX: its size is overwritten too). Aborts. */
static _Noreturn void overflow(const char *who, const void *block, const struct kmem_type *type,
                               size_t size, size_t usable, size_t at)
{
    char text[600]; /* more than the longest message */
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
    if (tracing() && at < usable - SITE_BACK) /* the site is intact */
        add_site(&t, "allocated", load_word(block, usable - SITE_BACK));
    text[t.tx_len] = '\0';
    kmem_bad_pointer(who, block, type, text);
}

#if TRAILER_SIZE_BITS
/* A block freed or resized under a type it was not allocated with, found
 * by the type kept in its trailer (the low 16 bits of its id). Aborts. */
static _Noreturn void wrong_type(const char *who, const void *block, size_t usable,
                                 const struct kmem_type *type, size_t size, uint32_t tag)
{
    char text[600];
    struct kmem_text t;
    kmem_text_init(&t, text, sizeof text - 1, NULL, NULL);
    kmem_text_str(&t, "block of ");
    kmem_text_u64(&t, size, 0);
    kmem_text_str(&t, " bytes was allocated as type ");
    const struct kmem_type *owner = tag != 0 ? kmem_type_by_id(tag) : NULL;
    if (owner != NULL) {
        kmem_text_str(&t, "\"");
        kmem_text_str(&t, owner->ks_shortdesc);
        kmem_text_str(&t, "\"");
    } else {
        kmem_text_str(&t, "number ");
        kmem_text_u64(&t, tag, 0);
    }
    kmem_text_str(&t, ", not this one (KMEM_DEBUG=redzone keeps the type)");
    if (tracing())
        add_site(&t, "allocated", load_word(block, usable - SITE_BACK));
    text[t.tx_len] = '\0';
    kmem_bad_pointer(who, block, type, text);
}
#endif

size_t kmem_debug_asked(const void *block, size_t usable, const struct kmem_type *type,
                        const char *who)
{
    const unsigned char *b = block;
    size_t extra = redzone_extra();
    uintptr_t t;
    __builtin_memcpy(&t, b + usable - TRAILER_BACK, sizeof t);
    uintptr_t v = ~(t ^ kmem_piece_key(block));
    size_t size = (size_t)(v & TRAILER_SIZE_MASK);
    if (usable < extra || size > usable - extra)
        overflow(who, block, type, SIZE_MAX, usable, usable - TRAILER_BACK);
    for (size_t i = size; i < canary_end(usable); i++)
        if (b[i] != KMEM_CANARY_BYTE)
            overflow(who, block, type, size, usable, i);
#if TRAILER_SIZE_BITS
    uintptr_t tag = v >> TRAILER_SIZE_BITS;
    if (type != NULL && tag != type_tag(type))
        wrong_type(who, block, usable, type, size, (uint32_t)tag);
#endif
    return size;
}

void kmem_debug_free_piece(void *piece, size_t size)
{
    uintptr_t allocated = 0;
    bool traced = tracing() && size >= 4 * sizeof(uintptr_t);
    if (traced)
        allocated = load_word(piece, size - SITE_BACK);
    if ((kmem_debug & KMEM_DEBUG_JUNK) && size > junk_from())
        __builtin_memset((char *)piece + junk_from(), KMEM_JUNK_BYTE, size - junk_from());
    if (traced) {
        uintptr_t freed = kmem_os_caller();
        freed = freed <= SITE_MASK ? freed : 0;
        allocated = allocated <= SITE_MASK ? allocated : 0;
        uintptr_t check = site_check(freed, allocated);
        store_word(piece, 2 * sizeof(uintptr_t), freed | check);
        store_word(piece, 3 * sizeof(uintptr_t), allocated | check);
    }
}

/* A traced freed piece's two sites, if its words 2 and 3 are intact. */
static bool free_sites(const void *piece, uintptr_t *freed, uintptr_t *allocated)
{
    uintptr_t a = load_word(piece, 2 * sizeof(uintptr_t));
    uintptr_t b = load_word(piece, 3 * sizeof(uintptr_t));
    *freed = a & SITE_MASK;
    *allocated = b & SITE_MASK;
    uintptr_t check = site_check(*freed, *allocated);
    return (a & ~SITE_MASK) == check && (b & ~SITE_MASK) == check;
}

/* "; freed at ...; allocated at ..." for a freed piece that keeps them. */
static void add_free_sites(struct kmem_text *t, const void *piece, size_t size)
{
    uintptr_t freed, allocated;
    if (!tracing() || size < 4 * sizeof(uintptr_t) || !free_sites(piece, &freed, &allocated))
        return;
    add_site(t, "freed", freed);
    add_site(t, "allocated", allocated);
}

void kmem_debug_check_junk(const void *piece, size_t size, const char *who)
{
    const unsigned char *b = piece;
    uintptr_t freed, allocated;
    size_t from = junk_from();
    if (tracing() && size >= 4 * sizeof(uintptr_t) && !free_sites(piece, &freed, &allocated))
        from = 2 * sizeof(uintptr_t); /* then all junk (a new slab's), or written over */
    for (size_t i = from; i < size; i++)
        if (b[i] != KMEM_JUNK_BYTE) {
            char text[600];
            struct kmem_text t;
            kmem_text_init(&t, text, sizeof text - 1, NULL, NULL);
            kmem_text_str(&t, "was written after it was freed (KMEM_DEBUG=junk found the junk "
                              "it was filled with changed at byte ");
            kmem_text_u64(&t, i, 0);
            kmem_text_str(&t, ")");
            add_free_sites(&t, piece, size);
            text[t.tx_len] = '\0';
            kmem_bad_free_block(who, piece, size, text);
        }
}

void kmem_debug_double_free(const char *who, const void *piece, size_t size,
                            const struct kmem_type *type)
{
    char text[600];
    struct kmem_text t;
    kmem_text_init(&t, text, sizeof text - 1, NULL, NULL);
    kmem_text_str(&t, "block is already free (double free)");
    add_free_sites(&t, piece, size);
    text[t.tx_len] = '\0';
    kmem_bad_pointer(who, piece, type, text);
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
    bool answer = kmem_lock_fork(&held_lock, phase);
    if (phase == KMEM_FORK_CHILD && answer) {
        /* Stopped while holding a piece back: the ring may be half
         * changed. The child lets go of all it held (out of use there). */
        held_first = held_count = 0;
        held_bytes = 0;
        __builtin_memset(held_pieces, 0, sizeof held_pieces);
    }
    return answer;
}
