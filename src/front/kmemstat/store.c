/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store.c — see store.h.
 */
#define _GNU_SOURCE
#include "front/kmemstat/store.h"

#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/export_dir.h"

const char *store_dir(void)
{
    static char dir[512];
    if (!kmem_export_dir_path(dir, sizeof dir, getenv("KMEM_EXPORT_DIR"))) {
        fprintf(stderr, "kmemstat: KMEM_EXPORT_DIR is too long\n");
        return NULL;
    }
    const char *why = kmem_export_dir_check(dir, false);
    if (why != NULL && strcmp(why, "does not exist") != 0) {
        fprintf(stderr, "kmemstat: %s %s; kmemstat reads records only from a directory "
                        "of your own that no one else can write into\n", dir, why);
        return NULL;
    }
    /* The processes' maps name their records by absolute path. */
    static char real[PATH_MAX];
    if (why == NULL && realpath(dir, real) != NULL)
        return real;
    return dir;
}

void store_command_of(long pid, char *buf, size_t cap)
{
    char file[64];
    snprintf(file, sizeof file, "/proc/%ld/comm", pid);
    FILE *f = fopen(file, "r");
    buf[0] = '\0';
    if (f != NULL) {
        if (fgets(buf, (int)cap, f) != NULL)
            buf[strcspn(buf, "\n")] = '\0';
        fclose(f);
    }
}

/* Does a line of process pid's memory map end with `end` (or, with
 * anywhere, hold it)? -1 when the map cannot be read. */
static int maps_has(long pid, const char *text, bool anywhere)
{
    char file[64], line[4096];
    snprintf(file, sizeof file, "/proc/%ld/maps", pid);
    FILE *f = fopen(file, "r");
    if (f == NULL)
        return -1;
    size_t n = strlen(text);
    int found = 0;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        size_t len = strcspn(line, "\n");
        line[len] = '\0';
        found = anywhere ? strstr(line, text) != NULL
                         : len >= n && strcmp(line + len - n, text) == 0;
    }
    fclose(f);
    return found;
}

/* Does process pid still map the record at path? (Not after an exec into
 * a program without kmem, nor once it has let go of it.) */
static int maps_record(long pid, const char *path)
{
    return maps_has(pid, path, false);
}

bool store_runs_libkmem(long pid)
{
    return maps_has(pid, "/libkmem.so", true) == 1;
}

static void record_path(char *buf, size_t cap, const char *dir, long pid)
{
    snprintf(buf, cap, "%s/%ld.kmem", dir, pid);
}

/* Remove a record its process left behind, saying why. */
static void remove_stale(const char *path, long pid, const char *because)
{
    if (unlink(path) == 0)
        fprintf(stderr, "kmemstat: removed %s: %s\n", path, because);
    else if (errno != ENOENT)
        fprintf(stderr, "kmemstat: %s is stale (%s) but cannot be removed: %s\n", path,
                because, strerror(errno));
    (void)pid;
}

/* The state of the record at path for pid: STORE_OK (read into *out),
 * STORE_STALE (removed), STORE_BAD, or STORE_NOT_ON_KMEM (not there, or
 * not written yet). */
static enum store_found examine(const char *path, long pid, struct record *out, char *why,
                                size_t cap)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return STORE_NOT_ON_KMEM;
    switch (kmem_export_owner_of(path, pid)) {
    case KMEM_EXPORT_GONE:
        remove_stale(path, pid, "its process has ended");
        return STORE_STALE;
    case KMEM_EXPORT_REUSED:
        remove_stale(path, pid, "written by an earlier process with the same pid");
        return STORE_STALE;
    case KMEM_EXPORT_UNKNOWN:
    case KMEM_EXPORT_LIVE:
        break;
    }
    if (record_read(path, pid, out, why, cap) != 0)
        return STORE_BAD;
    if (maps_record(pid, path) == 0) {
        record_release(out);
        remove_stale(path, pid, "its process no longer has it (it ran exec, or let go)");
        return STORE_STALE;
    }
    return STORE_OK;
}

enum store_found store_find(const char *dir, long pid, struct record *out, char *why,
                            size_t cap)
{
    char proc[64];
    struct stat st;
    snprintf(proc, sizeof proc, "/proc/%ld", pid);
    if (stat(proc, &st) != 0)
        return STORE_NO_PROCESS;
    if (st.st_uid != getuid())
        return STORE_NOT_YOURS;
    char path[768];
    record_path(path, sizeof path, dir, pid);
    enum store_found f = examine(path, pid, out, why, cap);
    return f == STORE_STALE ? STORE_NOT_ON_KMEM : f;
}

static int by_pid(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

int store_each(const char *dir, void (*fn)(const struct record *r, void *arg), void *arg)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    long *pids = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid;
        if (!kmem_export_record_name(e->d_name, &pid))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            long *more = realloc(pids, cap * sizeof *pids);
            if (more == NULL)
                break;
            pids = more;
        }
        pids[n++] = pid;
    }
    closedir(d);
    if (n > 1)
        qsort(pids, n, sizeof *pids, by_pid);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        char path[768], why[256];
        struct record r;
        record_path(path, sizeof path, dir, pids[i]);
        enum store_found f = examine(path, pids[i], &r, why, sizeof why);
        if (f == STORE_OK) {
            fn(&r, arg);
            record_release(&r);
            seen++;
        } else if (f == STORE_BAD) {
            fprintf(stderr, "kmemstat: %s: %s\n", path, why);
        }
    }
    free(pids);
    return seen;
}
