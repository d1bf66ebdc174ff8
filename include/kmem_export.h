/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kmem_export.h — the statistics a program on kmem publishes for other
 * processes to read while it runs (the kmemstat tool reads them): the
 * layout of the record, version 1. For tools; a program on kmem does not
 * need this header.
 *
 * Where. One file per process, named "<pid>.kmem", in a directory of the
 * user's own (mode 0700): $KMEM_EXPORT_DIR if set, else
 * $XDG_RUNTIME_DIR/kmem, else /dev/shm/kmem-<uid>, else /tmp/kmem-<uid>.
 * The file is readable only by its owner (mode 0600). A program publishes
 * once it has run for a second (KMEM_EXPORT_DELAY_MS), then about ten
 * times a second (KMEM_EXPORT_HZ), from kmem's background thread; it
 * removes the file at exit. KMEM_EXPORT=0 turns publishing off.
 *
 * Reading. The record is rewritten in place. eh_seq is odd while the
 * writer is in the middle of it: read eh_seq, then the record, then
 * eh_seq again; the copy is whole only if both reads gave the same even
 * value (retry otherwise). Within a whole record
 *
 *     sum over types of memuse
 *         == sum over buckets of inuse * size + large_inuse + internal
 *     small_inuse == sum over buckets of inuse * size
 *
 * hold exactly (the buckets' in-use figures are counted from the same
 * counters as the types'), and once the program is quiet every figure is
 * exact. A bucket's free + inuse == slabs * (slab_pages * page_size / size)
 * holds when the program is quiet (free is counted by the buckets
 * themselves).
 *
 * A reader must check what it reads: eh_magic, eh_version (a reader for
 * one version refuses another), the sizes and offsets below against the
 * file's length (in 64-bit arithmetic: offset + count * size overflows 32
 * bits), that the offsets are multiples of 8 (the parts are arrays of
 * 8-byte fields), and that every string ends with a NUL within its field
 * (the writer cuts a long name at a byte, maybe inside a UTF-8 character).
 * All integers are in the writer's byte order (the reader runs on the
 * same machine).
 */
#ifndef KMEM_EXPORT_H
#define KMEM_EXPORT_H

#include <stdint.h>

#define KMEM_EXPORT_MAGIC   UINT64_C(0x746174736d656d6b) /* "kmemstat" */
#define KMEM_EXPORT_VERSION 1u

#define KMEM_EXPORT_NAME_LEN    48u /* a type's name, NUL included (longer: cut) */
#define KMEM_EXPORT_DESC_LEN    80u /* its description */
#define KMEM_EXPORT_COMMAND_LEN 96u /* the process's command line */

/* The arena: the fields of struct kmem_arena_stats (<kmem.h>). */
struct kmem_export_arena {
    uint64_t ea_reserved;       /* bytes of address space reserved */
    uint64_t ea_page_size;
    uint64_t ea_large_inuse;    /* bytes in live large blocks */
    uint64_t ea_large_blocks;   /* live large blocks */
    uint64_t ea_slab_bytes;     /* bytes of pages cut into pieces */
    uint64_t ea_small_inuse;    /* bytes in live pieces */
    uint64_t ea_dirty_free;     /* free pages kept resident */
    uint64_t ea_clean_free;     /* free pages given back, below the high mark */
    uint64_t ea_high_mark;      /* bytes of the arena ever used */
    uint64_t ea_metadata;       /* bytes of page descriptors and run records */
    uint64_t ea_decommit_calls;
    uint64_t ea_decommit_bytes;
    uint64_t ea_commit_calls;
    uint64_t ea_required;       /* held for the pool: slabs + large + internal + dirty */
    uint64_t ea_requested;      /* bytes asked for, summed over all requests */
    uint64_t ea_rounded;        /* the same requests after rounding */
    uint64_t ea_internal;       /* kmem's own pages (thread caches) */
};

/* A bucket: the fields of struct kmem_bucket_stats. */
struct kmem_export_bucket {
    uint64_t eb_size;       /* piece size */
    uint64_t eb_inuse;      /* pieces handed out */
    uint64_t eb_free;       /* pieces free: in the bucket and in thread caches */
    uint64_t eb_cached;     /* of which in thread caches */
    uint64_t eb_requests;   /* allocations ever */
    uint64_t eb_highwat;    /* most pieces a thread cache keeps */
    uint64_t eb_slabs;      /* slabs held */
    uint64_t eb_slab_pages; /* pages per slab */
};

/* A type: the fields of struct kmem_type_stats, its name and description. */
struct kmem_export_type {
    uint64_t et_inuse;      /* live allocations */
    uint64_t et_memuse;     /* bytes they hold, rounded */
    uint64_t et_maxused;    /* high-water of memuse (sampled) */
    uint64_t et_calls;      /* allocations ever */
    uint64_t et_frees;      /* frees ever */
    uint64_t et_limit;      /* bytes, 0 = none */
    uint64_t et_limblocks;  /* times a caller found the type at its limit */
    uint64_t et_requested;  /* bytes asked for, summed */
    char et_name[KMEM_EXPORT_NAME_LEN];
    char et_description[KMEM_EXPORT_DESC_LEN];
};

/* The record starts with this header; the buckets and the types follow,
 * at the offsets it gives (from the start of the record). */
struct kmem_export_header {
    uint64_t eh_magic;          /* KMEM_EXPORT_MAGIC */
    uint32_t eh_version;        /* KMEM_EXPORT_VERSION */
    uint32_t eh_header_size;    /* sizeof(struct kmem_export_header) */
    uint64_t eh_seq;            /* even: the record is whole; odd: being written */
    uint64_t eh_length;         /* bytes of the record in use, header included */
    int64_t eh_pid;             /* the process */
    uint64_t eh_start_time;     /* when it started: clock ticks after boot, as in
                                   field 22 of /proc/<pid>/stat (0: unknown) */
    uint64_t eh_published_ns;   /* CLOCK_MONOTONIC when this copy was written */
    uint64_t eh_publishes;      /* copies written so far */
    uint32_t eh_interval_ms;    /* the writer's period */
    uint32_t eh_classes_per_doubling; /* 1: 1988 powers of two; 4 */
    uint32_t eh_nbuckets;
    uint32_t eh_ntypes;
    uint32_t eh_bucket_offset;  /* a multiple of 8, past the header */
    uint32_t eh_bucket_size;    /* sizeof(struct kmem_export_bucket) */
    uint32_t eh_type_offset;    /* a multiple of 8, past the buckets */
    uint32_t eh_type_size;      /* sizeof(struct kmem_export_type) */
    char eh_command[KMEM_EXPORT_COMMAND_LEN]; /* arguments joined by spaces */
    struct kmem_export_arena eh_arena;
};

#endif /* KMEM_EXPORT_H */
