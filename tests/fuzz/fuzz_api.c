/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_api.c — libFuzzer harness for the typed API: each input is a
 * sequence of operations (allocate, aligned allocate, free, resize, set
 * or lift a type's limit, trim, flush the thread's cache, read the
 * statistics, check the heap) on up to 64 live blocks of three types,
 * each step checked against a shadow model:
 *
 *   contents   every live block keeps the pattern written into it (a
 *              resized one up to the smaller size; KM_ZERO gives zeros),
 *              checked at its first and last 256 bytes and every 509th
 *   no overlap no two live blocks share a byte
 *   sizes      kmem_usable_size(p) >= the size asked for; aligned blocks
 *              are aligned
 *   figures    per type, inuse == live blocks and memuse == the sum of
 *              their usable sizes (exact: one thread)
 *   limits     a type's memuse never passes its limit; a type without one
 *              never gets NULL for a small KM_NOWAIT request
 *   heap       kmem_check() == 0 whenever asked, and at the end of each
 *              input, when everything has been freed
 *
 * A failed check aborts (libFuzzer saves the input). The library is built
 * into the harness from its sources (mk/build.mk), under ASan and UBSan.
 *
 * An input is read as steps: a byte for the operation (its value mod 11),
 * a byte for the slot, then the operation's own bytes (type, flags, size,
 * alignment, limit). Its seeds (tests/fuzz/corpus/api/) are four
 * sequences: every slot allocated, resized and freed ("basic"), requests
 * at two types' limits ("limits"), aligned and large blocks
 * ("aligned-large"), and 2000 random bytes ("random").
 */
#include <kmem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

KMEM_TYPE_DEFINE(M_FA, "fuzz_a", "fuzz_api: unlimited");
KMEM_TYPE_DEFINE(M_FB, "fuzz_b", "fuzz_api: limited at times");
KMEM_TYPE_DEFINE(M_FC, "fuzz_c", "fuzz_api: limited at times");

#define SLOTS 64
#define NTYPES 3

struct slot {
    unsigned char *p;
    size_t size;  /* asked for */
    size_t align; /* 0: none asked */
    unsigned type;
    unsigned char seed;
};

static struct kmem_type *const types[NTYPES] = { M_FA, M_FB, M_FC };
static struct slot slots[SLOTS];
static size_t limits[NTYPES];

static void fail(const char *what, size_t a, size_t b)
{
    fprintf(stderr, "fuzz_api: %s (%zu, %zu)\n", what, a, b);
    abort();
}

struct input {
    const uint8_t *d;
    size_t n, at;
};

static unsigned next_byte(struct input *in)
{
    return in->at < in->n ? in->d[in->at++] : 0;
}

/* A size: mostly small, sometimes pages, now and then up to 1 MiB. */
static size_t next_size(struct input *in)
{
    unsigned a = next_byte(in), b = next_byte(in);
    switch (a >> 6) {
    case 0: return (size_t)(a & 63) * 4 + (b & 3);     /* 0 .. 255 */
    case 1: return ((size_t)(a & 63) << 8 | b) % 8193; /* up to 8 KiB */
    case 2: return ((size_t)(a & 63) << 10 | (size_t)b << 2) % 65537;
    default: return ((size_t)(a & 63) << 14 | (size_t)b << 6) % (1u << 20);
    }
}

static unsigned char pattern(const struct slot *s, size_t i)
{
    return (unsigned char)(s->seed + i * 7 + (i >> 8));
}

/* The bytes of a block that carry the pattern: the first and last 256
 * and every 509th in between (a prime: it walks across pieces and pages),
 * so that a megabyte block costs thousands of steps, not a million. */
static size_t next_marked(size_t i, size_t size)
{
    if (i < 256 || i + 256 >= size)
        return i + 1;
    size_t skip = i + 509;
    return skip + 256 < size ? skip : size - 256;
}

static void fill(struct slot *s)
{
    for (size_t i = 0; i < s->size; i = next_marked(i, s->size))
        s->p[i] = pattern(s, i);
}

static void verify(const struct slot *s, size_t upto)
{
    for (size_t i = 0; i < upto; i = next_marked(i, s->size))
        if (s->p[i] != pattern(s, i))
            fail("contents changed", (size_t)(s - slots), i);
}

static void check_no_overlap(const struct slot *s)
{
    uintptr_t a = (uintptr_t)s->p, a_end = a + (s->size ? s->size : 1);
    for (int i = 0; i < SLOTS; i++) {
        const struct slot *o = &slots[i];
        if (o == s || o->p == NULL)
            continue;
        uintptr_t b = (uintptr_t)o->p, b_end = b + (o->size ? o->size : 1);
        if (a < b_end && b < a_end)
            fail("two live blocks overlap", (size_t)(s - slots), (size_t)i);
    }
}

static void check_figures(void)
{
    for (unsigned t = 0; t < NTYPES; t++) {
        uint64_t live = 0, bytes = 0;
        for (int i = 0; i < SLOTS; i++)
            if (slots[i].p != NULL && slots[i].type == t) {
                live++;
                bytes += kmem_usable_size(slots[i].p);
            }
        struct kmem_type_stats st;
        if (kmem_type_stats(types[t], &st) != KMEM_OK)
            fail("kmem_type_stats failed", t, 0);
        if (st.inuse != live)
            fail("inuse differs from the live blocks", (size_t)st.inuse, (size_t)live);
        if (st.memuse != bytes)
            fail("memuse differs from their usable sizes", (size_t)st.memuse, (size_t)bytes);
        if (limits[t] != 0 && st.memuse > limits[t])
            fail("a type passed its limit", (size_t)st.memuse, limits[t]);
    }
}

/* The block just returned for slot s: sizes, alignment, overlap, zeros. */
static void accept_block(struct slot *s, int flags)
{
    if (kmem_usable_size(s->p) < s->size)
        fail("usable size below the size asked for", kmem_usable_size(s->p), s->size);
    if (s->align != 0 && (uintptr_t)s->p % s->align != 0)
        fail("block not aligned", (uintptr_t)s->p % s->align, s->align);
    if (flags & KM_ZERO)
        for (size_t i = 0; i < s->size; i = next_marked(i, s->size))
            if (s->p[i] != 0)
                fail("KM_ZERO block not zero", i, s->size);
    check_no_overlap(s);
    fill(s);
}

/* Flags for a request of type t: KM_WAITOK only where no limit could make
 * it sleep (one thread: no free would ever wake it). */
static int flags_for(unsigned t, unsigned byte)
{
    int flags = limits[t] == 0 && (byte & 1) ? KM_WAITOK : KM_NOWAIT;
    return flags | ((byte & 2) ? KM_ZERO : 0);
}

static void release(struct slot *s)
{
    verify(s, s->size);
    kmem_free(s->p, types[s->type]);
    s->p = NULL;
}

static void step(struct input *in)
{
    unsigned op = next_byte(in) % 11;
    struct slot *s = &slots[next_byte(in) % SLOTS];
    switch (op) {
    case 0:
    case 1:
    case 2: { /* allocate */
        if (s->p != NULL)
            release(s);
        unsigned t = next_byte(in) % NTYPES, fb = next_byte(in);
        size_t size = next_size(in);
        int flags = flags_for(t, fb);
        unsigned char *p = kmem_malloc(size, types[t], flags);
        if (p == NULL) {
            if (limits[t] == 0 && size <= 8192)
                fail("a small request failed with no limit", size, 0);
            break;
        }
        *s = (struct slot){ p, size, 0, t, (unsigned char)fb };
        accept_block(s, flags);
        break;
    }
    case 3: { /* aligned allocate */
        if (s->p != NULL)
            release(s);
        unsigned t = next_byte(in) % NTYPES, fb = next_byte(in);
        size_t align = (size_t)16 << (next_byte(in) % 13); /* 16 .. 64 KiB */
        size_t size = next_size(in);
        int flags = flags_for(t, fb);
        unsigned char *p = kmem_malloc_aligned(size, align, types[t], flags);
        if (p == NULL)
            break;
        *s = (struct slot){ p, size, align, t, (unsigned char)fb };
        accept_block(s, flags);
        break;
    }
    case 4:
    case 5: /* free */
        if (s->p != NULL)
            release(s);
        break;
    case 6: { /* resize: contents survive up to the smaller size */
        if (s->p == NULL)
            break;
        size_t size = next_size(in);
        int flags = flags_for(s->type, next_byte(in)) & ~KM_ZERO;
        unsigned char *p = kmem_realloc(s->p, size, types[s->type], flags);
        if (p == NULL) {
            if (limits[s->type] == 0)
                fail("kmem_realloc failed with no limit", size, 0);
            verify(s, s->size); /* a failed resize leaves the block */
            break;
        }
        size_t kept = size < s->size ? size : s->size;
        s->p = p;
        verify(s, kept);
        s->size = size;
        s->align = 0;
        if (kmem_usable_size(p) < size)
            fail("usable size below the resized size", kmem_usable_size(p), size);
        check_no_overlap(s);
        fill(s); /* which bytes carry the pattern depends on the size */
        break;
    }
    case 7: { /* set or lift a limit on fuzz_b or fuzz_c */
        unsigned t = 1 + next_byte(in) % 2;
        unsigned b = next_byte(in);
        size_t bytes = b < 64 ? 0 : (size_t)b << (next_byte(in) % 12);
        struct kmem_type_stats st;
        kmem_type_stats(types[t], &st);
        if (bytes != 0 && bytes < st.memuse)
            bytes = 0; /* a limit below what is held is legal, but then the
                          "never passes" check would not hold for the past */
        if (kmem_type_setlimit(types[t], bytes) != KMEM_OK)
            fail("kmem_type_setlimit refused", bytes, 0);
        limits[t] = bytes;
        break;
    }
    case 8: /* trim (all idle memory back to the system) now and then */
        if (next_byte(in) < 32)
            (void)kmem_trim();
        else
            kmem_maintain();
        break;
    case 9:
        kmem_thread_flush();
        break;
    default: /* the figures; now and then the whole heap (O(arena)) */
        check_figures();
        if (next_byte(in) < 32 && kmem_check() != 0)
            fail("kmem_check found a problem", 0, 0);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { data, size, 0 };
    while (in.at < in.n)
        step(&in);
    check_figures();
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].p != NULL)
            release(&slots[i]);
    for (unsigned t = 1; t < NTYPES; t++) {
        kmem_type_setlimit(types[t], 0);
        limits[t] = 0;
    }
    check_figures(); /* all back to zero */
    if (kmem_check() != 0)
        fail("kmem_check found a problem after everything was freed", 0, 0);
    return 0;
}
