/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * realloc_growth.c — workload: strings and vectors that grow by doubling,
 * through realloc, one thread.
 *
 * Each of N rounds (-n) makes OBJECTS objects, half byte strings (final
 * length 8 B–32 KiB) and half vectors of 64-bit elements (1–4096
 * elements), lengths log-uniform. They grow together, round robin: each
 * pass appends a few bytes (1–24) to every unfinished string and a few
 * elements (1–4) to every unfinished vector, and when one runs out of room
 * its capacity doubles (from 16 bytes) with realloc, as growable buffers
 * do. Because they grow side by side, a block can seldom grow where it is.
 * A finished round's objects are checked whole, every byte and element,
 * and live on through the next round, then are freed (so two rounds'
 * objects share the heap).
 *
 * The checksum folds in every byte and element read back, the same under
 * any allocator; a wrong byte or element fails the run.
 */
#include "workload.h"

#define FULL_ROUNDS  160ull
#define QUICK_ROUNDS 16ull
#define OBJECTS      512u
#define STR_MAX      (32u << 10)
#define VEC_MAX      4096u

struct obj {
    unsigned char *p;
    size_t len, cap, target; /* in bytes */
    uint64_t id;
    int is_vec;
};

static struct obj objs[2][OBJECTS]; /* this round's and the last one's */

static inline unsigned char str_byte(uint64_t id, size_t i)
{
    return (unsigned char)((id * 7 + i) * 131 >> 3);
}

static inline uint64_t vec_elem(uint64_t id, size_t i)
{
    return id * 0x100000001ull + i;
}

/* Room for `more` bytes (strings keep one more for a terminating NUL). */
static void reserve(struct obj *o, size_t more)
{
    size_t need = o->len + more + (o->is_vec ? 0 : 1);
    if (need <= o->cap)
        return;
    size_t cap = o->cap ? o->cap : 16;
    while (cap < need)
        cap *= 2;
    o->p = wl_realloc(o->p, o->cap, cap);
    o->cap = cap;
}

/* One growth step; returns 1 while the object is unfinished. */
static int grow(struct obj *o, wl_rng *rng)
{
    if (o->is_vec) {
        size_t k = (size_t)wl_uniform(rng, 1, 4), left = (o->target - o->len) / 8;
        if (k > left)
            k = left;
        reserve(o, k * 8);
        for (size_t j = 0; j < k; j++) {
            uint64_t e = vec_elem(o->id, o->len / 8);
            __builtin_memcpy(o->p + o->len, &e, 8);
            o->len += 8;
        }
    } else {
        size_t k = (size_t)wl_uniform(rng, 1, 24), left = o->target - o->len;
        if (k > left)
            k = left;
        reserve(o, k);
        for (size_t j = 0; j < k; j++) {
            o->p[o->len] = str_byte(o->id, o->len);
            o->len++;
        }
        o->p[o->len] = '\0';
    }
    return o->len < o->target;
}

static uint64_t check(const struct obj *o)
{
    uint64_t sum = 0;
    if (o->is_vec) {
        for (size_t i = 0; i < o->len / 8; i++) {
            uint64_t e;
            __builtin_memcpy(&e, o->p + 8 * i, 8);
            if (e != vec_elem(o->id, i))
                wl_fail("vector %" PRIu64 ": element %zu of %zu is wrong", o->id, i,
                        o->len / 8);
            sum += e;
        }
    } else {
        for (size_t i = 0; i < o->len; i++) {
            if (o->p[i] != str_byte(o->id, i))
                wl_fail("string %" PRIu64 ": byte %zu of %zu is wrong", o->id, i, o->len);
            sum = sum * 31 + o->p[i];
        }
        if (o->p[o->len] != '\0')
            wl_fail("string %" PRIu64 ": the terminating NUL is gone", o->id);
    }
    return sum;
}

static uint64_t release(struct obj *o)
{
    uint64_t sum = 0;
    if (o->p != NULL) {
        sum = check(o);
        wl_free(o->p, o->cap);
        o->p = NULL;
    }
    return sum;
}

int main(int argc, char **argv)
{
    struct wl_args a = wl_parse(argc, argv, "realloc_growth", FULL_ROUNDS, QUICK_ROUNDS, 1);
    wl_rng rng = wl_rng_seed(3);
    uint64_t sum = 0, next_id = 0;
    static unsigned active[OBJECTS];

    for (uint64_t round = 0; round < a.n; round++) {
        struct obj *cur = objs[round % 2], *last = objs[(round + 1) % 2];
        for (unsigned i = 0; i < OBJECTS; i++) {
            struct obj *o = &cur[i];
            o->p = NULL;
            o->len = o->cap = 0;
            o->id = next_id++;
            o->is_vec = (int)(i & 1);
            o->target = o->is_vec ? 8 * wl_logsize(&rng, 1, VEC_MAX)
                                  : wl_logsize(&rng, 8, STR_MAX);
            active[i] = i;
        }
        unsigned nactive = OBJECTS;
        while (nactive > 0) {
            unsigned kept = 0;
            for (unsigned j = 0; j < nactive; j++)
                if (grow(&cur[active[j]], &rng))
                    active[kept++] = active[j];
            nactive = kept;
        }
        for (unsigned i = 0; i < OBJECTS; i++) {
            sum = sum * 3 + release(&last[i]);
        }
    }
    for (unsigned r = 0; r < 2; r++)
        for (unsigned i = 0; i < OBJECTS; i++)
            sum = sum * 3 + release(&objs[r][i]);
    wl_report(sum);
    return 0;
}
