/* SPDX-License-Identifier: BSD-2-Clause */
/* test_bad_input.c — programming errors are caught, named and fatal.
 *
 * Each bad call runs in a forked child whose error output goes to a pipe.
 * The parent checks that the child was killed by SIGABRT and that it wrote
 * exactly one line: "kmem: <function>(<pointer or size>[, type "<name>"]):
 * <reason>", with the pointer as 0x... in lowercase hex (the parent prints
 * it itself with %p and compares). Calls that must fail softly (KM_NOWAIT
 * requests that can never be met) are made in the parent. At the end the
 * parent, whose heap the children's errors never touched, checks that its
 * blocks are intact and that kmem_check() passes.
 */
#define _GNU_SOURCE
#include <kmem.h>

#include <errno.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

KMEM_TYPE_DEFINE(M_BAD, "badin", "bad input test");
KMEM_TYPE_DEFINE(M_BADLIM, "badlim", "bad input test: limited type");
KMEM_TYPE_DEFINE(M_OTHER, "other", "bad input test: the wrong type");
KMEM_TYPE_DEFINE(M_OTHERLIM, "otherlim", "bad input test: the wrong type, limited");

/* The blocks the children misuse: allocated by the parent before it
 * forks, so they have the same addresses in every child. */
static struct {
    void *small;     /* 1000 bytes: a 1024-byte piece */
    void *small2;    /* 100 bytes: a 128-byte piece */
    void *piece8k;   /* 8192 bytes: a piece of a two-page slab */
    void *piece2k;   /* 2000 bytes: the only live 2048-byte piece */
    void *large;     /* 20000 bytes: 5 pages */
    void *large2;    /* 40000 bytes: 10 pages */
    void *unused;    /* an arena page beyond anything ever used */
    void *p48;       /* a 48-byte piece */
    void *phantom;   /* in its slab's unused tail, at a multiple of 48:
                        where an 86th piece would start, if it fitted */
    void *libc;      /* from the C library's malloc */
    void *stack;     /* a local of main */
    size_t arena;    /* bytes reserved */
} g;

enum op {
    OP_FREE,
    OP_REALLOC,
    OP_USABLE,
};

static const char *op_name(enum op op)
{
    return op == OP_FREE ? "kmem_free(" : op == OP_REALLOC ? "kmem_realloc(" : "kmem_usable_size(";
}

static void do_op(enum op op, void *p)
{
    switch (op) {
    case OP_FREE:
        kmem_free(p, M_BAD);
        break;
    case OP_REALLOC: {
        void *q = kmem_realloc(p, 100, M_BAD, KM_WAITOK);
        (void)q;
        break;
    }
    case OP_USABLE: {
        size_t volatile n = kmem_usable_size(p);
        (void)n;
        break;
    }
    }
}

/* ---- running a child ------------------------------------------------------ */

struct outcome {
    int signaled, sig, exited, status;
    char err[4096];
    size_t len;
};

typedef void child_fn(enum op op, const void *arg);

static void run_child(child_fn *fn, enum op op, const void *arg, struct outcome *o)
{
    int fds[2];
    memset(o, 0, sizeof *o);
    REQUIRE(pipe(fds) == 0, "pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    REQUIRE(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        close(fds[1]);
        alarm(10); /* a hang fails the case (SIGALRM), never the run */
        fn(op, arg);
        _exit(0); /* survived: the parent reports it */
    }
    close(fds[1]);
    for (;;) {
        ssize_t n = read(fds[0], o->err + o->len, sizeof o->err - 1 - o->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        o->len += (size_t)n;
        if (o->len == sizeof o->err - 1)
            break;
    }
    o->err[o->len] = '\0';
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        REQUIRE(errno == EINTR, "waitpid: %s", strerror(errno));
    o->signaled = WIFSIGNALED(st);
    o->sig = o->signaled ? WTERMSIG(st) : 0;
    o->exited = WIFEXITED(st);
    o->status = o->exited ? WEXITSTATUS(st) : 0;
}

/* The child must die of SIGABRT having written one line that starts with
 * "kmem: " and holds every string in `want` (NULL-terminated). */
static void expect_abort(const char *what, child_fn *fn, enum op op, const void *arg,
                         const char *const *want)
{
    struct outcome o;
    run_child(fn, op, arg, &o);
    printf("  %-44s %s%s", what, o.len ? o.err : "(no output)",
           o.len && o.err[o.len - 1] == '\n' ? "" : "\n");
    if (!(o.signaled && o.sig == SIGABRT)) {
        CHECK(0, "%s: child %s %d (want SIGABRT); it wrote: \"%s\"", what,
              o.signaled ? "killed by signal" : "exited with status",
              o.signaled ? o.sig : o.status, o.err);
        return;
    }
    const char *nl = strchr(o.err, '\n');
    CHECK(strncmp(o.err, "kmem: ", 6) == 0 && nl != NULL && nl[1] == '\0',
          "%s: expected one line starting with \"kmem: \", got: \"%s\"", what, o.err);
    for (const char *const *w = want; *w != NULL; w++)
        CHECK(strstr(o.err, *w) != NULL, "%s: message lacks \"%s\": %s", what, *w, o.err);
}

/* ---- bad pointers ----------------------------------------------------------- */

static void child_op(enum op op, const void *arg)
{
    do_op(op, (void *)(uintptr_t)arg);
}

/* Free the block (legitimately), then misuse it. */
static void child_after_free(enum op op, const void *arg)
{
    void *p = (void *)(uintptr_t)arg;
    kmem_free(p, M_BAD);
    do_op(op, p);
}

/* The same with the macros, which have their own check. */
static void child_after_macro_free(enum op op, const void *arg)
{
    void *p = (void *)(uintptr_t)arg;
    KMEM_FREE(p, M_BAD);
    if (op == OP_FREE)
        KMEM_FREE(p, M_BAD);
    else
        do_op(op, p);
}

/* Through the macro's own check (the fast path): a free of a real piece
 * first, so that the bin takes pushes (the first free after a refill goes
 * to the slow path), then the operation. */
static void child_after_macro_free_of_phantom(enum op op, const void *arg)
{
    void *p = (void *)(uintptr_t)arg;
    void *q = kmem_malloc(48, M_BAD, KM_WAITOK);
    KMEM_FREE(q, M_BAD);
    if (op == OP_FREE) {
        KMEM_FREE(p, M_BAD);
        /* Handed out again, the phantom would overlap the next page. */
        void *r;
        KMEM_MALLOC(r, void *, 48, M_BAD, KM_WAITOK);
        fprintf(stderr, "the free was taken; malloc then gave %p\n", r);
        _exit(1);
    }
    do_op(op, p);
}

/* Free, then push the piece out of the thread's cache to its bucket. */
static void child_after_free_flush(enum op op, const void *arg)
{
    void *p = (void *)(uintptr_t)arg;
    kmem_free(p, M_BAD);
    kmem_thread_flush();
    do_op(op, p);
}

/* Free, then trim: the piece's slab is all free and goes back. */
static void child_after_free_trim(enum op op, const void *arg)
{
    void *p = (void *)(uintptr_t)arg;
    kmem_free(p, M_BAD);
    kmem_trim();
    do_op(op, p);
}

static void pointer_case(const char *what, child_fn *fn, enum op op, const void *ptr,
                         const char *reason)
{
    char name[128], shown[64];
    snprintf(name, sizeof name, "%s%s", op_name(op), what);
    snprintf(shown, sizeof shown, "%s%p", op_name(op), ptr); /* "kmem_free(0x...": */
    const char *with_type[] = { shown, ", type \"badin\"): ", reason, NULL };
    const char *no_type[] = { shown, "): ", reason, NULL };
    expect_abort(name, fn, op, ptr, op == OP_USABLE ? no_type : with_type);
}

static void test_bad_pointers(void)
{
    static const char outside[] = "pointer was not allocated by kmem (outside its arena)";
    static const char not_start[] = "pointer is not the start of a block";
    static const char inside[] = "pointer is inside a large block, not at its start";
    static const char twice[] = "block is already free (double free)";
    static const char in_free[] = "pointer is in free pages (already freed, or never allocated)";
    for (int i = 0; i < 3; i++) {
        enum op op = (enum op)i;
        const char *base = (const char *)g.small, *large = (const char *)g.large;
        pointer_case("stack address", child_op, op, g.stack, outside);
        pointer_case("C library's malloc", child_op, op, g.libc, outside);
        pointer_case("small piece + 16", child_op, op, base + 16, not_start);
        pointer_case("small piece + 1", child_op, op, base + 1, not_start);
        pointer_case("8192 piece + 4096", child_op, op, (char *)g.piece8k + 4096, not_start);
        pointer_case("8192 piece + 4096 + 48", child_op, op, (char *)g.piece8k + 4096 + 48,
                     not_start);
        pointer_case("large block + 100", child_op, op, large + 100, not_start);
        pointer_case("large block + 4096", child_op, op, large + 4096, inside);
        pointer_case("large block + 4 pages + 16", child_op, op, large + 4 * 4096 + 16, inside);
        pointer_case("small piece after free", child_after_free, op, g.small, twice);
        pointer_case("128 piece after KMEM_FREE", child_after_macro_free, op, g.small2, twice);
        pointer_case("small piece after free + flush", child_after_free_flush, op, g.small,
                     twice);
        pointer_case("2048 piece after free + trim", child_after_free_trim, op, g.piece2k,
                     in_free);
        pointer_case("large block after free", child_after_free, op, g.large, in_free);
        pointer_case("large block after free + trim", child_after_free_trim, op, g.large2,
                     in_free);
        pointer_case("arena page never used", child_op, op, g.unused, in_free);
        if (g.phantom != NULL)
            pointer_case("48-byte slab's unused tail", child_after_macro_free_of_phantom, op,
                         g.phantom, not_start);
    }
}

/* ---- frees with the wrong type ------------------------------------------------ */

static void child_wrong_type(enum op op, const void *arg)
{
    void *p = (void *)(uintptr_t)arg;
    if (op == OP_FREE)
        kmem_free(p, M_OTHER);
    else {
        void *q = kmem_realloc(p, 50000, M_OTHER, KM_WAITOK);
        (void)q;
    }
}

/* A small piece records no type: the free goes through. The wrong type's
 * figures stop at zero instead of wrapping, a limit on it still admits,
 * and kmem_check names it. Exits 0 when all of that held. */
static void child_wrong_type_small(enum op op, const void *arg)
{
    (void)op;
    (void)arg;
    kmem_type_setlimit(M_OTHERLIM, 4096);
    kmem_free(g.small, M_OTHER);
    kmem_free(g.small2, M_OTHERLIM);
    struct kmem_type_stats ts;
    kmem_type_stats(M_OTHER, &ts);
    int bad = ts.inuse != 0 || ts.memuse != 0;
    kmem_type_stats(M_OTHERLIM, &ts);
    bad |= ts.inuse != 0 || ts.memuse != 0;
    bad |= kmem_check() != 2; /* names both types */
    void *q = kmem_malloc(1000, M_OTHERLIM, KM_NOWAIT);
    bad |= q == NULL;
    _exit(bad ? 1 : 0);
}

/* With KMEM_DEBUG=redzone a small piece keeps its type in its trailer:
 * the same wrong-type free is reported at the free. The child runs this
 * program again with the check on (kmem reads KMEM_DEBUG when it starts,
 * and this process has started already); see main(). */
static void child_wrong_type_debug(enum op op, const void *arg)
{
    (void)arg;
    setenv("KMEM_DEBUG", "redzone", 1);
    execl("/proc/self/exe", "test_bad_input", op == OP_FREE ? "--debug-wrong-free"
                                                            : "--debug-wrong-realloc", (char *)NULL);
    _exit(127);
}

static int debug_wrong_type(const char *how)
{
    void *p = kmem_malloc(100, M_BAD, KM_WAITOK);
    if (strcmp(how, "--debug-wrong-free") == 0)
        kmem_free(p, M_OTHER);
    else
        p = kmem_realloc(p, 200, M_OTHER, KM_WAITOK);
    return p != NULL; /* not reached: the misuse aborts */
}

static void test_wrong_type(void)
{
    char shown[64];
    snprintf(shown, sizeof shown, "kmem_free(%p, type \"other\")", g.large);
    const char *w_free[] = { shown, "block was allocated with type \"badin\"", NULL };
    expect_abort("kmem_free(large block, wrong type)", child_wrong_type, OP_FREE, g.large,
                 w_free);
    snprintf(shown, sizeof shown, "kmem_realloc(%p, type \"other\")", g.large2);
    const char *w_re[] = { shown, "block was allocated with type \"badin\"", NULL };
    expect_abort("kmem_realloc(large block, wrong type)", child_wrong_type, OP_REALLOC,
                 g.large2, w_re);

    struct outcome o;
    run_child(child_wrong_type_small, OP_FREE, NULL, &o);
    printf("  %-44s %s%s", "kmem_free(small piece, wrong type)", o.len ? o.err : "(no output)\n",
           o.len && o.err[o.len - 1] != '\n' ? "\n" : "");
    CHECK(o.exited && o.status == 0,
          "small piece freed with the wrong type: child %s %d; it wrote: \"%s\"",
          o.exited ? "exited with status" : "killed by signal", o.exited ? o.status : o.sig,
          o.err);
    CHECK(strstr(o.err, "kmem_check: type \"other\" freed more than it allocated") != NULL,
          "kmem_check did not name the type: %s", o.err);
    CHECK(strstr(o.err, "kmem_check: type \"otherlim\" freed more than it allocated") != NULL,
          "kmem_check did not name the limited type: %s", o.err);

    const char *w_debug[] = { "type \"other\"", "block of 100 bytes was allocated as type "
                              "\"badin\", not this one (KMEM_DEBUG=redzone keeps the type)", NULL };
    expect_abort("KMEM_DEBUG=redzone: small piece, wrong type", child_wrong_type_debug, OP_FREE,
                 NULL, w_debug);
    expect_abort("KMEM_DEBUG=redzone: realloc, wrong type", child_wrong_type_debug, OP_REALLOC,
                 NULL, w_debug);
}

/* ---- bad requests ----------------------------------------------------------- */

struct request {
    int fn; /* 0 kmem_malloc, 1 kmem_realloc, 2 KMEM_MALLOC, 3 kmem_free, 4 KMEM_FREE */
    size_t size;
    int flags;
    int null_type;
    struct kmem_type *type;
};

static void child_request(enum op op, const void *arg)
{
    (void)op;
    const struct request *rq = arg;
    struct kmem_type *t = rq->null_type ? NULL : rq->type;
    void *p = NULL;
    switch (rq->fn) {
    case 0:
        p = kmem_malloc(rq->size, t, rq->flags);
        break;
    case 1:
        p = kmem_realloc(g.small, rq->size, t, rq->flags);
        break;
    case 2:
        KMEM_MALLOC(p, void *, 64, t, rq->flags);
        break;
    case 3:
        kmem_free(g.small, t);
        break;
    default:
        KMEM_FREE(g.small, t);
        break;
    }
    (void)p;
}

static void request_case(const char *what, struct request rq, const char *const *want)
{
    if (rq.type == NULL)
        rq.type = M_BAD;
    expect_abort(what, child_request, OP_FREE, &rq, want);
}

static void test_bad_requests(void)
{
    static const char flags[] = "flags must hold exactly one of KM_WAITOK and KM_NOWAIT";
    static const char null_type[] = "): type is NULL";
    static const char arena[] = "request is larger than the arena; KM_WAITOK can never be met";
    static const char limit[] = "request exceeds the type's limit; KM_WAITOK can never be met";
    const char *w_flags[] = { "kmem_malloc(16 bytes, type \"badin\"): ", flags, NULL };
    request_case("flags 0", (struct request){ 0, 16, 0, 0, NULL }, w_flags);
    request_case("flags KM_WAITOK|KM_NOWAIT",
                 (struct request){ 0, 16, KM_WAITOK | KM_NOWAIT, 0, NULL }, w_flags);
    request_case("flags KM_ZERO", (struct request){ 0, 16, KM_ZERO, 0, NULL }, w_flags);
    request_case("flags KM_WAITOK|KM_NOWAIT|KM_ZERO",
                 (struct request){ 0, 16, KM_WAITOK | KM_NOWAIT | KM_ZERO, 0, NULL }, w_flags);
    request_case("flags with an unknown bit", (struct request){ 0, 16, KM_WAITOK | 0x100, 0, NULL },
                 w_flags);
    const char *w_flags_re[] = { "kmem_realloc(200 bytes, type \"badin\"): ", flags, NULL };
    request_case("kmem_realloc flags 0", (struct request){ 1, 200, 0, 0, NULL }, w_flags_re);
    request_case("kmem_realloc flags both",
                 (struct request){ 1, 200, KM_WAITOK | KM_NOWAIT, 0, NULL }, w_flags_re);
    const char *w_flags_m[] = { "kmem_malloc(64 bytes, type \"badin\"): ", flags, NULL };
    request_case("KMEM_MALLOC flags 0", (struct request){ 2, 64, 0, 0, NULL }, w_flags_m);
    request_case("KMEM_MALLOC flags both",
                 (struct request){ 2, 64, KM_WAITOK | KM_NOWAIT, 0, NULL }, w_flags_m);

    const char *w_null[] = { "kmem_malloc(16 bytes", null_type, NULL };
    request_case("kmem_malloc type NULL", (struct request){ 0, 16, KM_WAITOK, 1, NULL }, w_null);
    request_case("kmem_malloc type NULL, KM_NOWAIT", (struct request){ 0, 16, KM_NOWAIT, 1, NULL },
                 w_null);
    const char *w_null_re[] = { "kmem_realloc(16 bytes", null_type, NULL };
    request_case("kmem_realloc type NULL", (struct request){ 1, 16, KM_WAITOK, 1, NULL },
                 w_null_re);
    const char *w_null_m[] = { "kmem_malloc(64 bytes", null_type, NULL };
    request_case("KMEM_MALLOC type NULL", (struct request){ 2, 64, KM_WAITOK, 1, NULL }, w_null_m);
    char shown[64];
    snprintf(shown, sizeof shown, "kmem_free(%p", g.small);
    const char *w_null_free[] = { shown, null_type, NULL };
    request_case("kmem_free type NULL", (struct request){ 3, 0, 0, 1, NULL }, w_null_free);
    /* The macros behave as the functions: a message, not a crash. */
    request_case("KMEM_FREE type NULL", (struct request){ 4, 0, 0, 1, NULL }, w_null_free);

    char sz[64];
    snprintf(sz, sizeof sz, "kmem_malloc(%zu bytes, type \"badin\"): ", (size_t)SIZE_MAX);
    const char *w_max[] = { sz, arena, NULL };
    request_case("SIZE_MAX, KM_WAITOK", (struct request){ 0, SIZE_MAX, KM_WAITOK, 0, NULL }, w_max);
    char sz2[64];
    snprintf(sz2, sizeof sz2, "kmem_malloc(%zu bytes, type \"badin\"): ", (size_t)SIZE_MAX / 2);
    const char *w_half[] = { sz2, arena, NULL };
    request_case("SIZE_MAX/2, KM_WAITOK|KM_ZERO",
                 (struct request){ 0, SIZE_MAX / 2, KM_WAITOK | KM_ZERO, 0, NULL }, w_half);
    char sz3[64];
    snprintf(sz3, sizeof sz3, "kmem_malloc(%zu bytes, type \"badin\"): ", g.arena + 4096);
    const char *w_arena[] = { sz3, arena, NULL };
    request_case("arena + 1 page, KM_WAITOK",
                 (struct request){ 0, g.arena + 4096, KM_WAITOK, 0, NULL }, w_arena);
    char sz4[64];
    snprintf(sz4, sizeof sz4, "kmem_realloc(%zu bytes, type \"badin\"): ", (size_t)SIZE_MAX);
    const char *w_max_re[] = { sz4, arena, NULL };
    request_case("kmem_realloc SIZE_MAX, KM_WAITOK",
                 (struct request){ 1, SIZE_MAX, KM_WAITOK, 0, NULL }, w_max_re);

    /* M_BADLIM's limit is 1000 bytes: a 1024-byte piece or 5 pages can
     * never be had. The message names the request as the caller made it. */
    const char *w_lim[] = { "kmem_malloc(", "type \"badlim\"): ", limit, NULL };
    request_case("above the limit, small, KM_WAITOK",
                 (struct request){ 0, 1000, KM_WAITOK, 0, M_BADLIM }, w_lim);
    request_case("above the limit, large, KM_WAITOK",
                 (struct request){ 0, 20000, KM_WAITOK | KM_ZERO, 0, M_BADLIM }, w_lim);
    const char *w_lim_size[] = { "kmem_malloc(1000 bytes, type \"badlim\"): ", limit, NULL };
    request_case("above the limit: the size asked for",
                 (struct request){ 0, 1000, KM_WAITOK, 0, M_BADLIM }, w_lim_size);
}

/* ---- a thread cache's stack overwritten ------------------------------------------- */

/* What an overflow into a thread cache's stack would write there: the
 * address of the program's own data (or of a live block). A pop must
 * refuse it, not return it. */
static uintptr_t chosen[4] = { 1, 2, 3, 4 };

static void child_cache_entry(enum op op, const void *arg)
{
    (void)op;
    void *target = arg != NULL ? (void *)(uintptr_t)arg : (void *)chosen;
    void *p = kmem_malloc(64, M_BAD, KM_WAITOK);
    kmem_free(p, M_BAD); /* p is now on top of the 64-byte bin */
    struct kmem_tbin *bin = &KMEM_ABI(kmem_tcache).tc_bins[kmem_bucket_index(64)];
    bin->tb_sp[-1] = target;
    void *q = kmem_malloc(64, M_BAD, KM_WAITOK);
    _exit(q == target ? 3 : 4);
}

static void test_cache_damage(void)
{
    if (!KMEM_THREAD_CACHE)
        return;
    const char *w_chosen[] = { "kmem_malloc: free 64-byte block", "was changed after it was freed",
                               NULL };
    expect_abort("thread cache entry: program data", child_cache_entry, OP_FREE, NULL, w_chosen);
    expect_abort("thread cache entry: a live block", child_cache_entry, OP_FREE,
                 g.small2, w_chosen);
}

/* ---- requests that fail softly, in the parent ------------------------------------ */

/* A size the compiler cannot see (it would warn about a constant one
 * beyond the largest object). */
static size_t opaque(size_t v)
{
    size_t volatile x = v;
    return x;
}

static void test_soft_failures(void)
{
    void *p = kmem_malloc(opaque(SIZE_MAX), M_BAD, KM_NOWAIT);
    CHECK(p == NULL, "kmem_malloc(SIZE_MAX, KM_NOWAIT) returned %p", p);
    p = kmem_malloc(opaque(SIZE_MAX / 2), M_BAD, KM_NOWAIT | KM_ZERO);
    CHECK(p == NULL, "kmem_malloc(SIZE_MAX/2, KM_NOWAIT) returned %p", p);
    p = kmem_malloc(opaque(SIZE_MAX - 4095), M_BAD, KM_NOWAIT);
    CHECK(p == NULL, "kmem_malloc(SIZE_MAX - 4095, KM_NOWAIT) returned %p", p);
    p = kmem_malloc(g.arena + 1, M_BAD, KM_NOWAIT);
    CHECK(p == NULL, "kmem_malloc(arena + 1, KM_NOWAIT) returned %p", p);
    /* A failed resize leaves the block intact. */
    pattern_fill(g.small, 1000, 77);
    p = kmem_realloc(g.small, opaque(SIZE_MAX), M_BAD, KM_NOWAIT);
    CHECK(p == NULL, "kmem_realloc(SIZE_MAX, KM_NOWAIT) returned %p", p);
    pattern_fill(g.large, 20000, 78);
    p = kmem_realloc(g.large, opaque(SIZE_MAX / 2), M_BAD, KM_NOWAIT);
    CHECK(p == NULL, "kmem_realloc(large, SIZE_MAX/2, KM_NOWAIT) returned %p", p);
    CHECK_EQ(pattern_check(g.small, 1000, 77), (size_t)-1);
    CHECK_EQ(pattern_check(g.large, 20000, 78), (size_t)-1);
    CHECK_EQ(kmem_usable_size(g.small), 1024);
    CHECK_EQ(kmem_usable_size(g.large), 5 * 4096);
    /* Above a limit, KM_NOWAIT fails softly too. */
    p = kmem_malloc(1000, M_BADLIM, KM_NOWAIT);
    CHECK(p == NULL, "KM_NOWAIT above the limit returned %p", p);
    /* NULL is a no-op for kmem_free (even with a NULL type) and 0 for
     * kmem_usable_size. */
    kmem_free(NULL, M_BAD);
    kmem_free(NULL, NULL);
    CHECK_EQ(kmem_usable_size(NULL), 0);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return debug_wrong_type(argv[1]); /* child_wrong_type_debug's run */
    setvbuf(stdout, NULL, _IOLBF, 0); /* the log in order with stderr */
    int on_stack = 0;
    (void)test_seed(0); /* nothing random; printed for uniformity */
    g.stack = &on_stack;
    g.libc = malloc(64);
    REQUIRE(g.libc != NULL, "malloc");
    g.small = kmem_malloc(1000, M_BAD, KM_WAITOK);
    g.small2 = kmem_malloc(100, M_BAD, KM_WAITOK);
    g.piece8k = kmem_malloc(8192, M_BAD, KM_WAITOK);
    g.piece2k = kmem_malloc(2000, M_BAD, KM_WAITOK);
#if KMEM_CLASSES_PER_DOUBLING == 4
    {
        /* One page holds 85 pieces of 48 bytes and 16 bytes unused. */
        g.p48 = kmem_malloc(48, M_BAD, KM_WAITOK);
        g.phantom = (char *)((uintptr_t)g.p48 & ~(uintptr_t)4095) + 85 * 48;
    }
#endif
    g.large = kmem_malloc(20000, M_BAD, KM_WAITOK);
    g.large2 = kmem_malloc(40000, M_BAD, KM_WAITOK);
    REQUIRE(g.small && g.small2 && g.piece8k && g.piece2k && g.large && g.large2,
            "setup allocations");
    REQUIRE(kmem_type_setlimit(M_BADLIM, 1000) == KMEM_OK, "setlimit");
    struct kmem_arena_stats as;
    REQUIRE(kmem_arena_stats(&as) == KMEM_OK, "kmem_arena_stats");
    g.arena = (size_t)as.reserved;
    /* large is at most high_mark above the arena's start, so this page is
     * past every page ever used, and inside the arena. */
    size_t past = ((size_t)as.high_mark + 4095) & ~(size_t)4095;
    REQUIRE(2 * past + 8192 < g.arena, "arena too small for the test");
    g.unused = (char *)g.large + past + 4096;
    for (int i = 0; i < 6; i++) {
        void *blocks[] = { g.small, g.small2, g.piece8k, g.piece2k, g.large, g.large2 };
        size_t sizes[] = { 1000, 100, 8192, 2000, 20000, 40000 };
        pattern_fill(blocks[i], sizes[i], (uint64_t)i);
    }
    struct kmem_type_stats before;
    kmem_type_stats(M_BAD, &before);

    test_bad_pointers();
    test_wrong_type();
    test_bad_requests();
    test_cache_damage();

    /* The children's errors touched only their copies of the heap. */
    void *blocks[] = { g.small, g.small2, g.piece8k, g.piece2k, g.large, g.large2 };
    size_t sizes[] = { 1000, 100, 8192, 2000, 20000, 40000 };
    for (int i = 0; i < 6; i++)
        CHECK(pattern_check(blocks[i], sizes[i], (uint64_t)i) == (size_t)-1,
              "block %d changed in the parent", i);
    struct kmem_type_stats after;
    kmem_type_stats(M_BAD, &after);
    CHECK_EQ(after.inuse, before.inuse);
    CHECK_EQ(after.memuse, before.memuse);
    CHECK_EQ(after.frees, before.frees);
    CHECK_EQ(kmem_check(), 0);

    test_soft_failures();

    for (int i = 0; i < 6; i++)
        kmem_free(blocks[i], M_BAD);
    kmem_free(g.p48, M_BAD);
    free(g.libc);
    kmem_type_stats(M_BAD, &after);
    CHECK_EQ(after.inuse, 0);
    CHECK_EQ(after.memuse, 0);
    CHECK_EQ(kmem_check(), 0);
    return test_finish("bad_input");
}
