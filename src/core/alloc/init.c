/*
 * init.c — starting kmem: choosing and reserving the arena, filling the
 * fast path's tables, and keeping the locks sane across fork().
 */
#include "core/alloc/init.h"

#include "platform/platform.h"
#include "core/alloc/alloc.h"
#include "core/arena/arena.h"
#include "core/bucket/bucket.h"
#include "core/base/lock.h"
#include "core/alloc/reclaim.h"
#include "core/tcache/tcache.h"
#include "core/alloc/tune.h"
#include "core/type/type.h"
#include "core/base/diag.h"

KMEM_API struct kmem_fastpath KMEM_ABI(kmem_fastpath);
#define KMEM_STR_(x) #x
#define KMEM_STR(x) KMEM_STR_(x)
extern struct kmem_fastpath kmem_fastpath_local
    __attribute__((alias(KMEM_STR(KMEM_ABI(kmem_fastpath)))));

static kmem_lock init_lock = KMEM_LOCK_INIT;
static uint32_t started;      /* [A] 1 once the arena is ready */
static uint32_t start_failed; /* [init_lock] no reservation could be had */

/* "64G", "512M", "1T", "4096", "2k": bytes, or 0 if not understood. */
uint64_t kmem_parse_size(const char *text)
{
    if (text == NULL || *text < '0' || *text > '9')
        return 0;
    uint64_t v = 0;
    for (; *text >= '0' && *text <= '9'; text++) {
        if (v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*text - '0');
    }
    unsigned shift = 0;
    switch (*text) {
    case 'k': case 'K': shift = 10; text++; break;
    case 'm': case 'M': shift = 20; text++; break;
    case 'g': case 'G': shift = 30; text++; break;
    case 't': case 'T': shift = 40; text++; break;
    default: break;
    }
    if (*text == 'i' || *text == 'I') /* "64GiB" */
        text++;
    if (*text == 'b' || *text == 'B')
        text++;
    if (*text != '\0' || (shift != 0 && v > (UINT64_MAX >> shift)))
        return 0;
    return v << shift;
}

/*
 * fork(): every lock is taken before, in the lock order (types, thread
 * registry, buckets, arena), so that the child gets consistent lists; the
 * child then resets them all, being the only thread. A lock the forking
 * thread itself holds — fork() from a signal handler that interrupted
 * kmem — is not waited for: the child resets it anyway, and the operation
 * that was interrupted may leave one block unusable in the child (the
 * policy glibc's malloc follows too: the child can allocate and free).
 */
static void fork_prepare(void)
{
    kmem_types_fork(KMEM_FORK_PREPARE);
    kmem_tcache_fork(KMEM_FORK_PREPARE);
    kmem_buckets_fork(KMEM_FORK_PREPARE);
    kmem_arena_fork(KMEM_FORK_PREPARE);
}

static void fork_parent(void)
{
    kmem_arena_fork(KMEM_FORK_PARENT);
    kmem_buckets_fork(KMEM_FORK_PARENT);
    kmem_tcache_fork(KMEM_FORK_PARENT);
    kmem_types_fork(KMEM_FORK_PARENT);
}

static void fork_child(void)
{
    kmem_reclaim_fork(KMEM_FORK_CHILD);
    kmem_arena_fork(KMEM_FORK_CHILD);
    kmem_buckets_fork(KMEM_FORK_CHILD);
    kmem_types_fork(KMEM_FORK_CHILD);
    kmem_tcache_fork(KMEM_FORK_CHILD); /* last: it gives pieces back to buckets */
}

/* The reservation to ask for when neither the options nor the
 * environment name one (see KMEM_ARENA_DEFAULT_MIN). */
static uint64_t default_arena_size(void)
{
    uint64_t ram = kmem_os_physical_memory();
    uint64_t want = KMEM_ARENA_DEFAULT_MIN;
    while (want < KMEM_ARENA_RAM_FACTOR * ram && want < KMEM_ARENA_MAX)
        want <<= 1;
    uint64_t left = kmem_os_address_space_left();
    if (left != UINT64_MAX) {
        uint64_t spare = left / KMEM_AS_SPARE_FRACTION;
        uint64_t floor = KMEM_AS_SPARE_MIN < left / 4 ? KMEM_AS_SPARE_MIN : left / 4;
        if (spare < floor)
            spare = floor;
        if (want > left - spare)
            want = left - spare;
    }
    return want;
}

/* Lay out everything over a reservation. init_lock held. */
static int start_locked(const struct kmem_options *options)
{
    uint64_t want = options != NULL ? options->arena_size : 0;
    kmem_tune_init(options);
    if (want == 0) {
        const char *env = kmem_os_getenv("KMEM_ARENA_SIZE");
        if (env != NULL) {
            want = kmem_parse_size(env);
            if (want == 0)
                kmem_warn("KMEM_ARENA_SIZE not understood, using the default: ", env);
        }
    }
    if (want == 0)
        want = default_arena_size();
    if (want > KMEM_ARENA_MAX)
        want = KMEM_ARENA_MAX;
    if (want < KMEM_ARENA_MIN)
        want = KMEM_ARENA_MIN;
    want = (want + KMEM_COMMIT_STEP - 1) & ~(uint64_t)(KMEM_COMMIT_STEP - 1);

    void *base = NULL;
    size_t granted = 0;
    /* The system may still refuse (valgrind, a limit the platform cannot
     * tell, or an explicit size beyond it): ask for an eighth less each
     * time, so that what is granted is within an eighth of what could be. */
    for (uint64_t size = want; size >= KMEM_ARENA_MIN;
         size = (size - size / 8) & ~(uint64_t)(KMEM_COMMIT_STEP - 1)) {
        base = kmem_os_reserve((size_t)size, KMEM_COMMIT_STEP, &granted);
        if (base != NULL)
            break;
    }
    if (base == NULL || !kmem_arena_init(base, granted))
        return KMEM_ERR_NOMEM;

    const char *cap = kmem_os_getenv("KMEM_LIMIT");
    if (cap != NULL) {
        uint64_t bytes = kmem_parse_size(cap);
        if (bytes == 0)
            kmem_warn("KMEM_LIMIT not understood, no limit set: ", cap);
        kmem_arena_set_cap(bytes);
    }

    struct kmem_fastpath *fp = &KMEM_ABI(kmem_fastpath);
    kmem_buckets_init();
    fp->fp_secret = (uintptr_t)(kmem_os_random() | 1);
    fp->fp_pages = kmem_arena.ka_pages;
    fp->fp_base = kmem_arena.ka_base;
    __atomic_store_n(&fp->fp_size, (uintptr_t)kmem_arena.ka_npages << KMEM_PAGE_SHIFT,
                     __ATOMIC_RELEASE);
    __atomic_store_n(&started, 1, __ATOMIC_RELEASE);
    return KMEM_OK;
}

/* After the arena is up and init_lock is free: registering the fork
 * handlers and starting a thread may allocate. */
static void after_start(void)
{
    (void)kmem_os_at_fork(fork_prepare, fork_parent, fork_child);
    kmem_reclaim_start();
}

int kmem_start(const struct kmem_options *options)
{
    kmem_lock_acquire(&init_lock);
    int rc = KMEM_ERR_BUSY;
    if (!__atomic_load_n(&started, __ATOMIC_RELAXED)) {
        rc = start_locked(options);
        start_failed = rc != KMEM_OK;
    }
    kmem_lock_release(&init_lock);
    if (rc == KMEM_OK)
        after_start();
    return rc;
}

bool kmem_ensure_init(void)
{
    if (__atomic_load_n(&started, __ATOMIC_ACQUIRE))
        return true;
    bool now = false;
    kmem_lock_acquire(&init_lock);
    if (!__atomic_load_n(&started, __ATOMIC_RELAXED) && !start_failed) {
        start_failed = start_locked(NULL) != KMEM_OK;
        now = !start_failed;
    }
    kmem_lock_release(&init_lock);
    if (now)
        after_start();
    return __atomic_load_n(&started, __ATOMIC_ACQUIRE);
}
