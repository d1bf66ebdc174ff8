/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * records.h — statistics records in the layout of <kmem_export.h>, built
 * by hand for the tests of kmemstat's reader (tests/internal/test_record*.c)
 * and for the seeds of its fuzzer (tests/fuzz/make_corpus.c): a chosen
 * number of buckets and types, figures drawn from a seed that add up as
 * the header says a whole record must, and a chosen gap between the
 * parts (the format gives their offsets; the writer leaves none).
 *
 *     small_inuse == sum over buckets of inuse * size
 *     sum over types of memuse == small_inuse + large_inuse + internal
 *     each type: inuse <= calls; each bucket: free + inuse = slabs * pieces
 */
#ifndef KMEM_TEST_RECORDS_H
#define KMEM_TEST_RECORDS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kmem_export.h"

struct rec_shape {
    uint32_t nbuckets; /* 1..64: sizes 16, 32, 48, ... */
    uint32_t ntypes;   /* type 0 is "kmem" and holds the internal pages */
    uint32_t gap;      /* bytes left after the header and after the buckets (multiple of 8) */
    uint32_t classes;  /* eh_classes_per_doubling: 1 or 4 */
    int64_t pid;
    uint64_t seed;     /* the figures */
};

/* Names and descriptions that exercise the printers' escaping and padding. */
static const char *const rec_names[] = {
    "kmem", "malloc", "pcb", "namei", "quote\"back\\slash", "tab\there",
    "caf\xc3\xa9", "a-name-of-forty-seven-characters-which-is-the-m",
};
static const char *const rec_descriptions[] = {
    "kmem's own pages", "the C library interface", "protocol control blocks", "",
    "line\nbreak", "\x01\x1f control bytes",
    /* cut in the middle of the last character, as the writer cuts it */
    "donn\xc3\xa9" "es: a description longer than its field, cut by the writer, right in "
    "caf\xc3\xa9 and so on",
};

/* splitmix64: figures from the seed. */
static inline uint64_t rec_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline size_t rec_buckets_offset(const struct rec_shape *s)
{
    return sizeof(struct kmem_export_header) + s->gap;
}

static inline size_t rec_types_offset(const struct rec_shape *s)
{
    return rec_buckets_offset(s) + s->nbuckets * sizeof(struct kmem_export_bucket) + s->gap;
}

static inline size_t rec_length(const struct rec_shape *s)
{
    return rec_types_offset(s) + s->ntypes * sizeof(struct kmem_export_type);
}

/* Write the record of shape s into buf (rec_length(s) bytes, 8-aligned). */
static inline void rec_build(void *buf, const struct rec_shape *s)
{
    const uint64_t page = 4096;
    uint64_t r = s->seed;
    unsigned char *base = buf;
    memset(buf, 0, rec_length(s));
    struct kmem_export_header *h = buf;
    struct kmem_export_bucket *b = (void *)(base + rec_buckets_offset(s));
    struct kmem_export_type *t = (void *)(base + rec_types_offset(s));
    struct kmem_export_arena *a = &h->eh_arena;

    h->eh_magic = KMEM_EXPORT_MAGIC;
    h->eh_version = KMEM_EXPORT_VERSION;
    h->eh_header_size = sizeof *h;
    h->eh_seq = 2 * (1 + rec_next(&r) % 1000);
    h->eh_length = rec_length(s);
    h->eh_pid = s->pid;
    h->eh_start_time = 1000 + rec_next(&r) % 100000;
    h->eh_published_ns = rec_next(&r) >> 4;
    h->eh_publishes = h->eh_seq / 2;
    h->eh_interval_ms = 100;
    h->eh_classes_per_doubling = s->classes;
    h->eh_nbuckets = s->nbuckets;
    h->eh_ntypes = s->ntypes;
    h->eh_bucket_offset = (uint32_t)rec_buckets_offset(s);
    h->eh_bucket_size = sizeof *b;
    h->eh_type_offset = (uint32_t)rec_types_offset(s);
    h->eh_type_size = sizeof *t;
    snprintf(h->eh_command, sizeof h->eh_command, "/usr/bin/prog --seed %llu \"arg\"",
             (unsigned long long)s->seed);

    /* Buckets: nothing in use when there is no type to own it. */
    for (uint32_t i = 0; i < s->nbuckets; i++) {
        struct kmem_export_bucket *e = &b[i];
        e->eb_size = 16 * (i + 1);
        e->eb_slab_pages = 1 + (e->eb_size > 1024);
        uint64_t pieces = e->eb_slab_pages * page / e->eb_size;
        e->eb_slabs = rec_next(&r) % 3;
        e->eb_inuse = s->ntypes > 0 ? rec_next(&r) % (e->eb_slabs * pieces + 1) : 0;
        e->eb_free = e->eb_slabs * pieces - e->eb_inuse;
        e->eb_cached = e->eb_free / 2;
        e->eb_requests = e->eb_inuse + rec_next(&r) % 1000;
        e->eb_highwat = 64;
        a->ea_small_inuse += e->eb_inuse * e->eb_size;
        a->ea_slab_bytes += e->eb_slabs * e->eb_slab_pages * page;
    }
    if (s->ntypes > 0) {
        a->ea_large_blocks = rec_next(&r) % 4;
        a->ea_large_inuse = a->ea_large_blocks * 3 * page;
        a->ea_internal = page * (rec_next(&r) % 3);
    }
    a->ea_reserved = (uint64_t)1 << 36;
    a->ea_page_size = page;
    a->ea_dirty_free = rec_next(&r) % 16;
    a->ea_clean_free = rec_next(&r) % 16;
    a->ea_required = a->ea_slab_bytes + a->ea_large_inuse + a->ea_internal +
                     a->ea_dirty_free * page;
    a->ea_high_mark = a->ea_required + a->ea_clean_free * page;
    a->ea_metadata = 8 * (a->ea_reserved / page) / 64;
    a->ea_decommit_calls = rec_next(&r) % 10;
    a->ea_decommit_bytes = a->ea_decommit_calls * page;
    a->ea_commit_calls = 1 + a->ea_decommit_calls;
    a->ea_rounded = a->ea_small_inuse + a->ea_large_inuse + rec_next(&r) % 100000;
    a->ea_requested = a->ea_rounded - a->ea_rounded / 8;

    /* Types: "kmem" holds the internal pages; the bytes in pieces and
     * large blocks are shared out among the others (the last takes what
     * is left; with one type, it takes everything). */
    uint64_t left = a->ea_small_inuse + a->ea_large_inuse;
    for (uint32_t i = 0; i < s->ntypes; i++) {
        struct kmem_export_type *e = &t[i];
        size_t nn = sizeof rec_names / sizeof rec_names[0];
        size_t nd = sizeof rec_descriptions / sizeof rec_descriptions[0];
        if (i < nn)
            snprintf(e->et_name, sizeof e->et_name, "%s", rec_names[i]);
        else
            snprintf(e->et_name, sizeof e->et_name, "type%u", i);
        snprintf(e->et_description, sizeof e->et_description, "%s", rec_descriptions[i % nd]);
        e->et_memuse = i == 0 ? a->ea_internal : 0;
        if (s->ntypes == 1)
            e->et_memuse += left;
        else if (i == s->ntypes - 1)
            e->et_memuse = left;
        else if (i > 0)
            e->et_memuse = rec_next(&r) % (left + 1);
        if (i > 0)
            left -= e->et_memuse;
        e->et_inuse = e->et_memuse / 16;
        e->et_maxused = e->et_memuse + rec_next(&r) % 4096;
        e->et_calls = e->et_inuse + rec_next(&r) % 1000;
        e->et_frees = e->et_calls - e->et_inuse;
        e->et_limit = i % 3 == 2 ? e->et_maxused * 2 : 0;
        e->et_limblocks = e->et_limit != 0 ? rec_next(&r) % 5 : 0;
        e->et_requested = e->et_memuse - e->et_memuse / 8;
    }
}

#endif /* KMEM_TEST_RECORDS_H */
