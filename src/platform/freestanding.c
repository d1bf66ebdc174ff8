/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * freestanding.c — the platform layer without an operating system: the
 * arena is the caller's region, and waiting, reporting and stopping go
 * through the caller's hooks (include/kmem_freestanding.h), set by the
 * front end (src/front/freestanding) before kmem starts.
 */
#include "platform/freestanding.h"
#include "platform/platform.h"

static struct kmem_hooks hooks;
static char *region_base;
static size_t region_size;

bool kmem_os_freestanding_setup(void *region, size_t size, const struct kmem_hooks *h)
{
    if (region_base != NULL)
        return false;
    hooks = *h;
    region_base = region;
    region_size = size;
    return true;
}

void *kmem_os_reserve(size_t size, size_t align, size_t *granted)
{
    (void)align; /* the region is page aligned; that is all kmem needs */
    if (region_base == NULL)
        return NULL;
    *granted = size < region_size ? size : region_size;
    return region_base;
}

uint64_t kmem_os_physical_memory(void)
{
    return region_size;
}

uint64_t kmem_os_address_space_left(void)
{
    return region_size;
}

bool kmem_os_commit(void *addr, size_t size)
{
    (void)addr;
    (void)size;
    return true;
}

bool kmem_os_protect(void *addr, size_t size, bool accessible)
{
    (void)addr;
    (void)size;
    return accessible; /* no memory protection: no guard pages */
}

uintptr_t kmem_os_caller(void)
{
    return 0; /* no backtraces */
}

void kmem_os_describe_code(uintptr_t pc, char *buf, size_t cap)
{
    (void)pc;
    if (cap > 0)
        buf[0] = '\0';
}

void kmem_os_decommit(void *addr, size_t size)
{
    if (hooks.decommit != NULL)
        hooks.decommit(addr, size);
}

bool kmem_os_decommit_zeroes(void)
{
    return hooks.decommit != NULL && hooks.decommit_zeroes && hooks.region_zeroed;
}

void kmem_os_wait(uint32_t *word, uint32_t expected)
{
    if (hooks.wait != NULL)
        hooks.wait(word, expected);
}

void kmem_os_wake(uint32_t *word, bool all)
{
    if (hooks.wake != NULL)
        hooks.wake(word, all);
}

bool kmem_os_start_thread(void (*fn)(void *), void *arg)
{
    (void)fn;
    (void)arg;
    return false; /* the host calls kmem_maintain() instead */
}

void kmem_os_end_if_last_thread(void)
{
}

void kmem_os_sleep_ms(uint32_t ms)
{
    (void)ms;
}

bool kmem_os_at_thread_exit(void (*fn)(void *), void *arg)
{
    (void)fn;
    (void)arg;
    return false;
}

bool kmem_os_at_fork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    (void)prepare;
    (void)parent;
    (void)child;
    return false;
}

void kmem_os_write_error(const char *text, size_t len)
{
    if (hooks.write_error != NULL)
        hooks.write_error(text, len);
}

_Noreturn void kmem_os_abort(void)
{
    if (hooks.abort != NULL)
        hooks.abort();
    __builtin_trap();
}

const char *kmem_os_getenv(const char *name)
{
    (void)name;
    return NULL;
}

uint64_t kmem_os_now_ns(void)
{
    return hooks.now_ns != NULL ? hooks.now_ns() : 0;
}

uint64_t kmem_os_now_coarse_ns(void)
{
    return kmem_os_now_ns();
}

uint64_t kmem_os_random(void)
{
    return hooks.seed ^ (uint64_t)(uintptr_t)region_base ^ 0x9e3779b97f4a7c15u;
}

void kmem_os_export_prepare(const char *dir)
{
    (void)dir;
}

void *kmem_os_export_create(size_t size)
{
    (void)size;
    return NULL; /* nobody to read it */
}

void kmem_os_export_reveal(void)
{
}

void *kmem_os_export_grow(void *record, size_t old_size, size_t size)
{
    (void)record;
    (void)old_size;
    (void)size;
    return NULL;
}

void kmem_os_export_remove(void)
{
}

void kmem_os_export_forget(void *record, size_t size)
{
    (void)record;
    (void)size;
}

int64_t kmem_os_process_id(void)
{
    return 0;
}

uint64_t kmem_os_process_start_time(void)
{
    return 0;
}

void kmem_os_process_command(char *buf, size_t cap)
{
    if (cap > 0)
        buf[0] = '\0';
}

bool kmem_os_at_exit(void (*fn)(void))
{
    (void)fn;
    return false;
}
