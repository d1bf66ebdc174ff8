/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * export_dir.h — where the statistics records of a user's processes live
 * (POSIX), for the library that writes them and for kmemstat that reads
 * them, so that both look in the same place:
 *
 *   $KMEM_EXPORT_DIR, if set and not empty;
 *   else $XDG_RUNTIME_DIR/kmem, if that is an absolute path to a
 *     directory of the user's;
 *   else /dev/shm/kmem-UID, if /dev/shm is a directory;
 *   else /tmp/kmem-UID.
 *
 * A record is "<pid>.kmem" in that directory.
 */
#ifndef KMEM_EXPORT_DIR_H
#define KMEM_EXPORT_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Write the directory's path into buf (cap bytes), from `explicit` if it
 * is not NULL or empty, else from the environment and the rules above.
 * False if the path does not fit. */
bool kmem_export_dir_path(char *buf, size_t cap, const char *explicit_dir);

/* Check that `path` is a directory of the user's that no one else may
 * write into (and, with `create`, make it first, mode 0700). NULL when it
 * is; else why not, in a few words. */
const char *kmem_export_dir_check(const char *path, bool create);

/* "<pid>.kmem": true, with *pid. */
bool kmem_export_record_name(const char *name, long *pid);

/* When process pid started (field 22 of /proc/<pid>/stat); 0 if it is
 * gone. */
uint64_t kmem_export_start_time_of(long pid);

/* Whose is the record at `path`, named after `pid`: */
enum kmem_export_owner {
    KMEM_EXPORT_LIVE,    /* the process that wrote it runs */
    KMEM_EXPORT_GONE,    /* no process pid */
    KMEM_EXPORT_REUSED,  /* pid is another process now (its start time differs) */
    KMEM_EXPORT_UNKNOWN, /* not readable, not a record, or not written yet */
};
enum kmem_export_owner kmem_export_owner_of(const char *path, long pid);

/* Remove the records in dir of processes that are gone (or whose pid is
 * another process's now), but not `self`'s. */
void kmem_export_remove_stale(const char *dir, long self);

#endif /* KMEM_EXPORT_DIR_H */
