/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * scripted.c — a program with known figures for tests/export/run.sh to
 * read from outside with kmemstat: a few types (one with a limit), then
 * quiet. Once its record is published it writes its own kmem_stats_print
 * output (tables to TEXT, JSON to JSON), prints "ready PID" and waits
 * until its standard input ends.
 *
 *   scripted TEXT JSON
 */
#define _GNU_SOURCE
#include <kmem.h>

#include <time.h>

#include "front/kmemstat/record.h"
#include "harness.h"
#include "platform/export_dir.h"

KMEM_TYPE_DEFINE(M_PCB, "pcb", "protocol control blocks");
KMEM_TYPE_DEFINE(M_NAMEI, "namei", "pathname buffers");
KMEM_TYPE_DEFINE(M_SOCKET, "socket", "sockets");

static void to_file(void *arg, const char *text, size_t len)
{
    fwrite(text, 1, len, arg);
}

static void write_stats(const char *path, int flags)
{
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL, "%s", path);
    kmem_stats_print(to_file, f, flags);
    fclose(f);
}

int main(int argc, char **argv)
{
    REQUIRE(argc == 3, "usage: scripted TEXT JSON");
    kmem_type_setlimit(M_NAMEI, 24 << 10);
    void *keep[64];
    int n = 0;
    for (int i = 0; i < 10; i++)
        keep[n++] = kmem_malloc(200, M_PCB, KM_WAITOK);
    for (int i = 0; i < 4; i++)
        kmem_free(keep[--n], M_PCB);
    keep[n++] = kmem_malloc(1024, M_NAMEI, KM_WAITOK);
    keep[n++] = kmem_malloc(20000, M_NAMEI, KM_WAITOK);
    void *refused = kmem_malloc(20000, M_NAMEI, KM_NOWAIT);
    REQUIRE(refused == NULL, "the limit let a request through");
    for (int i = 0; i < 30; i++)
        keep[n++] = kmem_malloc((size_t)(40 + i * 13), M_SOCKET, KM_WAITOK);

    /* Quiet now; wait for a copy made after this point. */
    char dir[512], path[768];
    REQUIRE(kmem_export_dir_path(dir, sizeof dir, getenv("KMEM_EXPORT_DIR")), "dir");
    snprintf(path, sizeof path, "%s/%ld.kmem", dir, (long)getpid());
    uint64_t first = 0;
    for (int i = 0; i < 5000; i++) {
        struct record r;
        char why[256];
        if (record_read(path, (long)getpid(), &r, why, sizeof why) == 0) {
            uint64_t copies = r.rc_header->eh_publishes;
            record_release(&r);
            if (first == 0)
                first = copies;
            else if (copies >= first + 2)
                break;
        }
        struct timespec ts = { 0, 2000000 };
        nanosleep(&ts, NULL);
    }
    REQUIRE(first != 0, "no record published at %s", path);
    write_stats(argv[1], 0);
    write_stats(argv[2], KMEM_STATS_JSON);
    printf("ready %ld\n", (long)getpid());
    fflush(stdout);
    char buf[256];
    while (fread(buf, 1, sizeof buf, stdin) > 0)
        ;
    while (n > 0) {
        n--;
        kmem_free(keep[n], n < 6 ? M_PCB : n < 8 ? M_NAMEI : M_SOCKET);
    }
    return 0;
}
