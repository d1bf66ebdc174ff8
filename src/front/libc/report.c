/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * report.c — statistics to a file descriptor, and at exit.
 *
 * When the process ends normally (exit, or return from main), kmem writes
 * its statistics if the environment asks for it:
 *   KMEM_STATS=1            the tables, on standard error
 *   KMEM_STATS_JSON=FILE    the JSON, into FILE
 *   KMEM_STATS_PID=N        only if this process is N (kmem-run sets it to
 *                           the command it runs, so that the programs that
 *                           command starts do not report too)
 * "Normally" includes _exit() and _Exit(), which many programs (shells
 * among them) end with: exit.c provides them and reports first. A process
 * killed by a signal does not report.
 */
#define _GNU_SOURCE
#include "front/libc/report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "kmem.h"

static void write_all(void *arg, const char *text, size_t len)
{
    int fd = *(int *)arg;
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        text += n;
        len -= (size_t)n;
    }
}

void kmem_report_write(int fd, int flags)
{
    kmem_stats_print(write_all, &fd, flags);
}

void kmem_report_at_exit(void)
{
    static int reported; /* exit() runs the destructor; _exit() may follow */
    int saved = errno;
    /* Only the process asked about reports; checked before touching
     * anything, because a vfork() child shares this memory with its
     * parent. */
    const char *pid = getenv("KMEM_STATS_PID");
    if (pid != NULL && *pid != '\0' && strtol(pid, NULL, 10) != (long)getpid())
        return;
    const char *tables = getenv("KMEM_STATS");
    const char *json = getenv("KMEM_STATS_JSON");
    bool want_tables = tables != NULL && *tables != '\0' && *tables != '0';
    bool want_json = json != NULL && *json != '\0';
    if ((!want_tables && !want_json) || __atomic_exchange_n(&reported, 1, __ATOMIC_RELAXED))
        return;
    if (want_tables)
        kmem_report_write(2, 0);
    if (want_json) {
        int fd = open(json, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            kmem_report_write(fd, KMEM_STATS_JSON);
            close(fd);
        }
    }
    errno = saved;
}

static __attribute__((destructor)) void report_in_destructor(void)
{
    kmem_report_at_exit();
}
