/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * record.h — reading another process's statistics record (the layout of
 * <kmem_export.h>) as hostile input: a whole copy (the sequence count read
 * before and after), every size, offset, count and string checked before
 * anything is used, never a read outside what was read.
 */
#ifndef KMEMSTAT_RECORD_H
#define KMEMSTAT_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "kmem_export.h"

struct record {
    long rc_pid;
    unsigned char *rc_data; /* the copy (malloc'd), rc_len bytes */
    size_t rc_len;
    const struct kmem_export_header *rc_header;
    const struct kmem_export_bucket *rc_buckets;
    const struct kmem_export_type *rc_types;
};

/* Check that buf[0..len) is a whole record of the version this reader
 * knows, consistent with itself (the sums kmem_export.h promises). NULL
 * when it is; else what is wrong, in `why` (cap bytes). */
const char *record_check(const void *buf, size_t len, char *why, size_t cap);

/* Read the record at `path`, named after `pid`, into *out. 0, or -1 with
 * the reason in `why`. */
int record_read(const char *path, long pid, struct record *out, char *why, size_t cap);

/* Point the record's fields into a checked buffer (which it takes), and
 * make its strings safe to print anywhere: in the command line and the
 * types' names and descriptions, each control character and each byte
 * that is not part of a valid UTF-8 character becomes '?'. */
void record_adopt(struct record *out, unsigned char *data, size_t len, long pid);

void record_release(struct record *r);

/* Memory in use and held, from the arena's figures. */
unsigned long long record_inuse(const struct record *r);
unsigned long long record_held(const struct record *r);

#endif /* KMEMSTAT_RECORD_H */
