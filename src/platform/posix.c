/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * posix.c — the platform layer on Linux: address space from mmap, waiting
 * on futexes, thread exit through a pthread key, diagnostics to stderr.
 *
 * Nothing here may call malloc: this file runs underneath the drop-in
 * replacement for it, sometimes before the C library has finished starting.
 */
#define _GNU_SOURCE
#include "platform/platform.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <link.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void *kmem_os_reserve(size_t size, size_t align, size_t *granted)
{
    size_t span = size + align;
    if (span < size)
        return NULL;
    /* PROT_NONE and MAP_NORESERVE: address space only, nothing charged
     * against the commit limit until kmem_os_commit. */
    char *raw = mmap(NULL, span, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    uintptr_t start = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = start - (uintptr_t)raw;
    if (head)
        munmap(raw, head);
    size_t tail = span - head - size;
    if (tail)
        munmap((char *)start + size, tail);
    *granted = size;
    return (void *)start;
}

uint64_t kmem_os_physical_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES);
    long psize = sysconf(_SC_PAGESIZE);
    return (pages > 0 && psize > 0) ? (uint64_t)pages * (uint64_t)psize : 0;
}

/* Read up to cap - 1 bytes of a small /proc file into buf, ended by a
 * NUL, with plain system calls (no stdio, which would allocate). Returns
 * the bytes read, -1 if it cannot be read; errno is left as it was. */
static ssize_t read_proc(const char *path, char *buf, size_t cap)
{
    int saved = errno;
    ssize_t n = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = read(fd, buf, cap - 1);
        close(fd);
    }
    errno = saved;
    buf[n > 0 ? n : 0] = '\0';
    return n;
}

/* Bytes mapped now: the first figure of /proc/self/statm, in pages. 0 if
 * it cannot be read. */
static uint64_t mapped_bytes(void)
{
    char buf[128];
    ssize_t n = read_proc("/proc/self/statm", buf, sizeof buf);
    uint64_t pages = 0;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
        pages = pages * 10 + (uint64_t)(buf[i] - '0');
    long psize = sysconf(_SC_PAGESIZE);
    return pages * (uint64_t)(psize > 0 ? psize : 4096);
}

uint64_t kmem_os_address_space_left(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return UINT64_MAX;
    uint64_t mapped = mapped_bytes();
    return (uint64_t)rl.rlim_cur > mapped ? (uint64_t)rl.rlim_cur - mapped : 0;
}

bool kmem_os_commit(void *addr, size_t size)
{
    return mprotect(addr, size, PROT_READ | PROT_WRITE) == 0;
}

bool kmem_os_protect(void *addr, size_t size, bool accessible)
{
    int saved = errno;
    bool done = mprotect(addr, size, accessible ? PROT_READ | PROT_WRITE : PROT_NONE) == 0;
    errno = saved;
    return done;
}

static __thread int in_caller __attribute__((tls_model("initial-exec")));
static uintptr_t self_lo, self_hi; /* kmem's own code: its loaded segment */
static int self_known;             /* 0 not yet looked for, 1 found, -1 not */

static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    uintptr_t me = (uintptr_t)kmem_os_caller;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (ph->p_type == PT_LOAD && me >= lo && me < hi) {
            self_lo = lo;
            self_hi = hi;
            return 1;
        }
    }
    return 0;
}

uintptr_t kmem_os_caller(void)
{
    /* backtrace() loads libgcc_s on its first call, which allocates:
     * that request is made without a caller. */
    if (in_caller)
        return 0;
    in_caller = 1;
    int saved = errno;
    if (__atomic_load_n(&self_known, __ATOMIC_ACQUIRE) == 0) {
        int found = dl_iterate_phdr(find_self, NULL) != 0 ? 1 : -1;
        __atomic_store_n(&self_known, found, __ATOMIC_RELEASE);
    }
    uintptr_t caller = 0;
    if (__atomic_load_n(&self_known, __ATOMIC_ACQUIRE) == 1) {
        /* kmem's own frames are few: the entry point, the slow path, the
         * step that asks. A program that links kmem statically is all
         * "own" code: then no caller. */
        void *frames[10];
        int n = backtrace(frames, 10);
        for (int i = 1; i < n && caller == 0; i++)
            if ((uintptr_t)frames[i] < self_lo || (uintptr_t)frames[i] >= self_hi)
                caller = (uintptr_t)frames[i];
    }
    errno = saved;
    in_caller = 0;
    return caller;
}

void kmem_os_describe_code(uintptr_t pc, char *buf, size_t cap)
{
    Dl_info d;
    const char *object = "?";
    if (dladdr((void *)pc, &d) != 0 && d.dli_fname != NULL) {
        object = strrchr(d.dli_fname, '/') != NULL ? strrchr(d.dli_fname, '/') + 1 : d.dli_fname;
        if (d.dli_sname != NULL)
            snprintf(buf, cap, "%s+0x%lx (%s)", d.dli_sname,
                     (unsigned long)(pc - (uintptr_t)d.dli_saddr), object);
        else
            snprintf(buf, cap, "%s+0x%lx", object, (unsigned long)(pc - (uintptr_t)d.dli_fbase));
        return;
    }
    snprintf(buf, cap, "0x%lx", (unsigned long)pc);
}

void kmem_os_decommit(void *addr, size_t size)
{
    int saved = errno;
    /* MADV_DONTNEED on private anonymous memory frees the pages now and
     * reads back as zero; the range stays mapped. */
    madvise(addr, size, MADV_DONTNEED);
    errno = saved;
}

bool kmem_os_decommit_zeroes(void)
{
    return true;
}

void kmem_os_wait(uint32_t *word, uint32_t expected)
{
    int saved = errno;
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
    errno = saved;
}

void kmem_os_wake(uint32_t *word, bool all)
{
    int saved = errno;
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, all ? 0x7fffffff : 1, NULL,
            NULL, 0);
    errno = saved;
}

struct thread_start {
    void (*fn)(void *);
    void *arg;
};

static void *thread_main(void *p)
{
    struct thread_start *start = p;
    start->fn(start->arg);
    return NULL;
}

bool kmem_os_start_thread(void (*fn)(void *), void *arg)
{
    /* Static: one background thread per process, and no malloc here. */
    static struct thread_start start;
    start.fn = fn;
    start.arg = arg;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 << 10);
    pthread_t t;
    int saved = errno;
    bool ok = pthread_create(&t, &attr, thread_main, &start) == 0;
    errno = saved;
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ok;
}

/* POSIX threads end the process with exit(0) when its last thread ends
 * (a program whose threads all called pthread_exit), and kmem's thread
 * must not keep it alive: its parent would wait for it forever. The
 * kernel's count of threads includes the first one until the last ends,
 * so with two (kmem's and the first) the first has ended when the
 * process's state reads Z. */
void kmem_os_end_if_last_thread(void)
{
    char buf[4096];
    if (read_proc("/proc/self/status", buf, sizeof buf) <= 0)
        return;
    const char *at = strstr(buf, "\nThreads:");
    if (at == NULL)
        return;
    unsigned long threads = strtoul(at + 9, NULL, 10);
    if (threads == 2) {
        if (read_proc("/proc/self/stat", buf, sizeof buf) <= 0)
            return;
        const char *end = strrchr(buf, ')'); /* after the command, which may hold any byte */
        if (end == NULL || end[1] != ' ' || end[2] != 'Z')
            return;
    } else if (threads != 1) {
        return;
    }
    exit(0);
}

void kmem_os_sleep_ms(uint32_t ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The thread's id, asked of the kernel once per thread (and again in a
 * fork child, whose forking thread has a new one). */
static __thread uint32_t thread_id __attribute__((tls_model("initial-exec")));

uint32_t kmem_os_thread_id(void)
{
    uint32_t id = thread_id;
    if (__builtin_expect(id == 0, 0)) {
        id = (uint32_t)syscall(SYS_gettid);
        thread_id = id;
    }
    return id;
}

static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static void (*exit_fn)(void *); /* [A] the same function from every caller */
static bool exit_key_ok;

static void call_exit_fn(void *arg)
{
    void (*fn)(void *) = __atomic_load_n(&exit_fn, __ATOMIC_ACQUIRE);
    fn(arg);
}

static void make_exit_key(void)
{
    exit_key_ok = pthread_key_create(&exit_key, call_exit_fn) == 0;
}

bool kmem_os_at_thread_exit(void (*fn)(void *), void *arg)
{
    __atomic_store_n(&exit_fn, fn, __ATOMIC_RELEASE);
    pthread_once(&exit_key_once, make_exit_key);
    return exit_key_ok && pthread_setspecific(exit_key, arg) == 0;
}

/*
 * glibc's lock on its list of streams. A thread in fflush(NULL) holds it
 * and then calls malloc; glibc's fork() takes it after the fork handlers
 * have run. If kmem's handler took kmem's locks first, the two would wait
 * for each other (Debian's jemalloc and tcmalloc deadlock so). So kmem's
 * handler takes the stream list lock first — it is recursive, so fork()
 * taking it again in the same thread is fine — and kmem's locks after, in
 * the order fflush(NULL) takes them. Weak: other C libraries lack them.
 */
extern void _IO_list_lock(void) __attribute__((weak));
extern void _IO_list_unlock(void) __attribute__((weak));
extern void _IO_list_resetlock(void) __attribute__((weak));

static void (*core_prepare)(void), (*core_parent)(void), (*core_child)(void);

static void fork_prepare(void)
{
    if (_IO_list_lock != NULL)
        _IO_list_lock();
    core_prepare();
}

static void fork_parent(void)
{
    core_parent();
    if (_IO_list_unlock != NULL)
        _IO_list_unlock();
}

static void fork_child(void)
{
    thread_id = 0; /* the child's thread has an id of its own */
    core_child();
    /* glibc resets the list lock in a child forked from several threads;
     * from one thread it does not, and the child must drop kmem's hold. */
    if (_IO_list_resetlock != NULL)
        _IO_list_resetlock();
}

bool kmem_os_at_fork(void (*prepare)(void), void (*parent)(void),
                     void (*child)(void))
{
    core_prepare = prepare;
    core_parent = parent;
    core_child = child;
    return pthread_atfork(fork_prepare, fork_parent, fork_child) == 0;
}

void kmem_os_write_error(const char *text, size_t len)
{
    int saved = errno;
    while (len > 0) {
        ssize_t n = write(2, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        text += n;
        len -= (size_t)n;
    }
    errno = saved;
}

_Noreturn void kmem_os_abort(void)
{
    abort();
}

const char *kmem_os_getenv(const char *name)
{
    /* secure_getenv would refuse in set-uid programs; a size limit is not
     * a secret, so plain getenv is enough. */
    return getenv(name);
}

uint64_t kmem_os_now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Linux's coarse clock is the same clock as of the last timer tick, read
 * from the vDSO's page without the time-stamp counter: a few nanoseconds
 * against some tens. */
uint64_t kmem_os_now_coarse_ns(void)
{
#ifdef CLOCK_MONOTONIC_COARSE
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
    return kmem_os_now_ns();
}

uint64_t kmem_os_random(void)
{
    uint64_t v = 0;
    int saved = errno;
    long n = syscall(SYS_getrandom, &v, sizeof v, 0x1 /* GRND_NONBLOCK */);
    errno = saved;
    if (n != (long)sizeof v) {
        v = kmem_os_now_ns() ^ ((uint64_t)(uintptr_t)&v << 17);
        v ^= (uint64_t)getpid() << 32;
    }
    return v;
}
