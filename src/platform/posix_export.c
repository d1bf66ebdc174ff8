/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * posix_export.c — the statistics record on POSIX (see platform.h): a file
 * "<pid>.kmem" in the user's export directory (export_dir.h), mode 0600,
 * mapped shared so that kmem rewrites it in place, and its name removed
 * at exit. Also the process facts the record carries.
 *
 * Like the rest of the platform layer, nothing here calls malloc.
 */
#define _GNU_SOURCE
#include "platform/export_dir.h"
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the record ----------------------------------------------------------- */

static char dir[512];         /* where records go, from kmem_os_export_prepare */
static char path[600];        /* this process's record, once created */
static char new_path[610];    /* the same while its first copy is written */
static int record_fd = -1;
static pid_t creator;         /* the process that created it */
static bool warned;

static void warn_once(const char *what, const char *why)
{
    if (warned)
        return;
    warned = true;
    char line[768];
    int n = snprintf(line, sizeof line, "kmem: statistics not published: %s %s\n", what, why);
    if (n > 0)
        kmem_os_write_error(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

void kmem_os_export_prepare(const char *where)
{
    if (!kmem_export_dir_path(dir, sizeof dir, where))
        dir[0] = '\0';
}

static void remove_at_exit(void)
{
    kmem_os_export_remove();
}

void *kmem_os_export_create(size_t size)
{
    int saved = errno;
    void *record = NULL;
    if (dir[0] == '\0') {
        warn_once("the export directory's path is too long", "");
        goto out;
    }
    const char *why = kmem_export_dir_check(dir, true);
    if (why != NULL) {
        warn_once(dir, why);
        goto out;
    }
    pid_t pid = getpid();
    if (snprintf(path, sizeof path, "%s/%ld.kmem", dir, (long)pid) >= (int)sizeof path ||
        snprintf(new_path, sizeof new_path, "%s.new", path) >= (int)sizeof new_path)
        goto out;
    /* Made under another name and renamed once whole (reveal), so that a
     * reader never finds a record before its first copy. */
    int fd = -1;
    for (int attempt = 0; attempt < 2 && fd < 0; attempt++) {
        fd = open(new_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        /* Left by an earlier process with this pid (or by this one
         * before an exec): stale. */
        if (fd < 0 && errno == EEXIST)
            unlink(new_path);
    }
    if (fd < 0) {
        warn_once(new_path, "cannot be created");
        goto out;
    }
    if (fchmod(fd, 0600) != 0 || ftruncate(fd, (off_t)size) != 0) {
        close(fd);
        unlink(new_path);
        warn_once(new_path, "cannot be sized");
        goto out;
    }
    record = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (record == MAP_FAILED) {
        record = NULL;
        close(fd);
        unlink(new_path);
        warn_once(new_path, "cannot be mapped");
        goto out;
    }
    record_fd = fd;
    if (creator == 0)
        (void)kmem_os_at_exit(remove_at_exit);
    creator = pid;
    /* Processes that ended without removing theirs (killed, or _exit in
     * a program without kmem's drop-in library). */
    kmem_export_remove_stale(dir, (long)pid);
out:
    errno = saved;
    return record;
}

void kmem_os_export_reveal(void)
{
    int saved = errno;
    /* Over a stale record of this pid, if there is one. */
    if (rename(new_path, path) != 0)
        unlink(new_path);
    errno = saved;
}

void *kmem_os_export_grow(void *record, size_t old_size, size_t size)
{
    int saved = errno;
    void *grown = NULL;
    if (record_fd >= 0 && ftruncate(record_fd, (off_t)size) == 0) {
        grown = mremap(record, old_size, size, MREMAP_MAYMOVE);
        if (grown == MAP_FAILED)
            grown = NULL;
    }
    errno = saved;
    return grown;
}

void kmem_os_export_remove(void)
{
    int saved = errno;
    if (creator != 0 && creator == getpid() && path[0] != '\0') {
        unlink(path);
        unlink(new_path); /* if the process ends before its first copy */
        path[0] = '\0';
    }
    errno = saved;
}

void kmem_os_export_forget(void *record, size_t size)
{
    int saved = errno;
    if (record != NULL)
        munmap(record, size);
    if (record_fd >= 0)
        close(record_fd);
    record_fd = -1;
    path[0] = '\0';
    creator = 0;
    errno = saved;
}

/* ---- the process --------------------------------------------------------- */

int64_t kmem_os_process_id(void)
{
    return (int64_t)getpid();
}

/* Read a small /proc file into buf (NUL-terminated); its length, or -1. */
static ssize_t read_small(const char *file, char *buf, size_t cap)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

uint64_t kmem_os_process_start_time(void)
{
    int saved = errno;
    char buf[1024];
    uint64_t start = 0;
    /* Field 22; the command (field 2) is in parentheses and may hold
     * anything, so count from the last ')'. */
    if (read_small("/proc/self/stat", buf, sizeof buf) > 0) {
        char *p = strrchr(buf, ')');
        for (int field = 2; p != NULL && field < 22; field++)
            p = strchr(p + 1, ' ');
        if (p != NULL)
            start = strtoull(p + 1, NULL, 10);
    }
    errno = saved;
    return start;
}

void kmem_os_process_command(char *buf, size_t cap)
{
    int saved = errno;
    ssize_t n = read_small("/proc/self/cmdline", buf, cap);
    if (n <= 0) {
        n = read_small("/proc/self/comm", buf, cap);
        if (n > 0 && buf[n - 1] == '\n')
            buf[--n] = '\0';
    }
    if (n < 0)
        n = 0;
    for (ssize_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
            buf[i] = ' '; /* argument breaks, and newlines within one */
    while (n > 0 && buf[n - 1] == ' ')
        n--;
    buf[n] = '\0';
    errno = saved;
}

bool kmem_os_at_exit(void (*fn)(void))
{
    return atexit(fn) == 0;
}
