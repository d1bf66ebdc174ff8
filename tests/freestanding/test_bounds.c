/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_bounds.c — the worst-case memory bound stated in
 * include/kmem_freestanding.h, tried on small regions: a sequence of
 * requests whose live total (at rounded sizes) never exceeds L never gets
 * NULL from an arena of at least bound(L, sizes) pages. For each case the
 * arena is cut down to exactly the bound (a ballast block takes the rest
 * at the bottom), then:
 *
 *   pin      the buckets' adversary: fill each bucket in turn up to L and
 *            free all but one piece of every slab, so that slabs stay
 *            pinned by one live piece each; then large blocks up to L;
 *   gaps     the page runs' adversary: large blocks one page short of the
 *            largest request, each followed by a one-page slab pinned by
 *            one piece; free the large blocks; then ask for the largest;
 *   random   a random sequence within L;
 *   all      every sequence up to a depth (each step in a child process,
 *            so that every prefix is tried from the same state).
 *
 * After every step: the request succeeded and kmem_check() is 0. Each
 * case runs in a child process (kmem starts once per process). The
 * figures printed — the most pages a sequence made kmem touch, against
 * the bound — show how far from tight the bound is; they are not judged.
 */
#define _GNU_SOURCE
#include <kmem_freestanding.h>

#include <stdbool.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "harness.h"

KMEM_TYPE_DEFINE(M_SEQ, "sequence", "requests within the bound");
KMEM_TYPE_DEFINE(M_BALLAST, "ballast", "the arena beyond the bound");

enum { REGION = 64 << 20, PAGE = 4096, KMEM_SLAB_PIECES_MAX = 256 };
static char region[REGION] __attribute__((aligned(4096)));

static void hook_write(const char *text, size_t len)
{
    ssize_t n = write(2, text, len);
    (void)n;
}

static void hook_abort(void)
{
    abort();
}

static const struct kmem_hooks hooks = { .write_error = hook_write, .abort = hook_abort };

struct config {
    const char *name;
    size_t live;        /* L: bytes live at most, at rounded sizes */
    size_t sizes[40];   /* the request sizes used (0 ends the list) */
    int depth;          /* of the exhaustive search; 0: none */
    long random_ops;
};

/* ---- the bound (include/kmem_freestanding.h) -------------------------------- */

static size_t rounded(size_t size)
{
    if (size <= KMEM_MAXALLOCSAVE)
        return kmem_bucket_size(kmem_bucket_index(size));
    return (size + PAGE - 1) / PAGE * PAGE;
}

/* Pages an arena needs so that no sequence within `live` bytes at the
 * given sizes fails (include/kmem_freestanding.h states it):
 *   sigma_c = floor(floor(L / s_c) / k_c) + 1    slabs bucket c holds at most
 *   x_c <= sigma_c slabs of bucket c, y pages of large blocks in z blocks,
 *       with sum x_c s_c + 4096 y <= L           (each slab kept has a live
 *                                                 piece once kmem reclaims)
 *   U = max of sum p_c x_c + y                   pages held
 *   B = max of sum x_c + z, z <= y / 3           blocks of pages
 *   r = the most pages one request takes (a large block, or a slab)
 *   r' = r if r <= 64, else r + floor(r / 4)
 *   pages >= U + (B + 1) * (r' - 1) + 1
 * Both maxima are a fractional knapsack, filled greedily: U by the
 * buckets of most pages per byte first, B by the smallest pieces first. */
struct bucket_used {
    uint64_t size, pages, sigma;
};

static uint64_t knapsack(struct bucket_used *u, int n, uint64_t live, bool blocks)
{
    /* Order: most of what is counted per byte of live pieces first. */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0; j--) {
            uint64_t a = blocks ? 1 : u[j].pages, b = blocks ? 1 : u[j - 1].pages;
            if (a * u[j - 1].size <= b * u[j].size)
                break;
            struct bucket_used t = u[j];
            u[j] = u[j - 1];
            u[j - 1] = t;
        }
    uint64_t total = 0, left = live;
    for (int i = 0; i < n; i++) {
        uint64_t x = left / u[i].size < u[i].sigma ? left / u[i].size : u[i].sigma;
        total += blocks ? x : x * u[i].pages;
        left -= x * u[i].size;
    }
    return total + (blocks ? left / (3 * PAGE) : left / PAGE);
}

static uint64_t bound_pages(const struct config *c)
{
    struct bucket_used used[KMEM_NBUCKETS];
    int n = 0;
    uint64_t r = 0;
    bool seen[KMEM_NBUCKETS + 1] = { false };
    for (const size_t *s = c->sizes; *s != 0; s++) {
        if (*s > KMEM_MAXALLOCSAVE) {
            uint64_t pages = rounded(*s) / PAGE;
            if (pages > r)
                r = pages;
            continue;
        }
        unsigned b = kmem_bucket_index(*s);
        if (seen[b])
            continue;
        seen[b] = true;
        struct kmem_bucket_stats bs;
        kmem_bucket_stats(b, &bs);
        uint64_t pieces = bs.slab_pages * PAGE / bs.size;
        used[n++] = (struct bucket_used){ bs.size, bs.slab_pages, c->live / bs.size / pieces + 1 };
        if (bs.slab_pages > r)
            r = bs.slab_pages;
    }
    uint64_t pages = knapsack(used, n, c->live, false);
    uint64_t blocks = knapsack(used, n, c->live, true);
    uint64_t rr = r <= 64 ? r : r + r / 4;
    return pages + (blocks + 1) * (rr - 1) + 1;
}

/* ---- one case: an arena cut to the bound ------------------------------------- */

enum { MAXLIVE = 1 << 16 };
struct live {
    void *p[MAXLIVE];
    size_t bytes; /* at rounded sizes */
    int n;
};
static struct live lv;
static uint64_t ballast_pages, bound;

/* The bound of a case, computed in a child of its own: the buckets'
 * geometry is known once kmem runs, and the region it runs over must be
 * sized by the bound. */
static uint64_t bound_of(const struct config *c)
{
    int fd[2];
    REQUIRE(pipe(fd) == 0, "pipe");
    fflush(stdout);
    pid_t pid = fork();
    REQUIRE(pid >= 0, "fork");
    if (pid == 0) {
        REQUIRE(kmem_freestanding_init(region, 1 << 20, &hooks) == KMEM_OK, "init");
        uint64_t b = bound_pages(c);
        ssize_t w = write(fd[1], &b, sizeof b);
        _exit(w != (ssize_t)sizeof b);
    }
    close(fd[1]);
    uint64_t b = 0;
    ssize_t got = read(fd[0], &b, sizeof b);
    close(fd[0]);
    waitpid(pid, NULL, 0);
    REQUIRE(got == (ssize_t)sizeof b && b > 0, "%s: no bound", c->name);
    return b;
}

/* Start kmem over enough of the region, and leave exactly `bound` pages
 * above a ballast block. */
static void start(const struct config *c)
{
    size_t size = (size_t)(bound + 64) * (PAGE + 32) + (64 << 10);
    if (size < (1 << 20))
        size = 1 << 20;
    REQUIRE(size <= REGION, "%s: the bound (%" PRIu64 " pages) needs more than the region",
            c->name, bound);
    REQUIRE(kmem_freestanding_init(region, size, &hooks) == KMEM_OK, "init");
    struct kmem_arena_stats as;
    kmem_arena_stats(&as);
    uint64_t pages = as.reserved / PAGE;
    REQUIRE(pages >= bound + 3, "%s: arena of %" PRIu64 " pages, bound %" PRIu64, c->name,
            pages, bound);
    /* The arena's first block takes its lowest pages (runs.c splits runs
     * from their low end): what lies above it is the bound. */
    ballast_pages = pages - bound;
    REQUIRE(kmem_malloc(ballast_pages * PAGE, M_BALLAST, KM_NOWAIT) != NULL, "ballast");
    lv.n = 0;
    lv.bytes = 0;
}

/* Pages the sequence made kmem touch above the ballast. */
static uint64_t footprint(void)
{
    struct kmem_arena_stats as;
    kmem_arena_stats(&as);
    return as.high_mark / PAGE - ballast_pages;
}

static void step_check(const char *what, size_t size)
{
    int bad = kmem_check();
    if (bad != 0) {
        CHECK(bad == 0, "%s (%zu bytes): kmem_check found %d problem(s)", what, size, bad);
        exit(1);
    }
}

static bool fits(const struct config *c, size_t size)
{
    return lv.bytes + rounded(size) <= c->live && lv.n < MAXLIVE;
}

static void *take(size_t size)
{
    void *p = kmem_malloc(size, M_SEQ, KM_NOWAIT);
    if (p == NULL) {
        CHECK(p != NULL, "%zu bytes refused with %zu live (bound %" PRIu64 " pages)", size,
              lv.bytes, bound);
        exit(1);
    }
    lv.p[lv.n++] = p;
    lv.bytes += kmem_usable_size(p);
    step_check("after a request", size);
    return p;
}

static void give(int i)
{
    size_t size = kmem_usable_size(lv.p[i]);
    kmem_free(lv.p[i], M_SEQ);
    lv.bytes -= size;
    lv.p[i] = lv.p[--lv.n];
    step_check("after a free", size);
}

/* ---- the sequences ---------------------------------------------------------------- */

/* Each bucket in turn, most pieces a slab first: up to L, then one piece
 * kept per slab. Pieces of a bucket with no free ones are cut from new
 * slabs in address order, so every k-th one lies in another slab. A
 * bucket of one piece a slab pins nothing: its pieces are all live. */
static void seq_pin(const struct config *c)
{
    for (int round = 0; round < 2; round++)
        for (uint64_t most = KMEM_SLAB_PIECES_MAX; most >= 2; most--)
            for (const size_t *s = c->sizes; *s != 0; s++) {
                if (*s > KMEM_MAXALLOCSAVE)
                    continue;
                struct kmem_bucket_stats bs;
                kmem_bucket_stats(kmem_bucket_index(*s), &bs);
                int pieces = (int)(bs.slab_pages * PAGE / bs.size), first = lv.n;
                if ((uint64_t)pieces != most)
                    continue;
                while (fits(c, *s))
                    take(*s);
                for (int i = lv.n - 1; i >= first; i--)
                    if ((i - first) % pieces != 0)
                        give(i);
            }
    for (const size_t *s = c->sizes; *s != 0; s++)
        while (fits(c, *s))
            take(*s);
}

/* Gaps one page short of the largest request, pinned by one-page slabs. */
static void seq_gaps(const struct config *c)
{
    size_t largest = 0;
    for (const size_t *s = c->sizes; *s != 0; s++)
        if (*s > largest)
            largest = *s;
    size_t gap = rounded(largest) - PAGE;
    if (largest <= KMEM_MAXALLOCSAVE || gap <= KMEM_MAXALLOCSAVE)
        return;
    int first = lv.n;
    while (fits(c, gap) && fits(c, gap + PAGE)) {
        take(gap);
        take(PAGE); /* the 4 KiB bucket: one piece, one page a slab */
    }
    for (int i = lv.n - 1; i >= first; i--)
        if (kmem_usable_size(lv.p[i]) == gap)
            give(i);
    while (fits(c, largest))
        take(largest);
}

static void seq_random(const struct config *c, uint64_t seed)
{
    struct rng r = rng_make(seed);
    int nsizes = 0;
    while (c->sizes[nsizes] != 0)
        nsizes++;
    for (long op = 0; op < c->random_ops; op++) {
        size_t size = c->sizes[rng_below(&r, (uint64_t)nsizes)];
        if (size > 1 && size <= KMEM_MAXALLOCSAVE)
            size -= rng_below(&r, 16); /* any size of its bucket */
        if (lv.n > 0 && (rng_below(&r, 2) == 0 || !fits(c, size)))
            give((int)rng_below(&r, (uint64_t)lv.n));
        else if (fits(c, size))
            take(size);
    }
}

/* Every sequence of `depth` steps (a request of one of the sizes that
 * fits, or the free of any live block), each tried in a child. */
static long *nodes; /* shared with the children */

static void seq_all(const struct config *c, int depth)
{
    if (depth == 0)
        return;
    int nsizes = 0;
    while (c->sizes[nsizes] != 0)
        nsizes++;
    int choices = nsizes + lv.n;
    for (int op = 0; op < choices; op++) {
        if (op < nsizes && !fits(c, c->sizes[op]))
            continue;
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        REQUIRE(pid >= 0, "fork");
        if (pid == 0) {
            __atomic_fetch_add(nodes, 1, __ATOMIC_RELAXED);
            if (op < nsizes)
                take(c->sizes[op]);
            else
                give(op - nsizes);
            seq_all(c, depth - 1);
            _exit(test_failures != 0);
        }
        int status;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            CHECK(0, "%s: a sequence of depth %d failed (op %d at this level)", c->name,
                  c->depth - depth + 1, op);
            exit(1);
        }
    }
}

/* One sequence of a case in a child; returns its footprint (pages), or
 * -1 when it failed. */
static long run_case(const struct config *c, const char *seq, uint64_t seed)
{
    int fd[2];
    REQUIRE(pipe(fd) == 0, "pipe");
    fflush(stdout);
    pid_t pid = fork();
    REQUIRE(pid >= 0, "fork");
    if (pid == 0) {
        close(fd[0]);
        start(c);
        if (seq[0] == 'p')
            seq_pin(c);
        else if (seq[0] == 'g')
            seq_gaps(c);
        else if (seq[0] == 'r')
            seq_random(c, seed);
        else
            seq_all(c, c->depth);
        uint64_t pages = footprint();
        ssize_t w = write(fd[1], &pages, sizeof pages);
        (void)w;
        _exit(test_failures != 0);
    }
    close(fd[1]);
    uint64_t pages = 0;
    ssize_t got = read(fd[0], &pages, sizeof pages);
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    if (got != (ssize_t)sizeof pages || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return (long)pages;
}

int main(void)
{
    uint64_t seed = test_seed(1988);
    nodes = mmap(NULL, sizeof *nodes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(nodes != MAP_FAILED, "mmap");
    long ops = test_env_long("KMEM_TEST_OPS", 20000);
    static struct config configs[] = {
        { "tiny", 20 << 10, { 16, 2048, 4096, 12288, 0 }, 6, 0 },
        { "small", 64 << 10, { 16, 48, 256, 1024, 4096, 8192, 40960, 0 }, 4, 0 },
        { "buckets", 64 << 10, { 0 }, 0, 0 },
        { "large", 512 << 10, { 4096, 12288, 65536, 270336, 0 }, 0, 0 },
    };
    /* "buckets": every bucket, and large requests up to 16 pages. */
    struct config *all = &configs[2];
    unsigned n = 0;
    for (unsigned b = 1; b <= kmem_nbuckets(); b++)
        all->sizes[n++] = kmem_bucket_size(b);
    all->sizes[n++] = 16 * PAGE;
    all->sizes[n] = 0;
    for (unsigned i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        struct config *c = &configs[i];
        c->random_ops = ops;
        const char *seqs[] = { "pin", "gaps", "random", "all" };
        bound = bound_of(c);
        printf("%-8s L = %4zu KiB:", c->name, c->live >> 10);
        for (int s = 0; s < 4; s++) {
            if (s == 3 && c->depth == 0)
                continue;
            *nodes = 0;
            long pages = run_case(c, seqs[s], seed + i);
            CHECK(pages >= 0, "%s: the %s sequence failed within the bound", c->name, seqs[s]);
            printf(" %s %ld", seqs[s], pages);
            if (s == 3)
                printf(" (%ld steps)", *nodes);
        }
        printf(" pages touched of a bound of %" PRIu64 "\n", bound);
    }
    return test_finish("bounds");
}
