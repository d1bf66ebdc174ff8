/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * exit.c — _exit() and _Exit() of the drop-in library: many programs end
 * with them (shells among them), skipping the destructors that would have
 * written the statistics kmem-run asked for and removed the published
 * record (kmemstat's). These do both first, then end the process as the
 * C library's do.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

#include "core/alloc/debug.h"
#include "core/alloc/export.h"
#include "front/libc/report.h"

__attribute__((visibility("default"), noreturn)) void _exit(int status)
{
    kmem_debug_at_exit();
    kmem_report_at_exit();
    kmem_export_at_exit();
    for (;;)
        syscall(SYS_exit_group, status);
}

__attribute__((visibility("default"), noreturn)) void _Exit(int status)
{
    _exit(status);
}
