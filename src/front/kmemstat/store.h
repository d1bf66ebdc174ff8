/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store.h — the user's directory of records (src/platform/export_dir.h):
 * finding one process's, walking all of them, and removing those their
 * processes left behind, with a clear word for each case.
 */
#ifndef KMEMSTAT_STORE_H
#define KMEMSTAT_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "front/kmemstat/record.h"

/* The directory (KMEM_EXPORT_DIR or the default), checked; NULL with the
 * reason printed when it cannot be used. */
const char *store_dir(void);

/* What became of a request for one process's record. */
enum store_found {
    STORE_OK,          /* *out holds its record */
    STORE_NO_PROCESS,  /* no such process */
    STORE_NOT_YOURS,   /* another user's process */
    STORE_NOT_ON_KMEM, /* running, but no record (not on kmem, KMEM_EXPORT=0,
                          or not published yet) */
    STORE_STALE,       /* a record left by an earlier process or image; removed */
    STORE_BAD,         /* a record that does not read (why says why) */
};
enum store_found store_find(const char *dir, long pid, struct record *out, char *why,
                            size_t cap);

/* Call fn for each live record in dir, in order of pid, removing the stale
 * ones (and saying so on the error output). Returns how many it saw. */
int store_each(const char *dir, void (*fn)(const struct record *r, void *arg), void *arg);

/* Has process pid the shared library libkmem.so in its memory map? (A
 * program linked with libkmem.a has not, for all that it is on kmem.) */
bool store_runs_libkmem(long pid);

/* The first word of process pid's command, from /proc (for messages). */
void store_command_of(long pid, char *buf, size_t cap);

#endif /* KMEMSTAT_STORE_H */
