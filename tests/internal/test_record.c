/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_record.c — kmemstat's reader (src/front/kmemstat/record.c, compiled
 * into this test by mk/build.mk) on hostile records. A valid record built
 * by hand (tests/records.h) is accepted and prints well-formed tables,
 * JSON and Prometheus text; every truncation of it, and each field made
 * wrong in turn, is refused with a message that names what is wrong.
 * Every buffer is checked in a heap block of exactly its length, so that
 * under AddressSanitizer (make test-asan) a read past it fails the test.
 * Then record_read on files that are not whole records: missing, empty,
 * a FIFO or a directory in its place (neither may block it), a link,
 * another process's, one that stays half-written (it must give up in
 * bounded time); and the record this very process publishes through
 * kmem, which must read back.
 *
 * Checks marked "regression" are for bugs the fuzzer or a review found
 * (their inputs are in tests/fuzz/corpus/record/regress-*).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <kmem.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "front/kmemstat/record.h"
#include "front/kmemstat/show.h"
#include "fuzz/output_check.h"
#include "harness.h"
#include "platform/export_dir.h"
#include "records.h"

KMEM_TYPE_DEFINE(M_TEST_RECORD, "test_record", "what this test allocates on kmem");

static uint64_t seed;

/* ---- checking buffers -------------------------------------------------------- */

/* record_check on a heap copy of exactly len bytes of p. */
static const char *check_exact(const void *p, size_t len, char *why, size_t cap)
{
    unsigned char *copy = malloc(len);
    REQUIRE(copy != NULL || len == 0, "out of memory");
    if (len > 0)
        memcpy(copy, p, len);
    memset(why, '#', cap);
    const char *r = record_check(copy, len, why, cap);
    free(copy);
    return r;
}

/* The record being mutated, and its length. */
static uint64_t work[2048];
static size_t work_len;
static uint64_t valid[2048];
static size_t valid_len;
static struct rec_shape valid_shape;

static struct kmem_export_header *fresh(void)
{
    memcpy(work, valid, valid_len);
    work_len = valid_len;
    return (void *)work;
}

static struct kmem_export_bucket *bucket(uint32_t i)
{
    return (void *)((char *)work + rec_buckets_offset(&valid_shape) +
                    i * sizeof(struct kmem_export_bucket));
}

static struct kmem_export_type *type(uint32_t i)
{
    return (void *)((char *)work + rec_types_offset(&valid_shape) +
                    i * sizeof(struct kmem_export_type));
}

/* The work record, len bytes of it, must be refused with a message that
 * holds want (and want2, if not NULL). */
static void refused_len(const char *what, size_t len, const char *want, const char *want2,
                        bool quiet)
{
    char why[256];
    const char *r = check_exact(work, len, why, sizeof why);
    CHECK(r != NULL, "%s: accepted", what);
    if (r == NULL)
        return;
    CHECK(r == why && memchr(why, '\0', sizeof why) != NULL, "%s: no message", what);
    CHECK(strstr(r, want) != NULL, "%s: \"%s\" does not say \"%s\"", what, r, want);
    if (want2 != NULL)
        CHECK(strstr(r, want2) != NULL, "%s: \"%s\" does not say \"%s\"", what, r, want2);
    if (!quiet)
        printf("  refused  %-44s %s\n", what, r);
}

#define refused(what, want, want2) refused_len(what, work_len, want, want2, false)

/* Print an accepted record the three ways and check each output. */
static void print_all(const void *rec, size_t len, char *out[3], size_t outlen[3])
{
    unsigned char *copy = malloc(len);
    REQUIRE(copy != NULL, "out of memory");
    memcpy(copy, rec, len);
    struct record r;
    record_adopt(&r, copy, len, (long)((const struct kmem_export_header *)rec)->eh_pid);
    for (int how = 0; how < 3; how++) {
        FILE *f = open_memstream(&out[how], &outlen[how]);
        REQUIRE(f != NULL, "open_memstream");
        if (how == 2)
            show_prometheus(f, &r, true);
        else
            show_report(f, &r, how == 1);
        fclose(f);
    }
    record_release(&r);
    const char *e;
    CHECK((e = out_text_error(out[0], outlen[0])) == NULL, "tables: %s:\n%s", e, out[0]);
    CHECK((e = out_json_error(out[1], outlen[1])) == NULL, "JSON: %s:\n%s", e, out[1]);
    CHECK((e = out_prometheus_error(out[2], outlen[2])) == NULL, "Prometheus: %s:\n%s", e,
          out[2]);
}

static void accepted(const char *what, const void *rec, size_t len)
{
    char why[256];
    const char *r = check_exact(rec, len, why, sizeof why);
    CHECK(r == NULL, "%s: refused: %s", what, r);
    if (r != NULL)
        return;
    char *out[3];
    size_t outlen[3];
    print_all(rec, len, out, outlen);
    for (int i = 0; i < 3; i++)
        free(out[i]);
    printf("  accepted %s (%zu bytes)\n", what, len);
}

/* ---- valid records ------------------------------------------------------------ */

static void valid_records(void)
{
    const struct rec_shape shapes[] = {
        { 4, 3, 0, 4, 4242, seed },     { 32, 8, 0, 4, 4243, seed + 1 },
        { 10, 5, 0, 1, 4244, seed + 2 }, { 3, 2, 24, 4, 4245, seed + 3 },
        { 2, 0, 0, 4, 4246, seed + 4 },  { 64, 40, 8, 4, 1, seed + 5 },
    };
    static uint64_t buf[8192];
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        REQUIRE(rec_length(&shapes[i]) <= sizeof buf, "buffer too small");
        rec_build(buf, &shapes[i]);
        char what[96];
        snprintf(what, sizeof what, "%u buckets, %u types, gaps of %u", shapes[i].nbuckets,
                 shapes[i].ntypes, shapes[i].gap);
        accepted(what, buf, rec_length(&shapes[i]));
    }
    /* A longer buffer than eh_length (the writer's file is rounded up
     * to pages): the rest is not looked at. */
    rec_build(buf, &shapes[0]);
    accepted("with 1000 bytes after its end", buf, rec_length(&shapes[0]) + 1000);

    /* The one the hostile variants start from. */
    valid_shape = shapes[0];
    valid_len = rec_length(&valid_shape);
    rec_build(valid, &valid_shape);
}

/* ---- hostile records ------------------------------------------------------------- */

static void truncations(void)
{
    fresh();
    for (size_t n = 0; n < valid_len; n++)
        refused_len("truncated", n, "truncated", NULL, true);
    printf("  refused  every truncation, 0 to %zu bytes\n", valid_len - 1);
}

static void header_fields(void)
{
    struct kmem_export_header *h;
    char v[32];
    h = fresh(), h->eh_magic ^= 1, refused("wrong magic", "magic", NULL);
    h = fresh(), h->eh_magic = 0, refused("magic 0", "magic", NULL);
    h = fresh(), h->eh_version = 2, refused("version 2", "version 2", "version 1");
    h = fresh(), h->eh_version = 0, refused("version 0", "version 0", "version 1");
    h = fresh(), h->eh_version = UINT32_MAX;
    snprintf(v, sizeof v, "version %u", UINT32_MAX);
    refused("version 2^32 - 1", v, "version 1");
    h = fresh(), h->eh_header_size -= 8, refused("header size - 8", "sizes", NULL);
    h = fresh(), h->eh_header_size = 0, refused("header size 0", "sizes", NULL);
    h = fresh(), h->eh_bucket_size = 63, refused("bucket size 63", "sizes", NULL);
    h = fresh(), h->eh_bucket_size = 128, refused("bucket size 128", "sizes", NULL);
    h = fresh(), h->eh_type_size = 193, refused("type size 193", "sizes", NULL);
    h = fresh(), h->eh_type_size = UINT32_MAX, refused("type size 2^32 - 1", "sizes", NULL);
    h = fresh(), h->eh_seq |= 1, refused("odd sequence count", "middle of being written", NULL);
    h = fresh(), h->eh_seq = UINT64_MAX, refused("sequence 2^64 - 1", "middle", NULL);
    h = fresh(), h->eh_length += 1, refused("eh_length 1 past the buffer", "truncated", NULL);
    h = fresh(), h->eh_length = UINT64_MAX, refused("eh_length 2^64 - 1", "truncated", NULL);
    h = fresh(), h->eh_length -= sizeof(struct kmem_export_type);
    refused("eh_length short of the last type", "outside", NULL);
    h = fresh(), h->eh_length = sizeof *h, refused("eh_length of a header", "outside", NULL);
    h = fresh(), h->eh_length = 0, refused("eh_length 0", "outside", NULL);
    h = fresh(), h->eh_classes_per_doubling = 3, refused("3 classes per doubling", "geometry", NULL);
    h = fresh(), h->eh_pid = 0, refused("pid 0", "process id 0", NULL);
    h = fresh(), h->eh_pid = -1, refused("pid -1", "process id -1", NULL);
    h = fresh(), h->eh_pid = INT64_MIN, refused("pid -2^63", "process id", NULL);
    h = fresh(), memset(h->eh_command, 'x', sizeof h->eh_command);
    refused("command line without a NUL", "command line", NULL);
    (void)h;
}

static void counts_and_offsets(void)
{
    struct kmem_export_header *h;
    uint32_t bo = (uint32_t)rec_buckets_offset(&valid_shape);
    uint32_t to = (uint32_t)rec_types_offset(&valid_shape);
    h = fresh(), h->eh_nbuckets = 0, refused("no buckets", "0 buckets", NULL);
    h = fresh(), h->eh_nbuckets = 65, refused("65 buckets", "65 buckets", NULL);
    h = fresh(), h->eh_nbuckets = UINT32_MAX, refused("2^32 - 1 buckets", "buckets", NULL);
    h = fresh(), h->eh_nbuckets += 1, refused("a bucket more (over the types)", "outside", NULL);
    h = fresh(), h->eh_ntypes += 1, refused("a type more (past the end)", "outside", NULL);
    h = fresh(), h->eh_ntypes = UINT32_MAX, refused("2^32 - 1 types", "outside", NULL);
    /* 3 + 2^26 types of 192 bytes: 576 bytes in 32-bit arithmetic. */
    h = fresh(), h->eh_ntypes += 1u << 26, refused("3 + 2^26 types (wraps in 32 bits)", "outside", NULL);
    h = fresh(), h->eh_ntypes = 0x80000000u, refused("2^31 types", "outside", NULL);
    h = fresh(), h->eh_bucket_offset = 0, refused("buckets at 0 (in the header)", "outside", NULL);
    h = fresh(), h->eh_bucket_offset = bo - 8, refused("buckets 8 bytes early", "outside", NULL);
    h = fresh(), h->eh_bucket_offset = 0xffffffc0u, refused("buckets at 2^32 - 64", "outside", NULL);
    h = fresh(), h->eh_type_offset = to - 8, refused("types over the last bucket", "outside", NULL);
    h = fresh(), h->eh_type_offset = to + 8, refused("types 8 bytes late", "outside", NULL);
    h = fresh(), h->eh_type_offset = 0xfffffff8u, refused("types at 2^32 - 8", "outside", NULL);
    /* 32-bit offset + size wraps to a small number inside the buffer. */
    h = fresh(), h->eh_type_offset = 0xfffffe00u, refused("types at 2^32 - 512 (wraps)", "outside", NULL);
    h = fresh(), h->eh_type_offset = 0, h->eh_bucket_offset = 0;
    refused("everything at 0", "outside", NULL);
    (void)h;
}

static void buckets_and_types(void)
{
    struct kmem_export_header *h;
    struct kmem_export_bucket *b;
    struct kmem_export_type *t;
    fresh(), b = bucket(0), b[0].eb_size = 32, b[1].eb_size = 16;
    refused("bucket sizes swapped", "out of order", NULL);
    fresh(), b = bucket(0), b[1].eb_size = b[0].eb_size;
    refused("two buckets of one size", "out of order", NULL);
    fresh(), bucket(0)->eb_size = 0, refused("bucket of size 0", "bucket 1 has size 0", NULL);
    fresh(), bucket(0)->eb_size = 8, refused("bucket of size 8", "bucket 1 has size 8", NULL);
    fresh(), bucket(3)->eb_size = 65552, refused("bucket of 64 KiB + 16", "bucket 4", NULL);
    fresh(), bucket(3)->eb_size = UINT64_MAX, refused("bucket of 2^64 - 1", "bucket 4", NULL);
    fresh(), t = type(1), memset(t->et_name, 'n', sizeof t->et_name);
    refused("type name without a NUL", "type 2's name", NULL);
    fresh(), t = type(2), memset(t->et_description, 'd', sizeof t->et_description);
    refused("type description without a NUL", "type 3's name or description", NULL);
    fresh(), t = type(1), t->et_inuse = t->et_calls + 1;
    refused("in use above allocations", "in use of", "type 2");
    /* regression: the name in the message is made printable too */
    fresh(), t = type(1), t->et_inuse = t->et_calls + 1, strcpy(t->et_name, "\033[2J");
    refused("in use above allocations, name with ESC", "(\"?[2J\")", NULL);
    h = fresh(), h->eh_arena.ea_small_inuse += 16;
    refused("arena's small_inuse off by 16", "does not add up: buckets", NULL);
    fresh(), bucket(0)->eb_inuse += 1, refused("a bucket's inuse off by one", "does not add up", NULL);
    h = fresh(), h->eh_arena.ea_large_inuse += 1;
    refused("large_inuse off by one", "does not add up: types", NULL);
    h = fresh(), h->eh_arena.ea_internal += 4096;
    refused("internal off by a page", "does not add up: types", NULL);
    fresh(), type(0)->et_memuse += 1, refused("a type's memuse off by one", "does not add up: types", NULL);
    /* A bucket's inuse * size past 2^64: summed in 128 bits, not wrapped
     * back to the arena's figure. */
    fresh(), b = bucket(0), b->eb_inuse += (uint64_t)1 << 60;
    refused("bucket inuse * size wraps 2^64", "does not add up: buckets hold", NULL);
    /* Types' memuse summing past 2^64 to the arena's figure mod 2^64. */
    fresh(), type(1)->et_memuse += (uint64_t)1 << 63, type(2)->et_memuse += (uint64_t)1 << 63;
    refused("types' memuse wraps 2^64", "does not add up: types hold", NULL);
    /* regression: the totals add up in 128 bits, but record_inuse and
     * the printers add them in 64: such a record is refused. */
    h = fresh();
    uint64_t small = h->eh_arena.ea_small_inuse, internal = h->eh_arena.ea_internal;
    h->eh_arena.ea_large_inuse = UINT64_MAX;
    type(0)->et_memuse = internal;
    type(1)->et_memuse = small;
    type(2)->et_memuse = UINT64_MAX;
    refused("in use past 2^64 bytes, adding up in 128 bits", "more than 2^64", NULL);
    (void)h;
}

/* regression (found by the fuzzer): offsets that are not multiples of 8
 * put the buckets or types at misaligned addresses (undefined behaviour,
 * which UBSan reports). */
static void alignment(void)
{
    static uint64_t buf[2048];
    struct rec_shape s = valid_shape;
    s.gap = 8;
    rec_build(buf, &s);
    accepted("gaps of 8 (aligned)", buf, rec_length(&s));
    struct kmem_export_header *h = (void *)buf;
    memcpy(work, buf, rec_length(&s));
    work_len = rec_length(&s);
    h = (void *)work;
    h->eh_bucket_offset += 4;
    refused("buckets at an offset of 4 mod 8", "not aligned", NULL);
    memcpy(work, buf, rec_length(&s));
    h->eh_type_offset -= 4;
    refused("types at an offset of 4 mod 8", "not aligned", NULL);
}

/* The message fits any capacity, NUL-terminated. */
static void small_capacity(void)
{
    fresh();
    for (size_t cap = 1; cap < 16; cap++) {
        char why[16];
        const char *r = check_exact(work, 10, why, cap);
        CHECK(r != NULL && memchr(why, '\0', cap) != NULL && strlen(why) == cap - 1,
              "capacity %zu: \"%.*s\"", cap, (int)cap, why);
    }
}

/* regression: strings made printable when adopted, for every output (a
 * control character reached the terminal; a description the writer cut
 * inside a UTF-8 character made the JSON invalid). */
static void printable_strings(void)
{
    /* Eight types: the names of tests/records.h with a tab and UTF-8,
     * the description cut inside a character. */
    struct rec_shape s = { 8, 8, 0, 4, 4242, seed };
    static uint64_t buf[2048];
    rec_build(buf, &s);
    struct kmem_export_header *h = (void *)buf;
    struct kmem_export_type *t = (void *)((char *)buf + rec_types_offset(&s));
    strcpy(t[0].et_name, "esc\033[31mred");
    strcpy(t[1].et_description, "bell\a del\x7f");
    strcpy(h->eh_command, "\xff\xfe prog \xe2\x82");
    char *out[3];
    size_t len[3];
    print_all(buf, rec_length(&s), out, len);
    CHECK(strstr(out[0], "esc?[31mred") != NULL, "tables: the name with ESC:\n%s", out[0]);
    CHECK(strstr(out[0], "tab?here") != NULL, "tables: the name with a tab:\n%s", out[0]);
    CHECK(strstr(out[0], "caf\xc3\xa9") != NULL, "tables: a valid UTF-8 name kept:\n%s", out[0]);
    CHECK(strstr(out[1], "bell? del?") != NULL, "JSON: description:\n%s", out[1]);
    CHECK(strstr(out[1], "right in caf?\"") != NULL, "JSON: the description cut by the writer:\n%s",
          out[1]);
    CHECK(strstr(out[2], "command=\"??\"") != NULL, "Prometheus: the command:\n%s", out[2]);
    for (int i = 0; i < 3; i++)
        free(out[i]);
}

/* regression: the estimated requested/required is the product of two
 * ratios; from a record whose figures make both huge, it wrapped. */
static void saturated_ratio(void)
{
    struct kmem_export_header *h = fresh();
    h->eh_arena.ea_required = 1;
    h->eh_arena.ea_requested = (uint64_t)1 << 40;
    h->eh_arena.ea_rounded = 1;
    char *out[3];
    size_t len[3];
    print_all(work, work_len, out, len);
    /* UINT64_MAX / 10000 in units of 1/10000 */
    CHECK(strstr(out[1], "\"requested_over_required_estimate\":184467440737.0955") != NULL,
          "the estimate:\n%s", out[1]);
    for (int i = 0; i < 3; i++)
        free(out[i]);
}

/* ---- files ---------------------------------------------------------------------- */

static char dir[64];

static void put_file(const char *path, const void *data, size_t len)
{
    unlink(path);
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL, "cannot write %s", path);
    REQUIRE(fwrite(data, 1, len, f) == len && fclose(f) == 0, "cannot write %s", path);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* record_read(path, pid) in a child with a deadline: must return -1 with
 * a message holding want, within `seconds` (a FIFO must not block it). */
static void read_refused(const char *what, const char *path, long pid, const char *want,
                         double seconds)
{
    fflush(stdout);
    double start = now_s();
    pid_t child = fork();
    REQUIRE(child >= 0, "fork");
    if (child == 0) {
        alarm((unsigned)seconds + 1);
        struct record r;
        char why[256];
        int rc = record_read(path, pid, &r, why, sizeof why);
        if (rc == 0) {
            printf("  %s: read\n", what);
            _exit(2);
        }
        int ok = strstr(why, want) != NULL && r.rc_data == NULL;
        printf("  refused  %-44s %s\n", what, why);
        fflush(stdout);
        _exit(ok ? 0 : 3);
    }
    int status;
    REQUIRE(waitpid(child, &status, 0) == child, "waitpid");
    double took = now_s() - start;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "%s: %s", what, WIFSIGNALED(status) ? "hung or crashed (killed by a signal)"
                          : WEXITSTATUS(status) == 2 ? "read as a record"
                                                     : "the message does not say what is wrong");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
        fprintf(stderr, "  (wanted \"%s\")\n", want);
    CHECK(took < seconds, "%s: took %.2f s", what, took);
}

static void files(void)
{
    char path[128], other[128];
    strcpy(dir, "/tmp/kmem-test-record-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/4242.kmem", dir);

    read_refused("no file", path, 4242, "cannot be opened", 2);
    put_file(path, "", 0);
    read_refused("an empty file", path, 4242, "truncated", 2);

    /* Valid, with the rest of the writer's pages after it. */
    static uint64_t page[4096];
    memcpy(page, valid, valid_len);
    put_file(path, page, sizeof page);
    struct record r;
    char why[256];
    CHECK(record_read(path, 4242, &r, why, sizeof why) == 0, "a valid file: %s", why);
    if (r.rc_data != NULL) {
        CHECK_EQ(r.rc_len, valid_len);
        CHECK_EQ(r.rc_header->eh_ntypes, valid_shape.ntypes);
        CHECK(memcmp(r.rc_buckets, (char *)valid + rec_buckets_offset(&valid_shape),
                     valid_shape.nbuckets * sizeof *r.rc_buckets) == 0, "buckets differ");
        record_release(&r);
    }
    read_refused("another pid's", path, 4243, "named after pid 4243 but written by 4242", 2);

    /* regression (review): open() of a FIFO blocks until someone writes
     * into it; kmem_export_owner_of (which kmemstat asks first) too. */
    unlink(path);
    REQUIRE(mkfifo(path, 0600) == 0, "mkfifo: %s", strerror(errno));
    read_refused("a FIFO", path, 4242, "not a regular file", 2);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        alarm(2);
        _exit(kmem_export_owner_of(path, (long)getppid()) == KMEM_EXPORT_UNKNOWN ? 0 : 1);
    }
    int status;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "kmem_export_owner_of on a FIFO: %s", WIFSIGNALED(status) ? "hung" : "not unknown");
    unlink(path);

    REQUIRE(mkdir(path, 0700) == 0, "mkdir");
    read_refused("a directory", path, 4242, "not a regular file", 2);
    rmdir(path);
    snprintf(other, sizeof other, "%s/real", dir);
    put_file(other, valid, valid_len);
    REQUIRE(symlink(other, path) == 0, "symlink");
    read_refused("a link to a record", path, 4242, "cannot be opened", 2);
    unlink(path);
    unlink(other);

    struct kmem_export_header *h = fresh();
    h->eh_seq |= 1;
    put_file(path, work, work_len);
    read_refused("forever being written", path, 4242, "could not be read whole", 3);
    h = fresh(), h->eh_publishes = 0, put_file(path, work, work_len);
    read_refused("not published yet", path, 4242, "could not be read whole", 3);
    h = fresh(), h->eh_length = (uint64_t)1 << 40, put_file(path, work, work_len);
    read_refused("says it is 1 TiB", path, 4242, "out of range", 2);
    h = fresh(), h->eh_length = 8, put_file(path, work, work_len);
    read_refused("says it is 8 bytes", path, 4242, "out of range", 2);
    h = fresh(), h->eh_length += 64, put_file(path, work, work_len);
    read_refused("says it is longer than the file", path, 4242, "shorter than", 3);
    h = fresh(), h->eh_version = 7, put_file(path, work, work_len);
    read_refused("version 7", path, 4242, "version 7; this kmemstat reads version 1", 2);
    fresh(), type(1)->et_inuse = type(1)->et_calls + 1, put_file(path, work, work_len);
    read_refused("in use above allocations", path, 4242, "in use of", 2);
    put_file(path, valid, sizeof *h - 1);
    read_refused("cut inside the header", path, 4242, "truncated", 2);
    struct rng g = rng_make(seed);
    for (size_t i = 0; i < valid_len / 8; i++)
        work[i] = rng_next(&g);
    put_file(path, work, valid_len);
    read_refused("random bytes", path, 4242, "magic", 2);
    unlink(path);
}

/* The record this process publishes (kmem's own writer) reads back. */
static void own_record(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%ld.kmem", dir, (long)getpid());
    setenv("KMEM_EXPORT_DIR", dir, 1);
    setenv("KMEM_EXPORT_DELAY_MS", "0", 1);
    setenv("KMEM_EXPORT", "1", 1);
    void *p = kmem_malloc(100, M_TEST_RECORD, KM_WAITOK);
    struct record r;
    char why[256] = "";
    int rc = -1;
    for (int i = 0; i < 300 && rc != 0; i++) {
        struct timespec ts = { 0, 10 * 1000000L };
        nanosleep(&ts, NULL);
        rc = record_read(path, (long)getpid(), &r, why, sizeof why);
    }
    CHECK(rc == 0, "this process's own record: %s", why);
    if (rc == 0) {
        bool found = false;
        for (uint32_t i = 0; i < r.rc_header->eh_ntypes; i++)
            found |= strcmp(r.rc_types[i].et_name, "test_record") == 0;
        CHECK(found, "its type is not in its own record");
        printf("  read back this process's own record (%zu bytes, %u types)\n", r.rc_len,
               r.rc_header->eh_ntypes);
        accepted("this process's own record", r.rc_data, r.rc_len);
        record_release(&r);
    }
    kmem_free(p, M_TEST_RECORD);
}

int main(void)
{
    seed = test_seed(1);
    valid_records();
    truncations();
    header_fields();
    counts_and_offsets();
    buckets_and_types();
    alignment();
    small_capacity();
    printable_strings();
    saturated_ratio();
    files();
    own_record();
    char path[128];
    snprintf(path, sizeof path, "%s/%ld.kmem", dir, (long)getpid());
    unlink(path);
    rmdir(dir);
    return test_finish("record");
}
