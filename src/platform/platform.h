/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * platform.h — the contract between kmem's core and the system under it.
 *
 * Everything kmem needs from an operating system goes through these
 * functions; nothing else in src/core includes an OS header. There are two
 * implementations: posix.c (mmap, futex, pthread keys, write(2)) and
 * freestanding.c (a caller-given region and caller-given hooks, for
 * kernels and firmware). Exactly one is linked into a build.
 *
 * Conventions: addresses and lengths passed to the memory functions are
 * multiples of KMEM_PAGE_SIZE; lengths are never 0; functions returning
 * bool return true on success.
 */
#ifndef KMEM_PLATFORM_H
#define KMEM_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- address space ---------------------------------------------------- */

/*
 * Reserve `size` bytes of address space, aligned to `align` (a power of
 * two, at least the page size). The range is not yet usable: touch it
 * only after kmem_os_commit. Returns NULL when the system refuses; the
 * caller then retries with less. *granted may be set smaller than size
 * by a platform that can only offer a fixed region (freestanding).
 */
void *kmem_os_reserve(size_t size, size_t align, size_t *granted);

/* Bytes of physical memory the machine has; 0 if unknown. */
uint64_t kmem_os_physical_memory(void);

/* Bytes of address space the process may still map (under a limit such
 * as ulimit -v, the limit less what is mapped now); UINT64_MAX when there
 * is no limit. */
uint64_t kmem_os_address_space_left(void);

/* Make [addr, addr+size) of a reservation readable and writable. */
bool kmem_os_commit(void *addr, size_t size);

/* Give the physical memory behind [addr, addr+size) back to the system;
 * the range stays committed and usable. */
void kmem_os_decommit(void *addr, size_t size);

/* Make a committed page range inaccessible (a guard: any access faults)
 * or, with `accessible`, readable and writable again. False when the
 * platform cannot (freestanding) or refuses (too many mappings). */
bool kmem_os_protect(void *addr, size_t size, bool accessible);

/* KMEM_DEBUG=trace: the return address of the innermost frame on the
 * calling thread's stack that is not kmem's own code (the program's call
 * into kmem), or 0 when there is none to be had (a program that links
 * kmem statically, a platform without backtraces, or a call from within
 * this one). */
uintptr_t kmem_os_caller(void);

/* Describe a code address for a report: "symbol+0xoff (object)", or the
 * object and offset, or the address alone; NUL-terminated in buf. */
void kmem_os_describe_code(uintptr_t pc, char *buf, size_t cap);

/* True when memory given back by kmem_os_decommit reads as zero the next
 * time it is touched (so a zeroed request needs no memset). */
bool kmem_os_decommit_zeroes(void);

/* ---- waiting ---------------------------------------------------------- */

/* Block while *word == expected. May return early or spuriously; the
 * caller re-checks. */
void kmem_os_wait(uint32_t *word, uint32_t expected);

/* Wake one (all = false) or every (all = true) waiter on word. */
void kmem_os_wake(uint32_t *word, bool all);

/* ---- threads ---------------------------------------------------------- */

/* A nonzero id of the calling thread, unique among the live threads of
 * the process (below 2^31). Called on every lock acquisition: cheap (kept
 * in thread-local storage where there is any), and right in a fork child
 * from its first call in the child's fork handlers. */
#if __STDC_HOSTED__
uint32_t kmem_os_thread_id(void);
#else
/* Freestanding (freestanding.c): without thread caches there is no
 * per-thread storage to keep an id in, and without fork() no use for
 * one: any nonzero value keeps the locks exclusive. Inline, since every
 * lock taken asks. */
static inline uint32_t kmem_os_thread_id(void)
{
    return 1;
}
#endif

/* Start a thread running fn(arg), detached, with every signal blocked.
 * Returns false where there are no threads (freestanding). */
bool kmem_os_start_thread(void (*fn)(void *), void *arg);

/* Called by that thread at each wake: if it is the only thread of the
 * process still running (the program's have all ended), end the process
 * as the end of its last thread would have where there is no such thread
 * (exit(0) for POSIX threads). Else returns. */
void kmem_os_end_if_last_thread(void);

/* Sleep for about `ms` milliseconds (the background thread's tick). */
void kmem_os_sleep_ms(uint32_t ms);

/* Arrange for fn(arg) to be called when the calling thread exits. Returns
 * false where the platform has no such notion (then no thread caches are
 * used: freestanding builds have none). */
bool kmem_os_at_thread_exit(void (*fn)(void *), void *arg);

/* Arrange for prepare() to run before fork() in the forking thread, and
 * parent()/child() after it in each process. Returns false where there is
 * no fork. */
bool kmem_os_at_fork(void (*prepare)(void), void (*parent)(void),
                     void (*child)(void));

/* ---- publishing statistics to other processes ----------------------------
 * A record of `size` bytes of memory shared with other processes of the
 * same user (a file under the user's export directory, mode 0600, named
 * after the process), which kmem rewrites in place. Freestanding: none.
 * The functions below are called by one thread at a time. */

/* Before the first record: where records go (`dir`, or the platform's
 * default place when NULL or empty). Reads the environment: called when
 * kmem starts. */
void kmem_os_export_prepare(const char *dir);

/* Create this process's record, `size` bytes, zero-filled, and map it
 * writable. NULL when it cannot; the reason is written once as a
 * warning. Readers cannot see it until kmem_os_export_reveal. */
void *kmem_os_export_create(size_t size);

/* The record holds its first whole copy: let readers find it. */
void kmem_os_export_reveal(void);

/* Make the record `size` bytes (more than old_size): returns the new
 * address (the old mapping is gone), or NULL (the old one stays). */
void *kmem_os_export_grow(void *record, size_t old_size, size_t size);

/* Take the record's name away (at exit; the mapping stays until the
 * process ends). Only the process that created it does anything. */
void kmem_os_export_remove(void);

/* In a fork child: let go of the parent's record without touching it. */
void kmem_os_export_forget(void *record, size_t size);

/* This process: its id; when it started, in the units of /proc/PID/stat's
 * field 22 (0: unknown); its command line, arguments joined by spaces,
 * NUL-terminated within cap. */
int64_t kmem_os_process_id(void);
uint64_t kmem_os_process_start_time(void);
void kmem_os_process_command(char *buf, size_t cap);

/* Call fn when the process ends normally (exit, or return from main).
 * Returns false where there is no such notion. */
bool kmem_os_at_exit(void (*fn)(void));

/* ---- the outside world ------------------------------------------------ */

/* Write diagnostic text (stderr on POSIX). Must not allocate. */
void kmem_os_write_error(const char *text, size_t len);

/* Stop the program after a fatal error. */
_Noreturn void kmem_os_abort(void);

/* Value of a configuration variable, or NULL. Called at initialization
 * only; must not allocate. */
const char *kmem_os_getenv(const char *name);

/* Monotonic time in nanoseconds (0 when the platform has no clock). */
uint64_t kmem_os_now_ns(void);

/* The same clock read as cheaply as the platform can, to within a few
 * milliseconds: for the slow paths' checks of whether something is due,
 * which may run many thousand times a second. */
uint64_t kmem_os_now_coarse_ns(void);

/* Some unpredictable bits, for the free-list key. */
uint64_t kmem_os_random(void);

#endif /* KMEM_PLATFORM_H */
