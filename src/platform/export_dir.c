/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * export_dir.c — see export_dir.h. Plain C library and system calls only:
 * kmemstat links it as well as the library (whose platform layer calls
 * it from kmem's own thread, where nothing may allocate through kmem's
 * locks: hence no opendir, which mallocs).
 */
#define _GNU_SOURCE
#include "platform/export_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kmem_export.h"

bool kmem_export_dir_path(char *buf, size_t cap, const char *explicit_dir)
{
    int n;
    if (explicit_dir != NULL && explicit_dir[0] != '\0') {
        n = snprintf(buf, cap, "%s", explicit_dir);
    } else {
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        struct stat st;
        if (xdg != NULL && xdg[0] == '/' && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode) &&
            st.st_uid == getuid())
            n = snprintf(buf, cap, "%s/kmem", xdg);
        else if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode))
            n = snprintf(buf, cap, "/dev/shm/kmem-%u", (unsigned)getuid());
        else
            n = snprintf(buf, cap, "/tmp/kmem-%u", (unsigned)getuid());
    }
    return n > 0 && (size_t)n < cap;
}

const char *kmem_export_dir_check(const char *path, bool create)
{
    if (create && mkdir(path, 0700) != 0 && errno != EEXIST)
        return "cannot be created";
    struct stat st;
    if (lstat(path, &st) != 0)
        return "does not exist";
    if (!S_ISDIR(st.st_mode))
        return "is not a directory";
    if (st.st_uid != getuid())
        return "belongs to another user";
    if (st.st_mode & 022)
        return "can be written by other users";
    return NULL;
}

bool kmem_export_record_name(const char *name, long *pid)
{
    long v = 0;
    const char *p = name;
    if (*p < '1' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > 100000000)
            return false;
        v = v * 10 + (*p - '0');
    }
    if (strcmp(p, ".kmem") != 0)
        return false;
    *pid = v;
    return true;
}

uint64_t kmem_export_start_time_of(long pid)
{
    char file[64], buf[1024];
    snprintf(file, sizeof file, "/proc/%ld/stat", pid);
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    for (int field = 2; p != NULL && field < 22; field++)
        p = strchr(p + 1, ' ');
    return p != NULL ? strtoull(p + 1, NULL, 10) : 0;
}

enum kmem_export_owner kmem_export_owner_of(const char *path, long pid)
{
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return KMEM_EXPORT_GONE;
    struct kmem_export_header h;
    /* O_NONBLOCK: a FIFO of that name would block open() until someone
     * wrote into it (regular files ignore the flag). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return KMEM_EXPORT_UNKNOWN;
    ssize_t n = pread(fd, &h, sizeof h, 0);
    close(fd);
    if (n != (ssize_t)sizeof h || h.eh_magic != KMEM_EXPORT_MAGIC || h.eh_publishes == 0)
        return KMEM_EXPORT_UNKNOWN; /* not written yet, or not a record */
    uint64_t start = kmem_export_start_time_of(pid);
    if (start == 0)
        return KMEM_EXPORT_GONE;
    if (h.eh_start_time != 0 && h.eh_start_time != start)
        return KMEM_EXPORT_REUSED;
    return KMEM_EXPORT_LIVE;
}

void kmem_export_remove_stale(const char *dir, long self)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[4096];
    for (;;) {
        long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (long off = 0; off < n;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            off += d->d_reclen;
            long pid;
            if (!kmem_export_record_name(d->d_name, &pid) || pid == self)
                continue;
            char path[768];
            if (snprintf(path, sizeof path, "%s/%s", dir, d->d_name) >= (int)sizeof path)
                continue;
            enum kmem_export_owner o = kmem_export_owner_of(path, pid);
            if (o == KMEM_EXPORT_GONE || o == KMEM_EXPORT_REUSED)
                unlink(path);
        }
    }
    close(fd);
}
