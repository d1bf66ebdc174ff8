/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * make_corpus.c — writes the seed corpus of fuzz_record into a folder
 * (make fuzz-corpus: tests/fuzz/corpus/record/): records built by hand
 * (tests/records.h) in several shapes, one the real writer published for
 * this very program (kmem's export, read back with record_read), and a few
 * broken copies (cut short, another version, torn, sums that do not add
 * up) so that the fuzzer starts next to every refusal, and the cases of
 * the bugs found so far (regress-*). Every file is a few KB. The
 * hand-built ones are the same on every run; the real one carries this
 * run's pid and times. Files it does not write (inputs a fuzzer run
 * found, added by hand as regress-*) are left alone.
 *
 *     make_corpus DIR
 */
#define _GNU_SOURCE
#include <errno.h>
#include <kmem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "front/kmemstat/record.h"
#include "records.h"

KMEM_TYPE_DEFINE(M_SEED_PCB, "pcb", "protocol control blocks");
KMEM_TYPE_DEFINE(M_SEED_NAMEI, "namei", "pathname buffers");

static const char *dir;

static void put(const char *name, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "make_corpus: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    printf("  %-28s %6zu bytes\n", name, len);
}

/* A hand-built record of shape s, returned in a static buffer. */
static struct kmem_export_header *built(const struct rec_shape *s, size_t *len)
{
    static uint64_t buf[4096];
    *len = rec_length(s);
    if (*len > sizeof buf)
        exit(1);
    rec_build(buf, s);
    return (void *)buf;
}

/* This program's own record, as kmem published it. */
static void real_record(void)
{
    char tmp[] = "/tmp/kmem-corpus-XXXXXX";
    if (mkdtemp(tmp) == NULL) {
        perror("make_corpus: mkdtemp");
        exit(1);
    }
    setenv("KMEM_EXPORT_DIR", tmp, 1);
    setenv("KMEM_EXPORT_DELAY_MS", "0", 1);
    setenv("KMEM_EXPORT", "1", 1);
    void *p[40];
    for (int i = 0; i < 40; i++)
        p[i] = kmem_malloc((size_t)(24 * (i + 1)), i % 2 ? M_SEED_PCB : M_SEED_NAMEI, KM_WAITOK);
    void *large = kmem_malloc(100000, M_SEED_PCB, KM_WAITOK);
    char path[256], why[256];
    snprintf(path, sizeof path, "%s/%ld.kmem", tmp, (long)getpid());
    struct record r;
    int got = -1;
    for (int attempt = 0; attempt < 300 && got != 0; attempt++) {
        struct timespec ts = { 0, 10 * 1000000L };
        nanosleep(&ts, NULL);
        got = record_read(path, (long)getpid(), &r, why, sizeof why);
    }
    if (got != 0) {
        fprintf(stderr, "make_corpus: no record of its own in %s: %s\n", tmp, why);
        exit(1);
    }
    put("real-writer.rec", r.rc_data, r.rc_len);
    record_release(&r);
    kmem_free(large, M_SEED_PCB);
    for (int i = 0; i < 40; i++)
        kmem_free(p[i], i % 2 ? M_SEED_PCB : M_SEED_NAMEI);
    unlink(path);
    rmdir(tmp);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus DIR\n");
        return 2;
    }
    dir = argv[1];
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        perror(dir);
        return 1;
    }
    size_t len;
    struct kmem_export_header *h;
    const struct rec_shape shapes[] = {
        { 4, 3, 0, 4, 4242, 1 },   /* small */
        { 32, 8, 0, 4, 4243, 2 },  /* the default geometry's bucket count */
        { 10, 5, 0, 1, 4244, 3 },  /* 1988 powers of two */
        { 3, 2, 24, 4, 4245, 4 },  /* gaps between the parts */
        { 2, 0, 0, 4, 4246, 5 },   /* no types */
        { 1, 1, 0, 4, 1, 6 },      /* one of each */
    };
    const char *names[] = { "valid-small.rec", "valid-quarter.rec", "valid-pow2.rec",
                            "valid-gaps.rec", "valid-no-types.rec", "valid-one.rec" };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        h = built(&shapes[i], &len);
        put(names[i], h, len);
    }

    h = built(&shapes[0], &len);
    put("cut-in-header.rec", h, sizeof *h - 5);
    put("cut-in-types.rec", h, len - 100);
    h->eh_version = 2;
    put("version-2.rec", h, len);
    h = built(&shapes[0], &len);
    h->eh_seq |= 1;
    put("torn.rec", h, len);
    h = built(&shapes[0], &len);
    h->eh_arena.ea_small_inuse += 16;
    put("sums-differ.rec", h, len);
    h = built(&shapes[0], &len);
    h->eh_ntypes += 1u << 26; /* 3 + 2^26 types: 576 bytes in 32-bit arithmetic */
    put("ntypes-wraps.rec", h, len);

    /* The bugs found so far, as records (tests/internal/test_record.c
     * checks each case too). Accepted; printed, a control character
     * reached the terminal and a description the writer cut inside a
     * UTF-8 character made the JSON invalid. */
    const struct rec_shape eight = { 8, 8, 0, 4, 4247, 7 };
    h = built(&eight, &len);
    struct kmem_export_type *t = (void *)((char *)h + h->eh_type_offset);
    strcpy(t[0].et_name, "esc\033[2J");
    strcpy(h->eh_command, "prog \xff\xfe \xe2\x82");
    put("regress-control-chars.rec", h, len);
    /* Refused now: in use past 2^64 bytes, adding up only in 128 bits
     * (printed, the total wrapped). */
    h = built(&shapes[0], &len);
    t = (void *)((char *)h + h->eh_type_offset);
    h->eh_arena.ea_large_inuse = UINT64_MAX;
    t[0].et_memuse = h->eh_arena.ea_internal;
    t[1].et_memuse = h->eh_arena.ea_small_inuse;
    t[2].et_memuse = UINT64_MAX;
    put("regress-inuse-past-2e64.rec", h, len);
    /* Accepted: figures that made the estimated ratio and the K column
     * wrap. */
    h = built(&shapes[0], &len);
    t = (void *)((char *)h + h->eh_type_offset);
    h->eh_arena.ea_required = 1;
    h->eh_arena.ea_requested = (uint64_t)1 << 40;
    h->eh_arena.ea_rounded = 1;
    t[1].et_maxused = UINT64_MAX;
    t[2].et_limit = UINT64_MAX - 1;
    put("regress-huge-figures.rec", h, len);

    real_record();
    return 0;
}
