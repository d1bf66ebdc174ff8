/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bounds.c — instructions per kmem call on the emulated RISC-V machine,
 * worst and mean, for each freestanding operation (make bench-bounds).
 * Under qemu -icount shift=0 the minstret counter advances by exactly one
 * per guest instruction, so reading it before and after a call counts
 * the call's instructions (less the reading itself, measured first).
 *
 * The sequences: a long random mix of small and large requests; then the
 * adversarial ones, each built to drive one path to its longest: a slab
 * carved on every allocation, frees that go past a full transfer cache
 * onto slabs, large requests against a list of free runs that almost fit,
 * a free that finds many dirty runs past their decay time, a type at its
 * limit, kmem_maintain with many idle slabs, and requests that find the
 * region full (and reclaim everything idle first).
 *
 * Nothing is asserted: the figures are printed, one table; a line
 * "csv,bounds,<op>,<calls>,<mean>,<max>" per row for scripts. The machine
 * exits through the test device (pass unless kmem stopped).
 */
#include <kmem_freestanding.h>

#include "machine.h"
#include "pattern.h"

#define REGION_BYTES ((size_t)32 << 20)
static char region[REGION_BYTES] __attribute__((section(".heap"), aligned(4096)));

KMEM_TYPE_DEFINE(M_RT, "rt", "bounds benchmark");
KMEM_TYPE_DEFINE(M_LIM, "limited", "bounds benchmark, with a limit");

/* The hooks: no waiting (one hart, and nothing interrupts), a clock. */
static const struct kmem_hooks hooks = {
    .write_error = out_write,
    .abort = machine_kmem_abort,
    .now_ns = machine_now_ns,
    .seed = 1988,
};

/* ---- counting ------------------------------------------------------------- */

/* Large requests by their pages: up to 4, 16, 64, 256, more. */
enum { PAGE_RANGES = 5 };
enum op {
    OP_SMALL_ALLOC, OP_SMALL_ALLOC_CARVE, OP_SMALL_FREE, OP_REALLOC,
    OP_LARGE_ALLOC, OP_LARGE_FREE = OP_LARGE_ALLOC + PAGE_RANGES,
    OP_LIMIT_ALLOC = OP_LARGE_FREE + PAGE_RANGES, OP_LIMIT_FREE, OP_LIMIT_REFUSED,
    OP_MAINTAIN, OP_FULL_ALLOC, NOPS
};
static const char *const op_names[NOPS] = {
    "small alloc", "small alloc new slab", "small free", "realloc (small)",
    "large alloc <=4 pages", "large alloc <=16", "large alloc <=64", "large alloc <=256",
    "large alloc <=4096", "large free <=4 pages", "large free <=16", "large free <=64",
    "large free <=256", "large free <=4096", "limited alloc", "limited free",
    "limit refused", "kmem_maintain", "alloc region full",
};
struct tally {
    uint64_t calls, sum, max, max_arg;
};
static struct tally tallies[NOPS];
static uint64_t overhead;

#define MEASURE(op, arg, expr)                                                \
    do {                                                                      \
        uint64_t t0_ = machine_instret();                                     \
        expr;                                                                 \
        uint64_t n_ = machine_instret() - t0_ - overhead;                     \
        note(op, n_, arg);                                                    \
    } while (0)

static void note(enum op op, uint64_t n, uint64_t arg)
{
    struct tally *t = &tallies[op];
    t->calls++;
    t->sum += n;
    if (n > t->max) {
        t->max = n;
        t->max_arg = arg;
    }
}

static void note_large(enum op first, uint64_t n, size_t bytes)
{
    uint64_t pages = (bytes + 4095) / 4096;
    int range = pages <= 4 ? 0 : pages <= 16 ? 1 : pages <= 64 ? 2 : pages <= 256 ? 3 : 4;
    note((enum op)(first + range), n, bytes);
}

/* Slabs bucket b holds (read outside the measured window). */
static uint64_t slabs_of(size_t size)
{
    struct kmem_bucket_stats bs;
    kmem_bucket_stats(kmem_bucket_index(size), &bs);
    return bs.slabs;
}

static void calibrate(void)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 100; i++) {
        uint64_t t0 = machine_instret();
        uint64_t t1 = machine_instret();
        if (t1 - t0 < best)
            best = t1 - t0;
    }
    overhead = best;
}

static void *alloc(size_t size, struct kmem_type *type)
{
    void *p;
    uint64_t slabs = size <= KMEM_MAXALLOCSAVE ? slabs_of(size) : 0;
    uint64_t t0 = machine_instret();
    p = kmem_malloc(size, type, KM_NOWAIT);
    uint64_t n = machine_instret() - t0 - overhead;
    if (type == M_LIM)
        note(p != NULL ? OP_LIMIT_ALLOC : OP_LIMIT_REFUSED, n, size);
    else if (p == NULL)
        machine_panic("bounds: an allocation failed");
    else if (size > KMEM_MAXALLOCSAVE)
        note_large(OP_LARGE_ALLOC, n, size);
    else
        note(slabs_of(size) > slabs ? OP_SMALL_ALLOC_CARVE : OP_SMALL_ALLOC, n, size);
    return p;
}

static void release(void *p, size_t size, struct kmem_type *type)
{
    uint64_t t0 = machine_instret();
    kmem_free(p, type);
    uint64_t n = machine_instret() - t0 - overhead;
    if (type == M_LIM)
        note(OP_LIMIT_FREE, n, size);
    else if (size <= KMEM_MAXALLOCSAVE)
        note(OP_SMALL_FREE, n, size);
    else
        note_large(OP_LARGE_FREE, n, size);
}

/* ---- the sequences --------------------------------------------------------- */

enum { SLOTS = 1024 };
static struct slot {
    void *p;
    size_t size;
} slots[SLOTS];
static struct rng rng;

static void free_all_slots(void)
{
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].p != NULL) {
            release(slots[i].p, slots[i].size, M_RT);
            slots[i].p = NULL;
        }
}

/* Sizes: mostly small, a quarter large (up to 64 KiB), a few to 256 KiB. */
static size_t random_size(void)
{
    uint64_t k = rng_below(&rng, 16);
    if (k < 11)
        return 1 + rng_below(&rng, k < 6 ? 256 : KMEM_MAXALLOCSAVE);
    if (k < 15)
        return KMEM_MAXALLOCSAVE + 1 + rng_below(&rng, 56 << 10);
    return KMEM_MAXALLOCSAVE + 1 + rng_below(&rng, 256 << 10);
}

static void random_sequence(long ops)
{
    for (long op = 0; op < ops; op++) {
        struct slot *s = &slots[rng_below(&rng, SLOTS)];
        if (s->p == NULL) {
            s->size = random_size();
            s->p = alloc(s->size, M_RT);
        } else if (rng_below(&rng, 8) == 0 && s->size <= KMEM_MAXALLOCSAVE) {
            size_t to = 1 + rng_below(&rng, KMEM_MAXALLOCSAVE);
            void *q;
            MEASURE(OP_REALLOC, to, q = kmem_realloc(s->p, to, M_RT, KM_NOWAIT));
            if (q == NULL)
                machine_panic("bounds: realloc failed");
            s->p = q;
            s->size = to;
        } else {
            release(s->p, s->size, M_RT);
            s->p = NULL;
        }
    }
    free_all_slots();
}

/* Every allocation carves a slab: one piece from each slab of the
 * smallest bucket (the most pieces a slab has), the rest kept live. */
enum { CARVE_SLABS = 400, CARVE_PIECES = 256 };
static void *carve_pieces[CARVE_SLABS * CARVE_PIECES];

static void carve_storm(void)
{
    size_t n = 0;
    for (int s = 0; s < CARVE_SLABS; s++)
        for (int i = 0; i < CARVE_PIECES; i++)
            carve_pieces[n++] = alloc(16, M_RT);
    /* Freeing them all: the transfer cache fills, then every free goes
     * onto a slab. */
    for (size_t i = 0; i < n; i++)
        release(carve_pieces[i], 16, M_RT);
    kmem_trim();
}

/* The smallest large block: one page past the largest bucket (3 pages in
 * the 1988 geometry, 5 with quarter steps). */
#define LEAST_LARGE (KMEM_MAXALLOCSAVE + 4096)

/* Free runs of 65..79 pages (one bin) separated by live pages, and
 * nothing larger free: a request of 79 pages looks at each. */
enum { GAPS = 96 };
static void *gap_blocks[GAPS], *gap_fences[GAPS + 1];

static void near_fit_runs(void)
{
    /* Fill the region with fences and gaps, then free the gaps. */
    void *rest[64];
    int nrest = 0;
    for (int i = 0; i < GAPS; i++) {
        gap_fences[i] = alloc(3 * 4096, M_RT);
        gap_blocks[i] = alloc((size_t)(65 + i % 14) * 4096, M_RT);
    }
    gap_fences[GAPS] = alloc(3 * 4096, M_RT);
    /* Take all that is left above, in big blocks. */
    void *p;
    while (nrest < 64 && (p = kmem_malloc((size_t)1 << 20, M_RT, KM_NOWAIT)) != NULL)
        rest[nrest++] = p;
    for (int i = 0; i < GAPS; i++)
        release(gap_blocks[i], (size_t)(65 + i % 14) * 4096, M_RT);
    /* Now 79 pages: every run in its bin is shorter but the last. */
    for (int round = 0; round < 8; round++) {
        void *q = alloc(79 * 4096, M_RT);
        release(q, 79 * 4096, M_RT);
    }
    for (int i = 0; i <= GAPS; i++)
        release(gap_fences[i], 3 * 4096, M_RT);
    for (int i = 0; i < nrest; i++)
        kmem_free(rest[i], M_RT);
    kmem_trim();
}

/* Many small dirty runs, all past the decay time, and then one free. */
static void purge_storm(void)
{
    enum { N = 400 };
    static void *blocks[2 * N];
    kmem_set_decay_ms(1000);
    for (int i = 0; i < 2 * N; i++)
        blocks[i] = alloc(LEAST_LARGE, M_RT);
    for (int i = 0; i < 2 * N; i += 2)
        release(blocks[i], LEAST_LARGE, M_RT); /* dirty runs between live blocks */
    kmem_set_decay_ms(1);
    machine_delay_ms(3);
    release(blocks[1], LEAST_LARGE, M_RT); /* this one finds them all aged */
    for (int i = 3; i < 2 * N; i += 2)
        release(blocks[i], LEAST_LARGE, M_RT);
    kmem_set_decay_ms(1000);
    kmem_trim();
}

/* Large blocks of 64 to 4096 pages, for how their cost grows with their
 * pages. */
static void large_sweep(void)
{
    for (uint32_t pages = 64; pages <= 4096; pages *= 4)
        for (int i = 0; i < 4; i++) {
            void *p = alloc((size_t)pages * 4096, M_RT);
            release(p, (size_t)pages * 4096, M_RT);
        }
    kmem_trim();
}

/* A type at its limit: refusals, and the frees that make room. */
static void limit_checks(void)
{
    static void *held[300];
    kmem_type_setlimit(M_LIM, 64 << 10);
    for (int round = 0; round < 50; round++) {
        int n = 0;
        void *p;
        while (n < 300 && (p = alloc(256, M_LIM)) != NULL)
            held[n++] = p;
        for (int i = 0; i < n; i++)
            release(held[i], 256, M_LIM);
    }
}

/* Idle slabs of every bucket for kmem_maintain to release. */
static void maintain_storm(void)
{
    static void *held[KMEM_NBUCKETS][64];
    for (int round = 0; round < 4; round++) {
        for (unsigned b = 1; b <= kmem_nbuckets(); b++) {
            struct kmem_bucket_stats bs;
            kmem_bucket_stats(b, &bs);
            for (int i = 0; i < 64; i++)
                held[b - 1][i] = alloc((size_t)bs.size, M_RT);
            for (int i = 0; i < 64; i++)
                release(held[b - 1][i], (size_t)bs.size, M_RT);
        }
        MEASURE(OP_MAINTAIN, 0, kmem_maintain());
        MEASURE(OP_MAINTAIN, 0, kmem_maintain());
    }
}

/* The region full of idle memory: a request reclaims all of it first. */
static void region_full(void)
{
    static void *held[8192];
    int n = 0;
    void *p;
    while (n < 8192 && (p = kmem_malloc(4096, M_RT, KM_NOWAIT)) != NULL)
        held[n++] = p;
    for (int i = 0; i < n; i++)
        kmem_free(held[i], M_RT); /* idle, in empty slabs and the transfer cache */
    void *q;
    MEASURE(OP_FULL_ALLOC, 16 << 20, q = kmem_malloc(16 << 20, M_RT, KM_NOWAIT));
    if (q == NULL)
        machine_panic("bounds: the request after reclaiming failed");
    kmem_free(q, M_RT);
}

static void print_table(void)
{
    out_str("\n                              calls        mean         max   (max at)\n");
    for (int op = 0; op < NOPS; op++) {
        struct tally *t = &tallies[op];
        if (t->calls == 0)
            continue;
        out_str("  ");
        out_str(op_names[op]);
        for (size_t i = out_strlen(op_names[op]); i < 24; i++)
            out_str(" ");
        out_u64w(t->calls, 11);
        out_u64w(t->sum / t->calls, 12);
        out_u64w(t->max, 12);
        out_str("   (");
        out_u64(t->max_arg);
        out_str(" bytes)\n");
    }
    for (int op = 0; op < NOPS; op++) {
        struct tally *t = &tallies[op];
        if (t->calls == 0)
            continue;
        out_str("csv,bounds,");
        out_str(op_names[op]);
        out_str(",");
        out_u64(t->calls);
        out_str(",");
        out_u64(t->sum / t->calls);
        out_str(",");
        out_u64(t->max);
        out_str("\n");
    }
}

static void reset(void)
{
    for (int op = 0; op < NOPS; op++)
        tallies[op] = (struct tally){ 0, 0, 0, 0 };
}

void kmain(void);

void kmain(void)
{
    out_str(__riscv_xlen == 64 ? "bench-bounds: instructions per kmem call (rv64gc, qemu -icount shift=0)\n"
                               : "bench-bounds: instructions per kmem call (rv32imac, qemu -icount shift=0)\n");
    if (kmem_freestanding_init(region, REGION_BYTES, &hooks) != KMEM_OK)
        machine_panic("kmem_freestanding_init");
    calibrate();
    rng = rng_make(1988);
    out_str("random sequence: 1000000 requests and frees over 1024 slots, a region of 32 MiB");
    random_sequence(1000000);
    print_table();
    reset();
    out_str("\nadversarial sequences: carve on every request, frees past a full transfer\n"
            "cache, near-fitting free runs, aged dirty runs, blocks of 64 to 4096\n"
            "pages, a type at its limit, kmem_maintain over idle slabs, a full region");
    carve_storm();
    near_fit_runs();
    purge_storm();
    large_sweep();
    limit_checks();
    maintain_storm();
    region_full();
    print_table();
    out_str(kmem_check() == 0 ? "kmem_check: ok\n" : "kmem_check: FAILED\n");
    machine_exit(0);
}
