/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_record_swap.c — record_read (src/front/kmemstat/record.c, compiled
 * into this test) while another thread keeps changing the file under it:
 * valid records renamed over it, junk and short files renamed over it,
 * records rewritten in place under the sequence count and without it,
 * truncated, grown, removed, and written by "another pid". Every call must
 * return 0 with a record that passes record_check (checked again on a
 * heap copy of exactly its length, for ASan) and is the pid's, or -1 with
 * a message and nothing held; none may take long (a bounded number of
 * attempts). Both outcomes must occur, or the test proved nothing.
 *
 *   KMEM_TEST_SEED   the writer's choices (printed)
 *   KMEM_TEST_OPS    how many reads (default 10000)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>

#include "front/kmemstat/record.h"
#include "harness.h"
#include "records.h"

#define PID 4242

static char path[128], tmp_path[140];
static atomic_bool stop;
static uint64_t seed;
static unsigned long actions[10];

static const char *const action_names[] = {
    "valid record renamed over", "junk renamed over", "short file renamed over",
    "rewritten in place (sequence count)", "junk written in place", "truncated or grown",
    "removed", "another pid's renamed over", "a byte flipped in place", "left alone a while",
};

static void sleep_us(long us)
{
    struct timespec ts = { 0, us * 1000 };
    nanosleep(&ts, NULL);
}

static void write_file(const char *p, const void *data, size_t len)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    if (len > 0 && write(fd, data, len) != (ssize_t)len)
        fprintf(stderr, "write: %s\n", strerror(errno));
    close(fd);
}

static void replace(const void *data, size_t len)
{
    write_file(tmp_path, data, len);
    rename(tmp_path, path);
}

/* A valid record of one of a few shapes, with the writer's pages after it. */
static size_t make_valid(uint64_t *buf, struct rng *g, int64_t pid)
{
    struct rec_shape s = { 1 + (uint32_t)rng_below(g, 40), (uint32_t)rng_below(g, 12),
                           8 * (uint32_t)rng_below(g, 3), rng_below(g, 2) ? 4 : 1, pid,
                           rng_next(g) };
    rec_build(buf, &s);
    return rec_length(&s);
}

static void *writer(void *arg)
{
    (void)arg;
    static uint64_t buf[4096], junk[512];
    struct rng g = rng_make(seed);
    while (!atomic_load(&stop)) {
        unsigned a = (unsigned)rng_below(&g, 10);
        actions[a]++;
        size_t len;
        switch (a) {
        case 0:
            len = make_valid(buf, &g, PID);
            replace(buf, rng_below(&g, 2) ? len : len + rng_below(&g, 4096));
            break;
        case 1:
            for (size_t i = 0; i < sizeof junk / 8; i++)
                junk[i] = rng_next(&g);
            if (rng_below(&g, 2)) /* junk after a good magic and version */
                memcpy(junk, buf, 16);
            replace(junk, rng_below(&g, sizeof junk));
            break;
        case 2:
            len = make_valid(buf, &g, PID);
            replace(buf, rng_below(&g, sizeof(struct kmem_export_header) + 1));
            break;
        case 3: { /* as the writer does: odd, the copy, even */
            int fd = open(path, O_RDWR | O_CLOEXEC);
            if (fd < 0)
                break;
            len = make_valid(buf, &g, PID);
            struct kmem_export_header *h = (void *)buf;
            uint64_t odd = h->eh_seq + 1;
            ssize_t w = pwrite(fd, &odd, 8, offsetof(struct kmem_export_header, eh_seq));
            sleep_us((long)rng_below(&g, 50));
            h->eh_seq = odd; /* the body, still marked odd */
            w += pwrite(fd, buf, len, 0);
            sleep_us((long)rng_below(&g, 50));
            odd++;
            w += pwrite(fd, &odd, 8, offsetof(struct kmem_export_header, eh_seq));
            (void)w;
            close(fd);
            break;
        }
        case 4: {
            int fd = open(path, O_RDWR | O_CLOEXEC);
            if (fd < 0)
                break;
            for (size_t i = 0; i < 8; i++)
                junk[i] = rng_next(&g);
            ssize_t w = pwrite(fd, junk, 1 + rng_below(&g, 64), (off_t)rng_below(&g, 2048));
            (void)w;
            close(fd);
            break;
        }
        case 5:
            if (truncate(path, (off_t)rng_below(&g, 5000)) != 0 && errno != ENOENT)
                fprintf(stderr, "truncate: %s\n", strerror(errno));
            break;
        case 6:
            unlink(path);
            break;
        case 7:
            len = make_valid(buf, &g, PID + 1);
            replace(buf, len);
            break;
        case 8: {
            int fd = open(path, O_RDWR | O_CLOEXEC);
            if (fd < 0)
                break;
            unsigned char byte;
            off_t at = (off_t)rng_below(&g, 2048);
            if (pread(fd, &byte, 1, at) == 1) {
                byte ^= (unsigned char)(1u << rng_below(&g, 8));
                ssize_t w = pwrite(fd, &byte, 1, at);
                (void)w;
            }
            close(fd);
            break;
        }
        default:
            sleep_us(200 + (long)rng_below(&g, 800));
            break;
        }
        sleep_us((long)rng_below(&g, 100));
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The distinct refusals, by their words before the first digit or colon. */
#define KINDS 64
static char kind[KINDS][64];
static unsigned long kind_count[KINDS];

static void tally(const char *why)
{
    char k[64];
    size_t n = strcspn(why, ":0123456789\"");
    snprintf(k, sizeof k, "%.*s", (int)(n < sizeof k ? n : sizeof k - 1), why);
    for (int i = 0; i < KINDS; i++) {
        if (kind[i][0] == '\0')
            strcpy(kind[i], k);
        if (strcmp(kind[i], k) == 0) {
            kind_count[i]++;
            return;
        }
    }
}

int main(void)
{
    seed = test_seed(1);
    long ops = test_env_long("KMEM_TEST_OPS", 10000);
    char dir[] = "/tmp/kmem-test-swap-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/%d.kmem", dir, PID);
    snprintf(tmp_path, sizeof tmp_path, "%s/new.tmp", dir);

    pthread_t w;
    REQUIRE(pthread_create(&w, NULL, writer, NULL) == 0, "pthread_create");
    long read_ok = 0, read_bad = 0;
    double slowest = 0, start = now_s();
    for (long i = 0; i < ops; i++) {
        struct record r;
        char why[256];
        memset(why, 0, sizeof why);
        double t0 = now_s();
        int rc = record_read(path, PID, &r, why, sizeof why);
        double took = now_s() - t0;
        if (took > slowest)
            slowest = took;
        if (rc == 0) {
            read_ok++;
            CHECK(r.rc_data != NULL && r.rc_header->eh_pid == PID, "read %ld: not the pid's", i);
            unsigned char *copy = malloc(r.rc_len);
            REQUIRE(copy != NULL, "out of memory");
            memcpy(copy, r.rc_data, r.rc_len);
            char again[256];
            const char *bad = record_check(copy, r.rc_len, again, sizeof again);
            CHECK(bad == NULL, "read %ld: returned a record that record_check refuses: %s", i,
                  bad);
            free(copy);
            record_release(&r);
        } else {
            read_bad++;
            CHECK(rc == -1, "read %ld: returned %d", i, rc);
            CHECK(why[0] != '\0' && memchr(why, '\0', sizeof why) != NULL,
                  "read %ld: refused without a message", i);
            CHECK(r.rc_data == NULL, "read %ld: refused but holds a copy", i);
            tally(why);
        }
        CHECK(took < 5.0, "read %ld took %.2f s (%s)", i, took, rc == 0 ? "read" : why);
    }
    atomic_store(&stop, true);
    pthread_join(w, NULL);
    double total = now_s() - start;

    printf("%ld reads in %.1f s (slowest %.3f s): %ld records, %ld refusals\n", ops, total,
           slowest, read_ok, read_bad);
    for (int i = 0; i < KINDS && kind[i][0] != '\0'; i++)
        printf("  %6lu  %s\n", kind_count[i], kind[i]);
    printf("the writer's changes:\n");
    for (int i = 0; i < 10; i++)
        printf("  %6lu  %s\n", actions[i], action_names[i]);
    CHECK(read_ok > 0, "no read gave a record: the test did not exercise success");
    CHECK(read_bad > 0, "no read was refused: the test did not exercise failure");

    unlink(path);
    unlink(tmp_path);
    rmdir(dir);
    return test_finish("record_swap");
}
