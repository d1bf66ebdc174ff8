/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main.c — kmemstat: the statistics of running programs on kmem, read from
 * outside them (the records they publish, include/kmem_export.h).
 *
 *   kmemstat [--json | --prometheus]             the user's processes on kmem
 *   kmemstat [--json | --prometheus] PID         one process's tables
 *   kmemstat -w SECONDS PID                      refreshed in place
 *
 * Exit status: 0; 1 when the process is not on kmem, not the user's, gone,
 * or its record does not read; 2 for a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "front/kmemstat/record.h"
#include "front/kmemstat/show.h"
#include "front/kmemstat/store.h"
#include "front/kmemstat/watch.h"

static const char usage[] =
    "usage: kmemstat [--json | --prometheus] [PID]\n"
    "       kmemstat -w SECONDS PID\n"
    "  without PID: the processes of yours on kmem that publish their statistics\n"
    "  PID: that process's tables by bucket and by type, as kmem_stats_print prints them\n"
    "  -w SECONDS: refresh every SECONDS; keys sort the types, q quits\n"
    "  --json: the KMEM_STATS_JSON object; --prometheus: the text exposition format\n"
    "  records are read from $KMEM_EXPORT_DIR, else $XDG_RUNTIME_DIR/kmem, else\n"
    "  /dev/shm/kmem-UID (see kmemstat(1))\n";

enum format { TABLES, JSON, PROMETHEUS };

static int bad_usage(const char *what)
{
    fprintf(stderr, "kmemstat: %s\n%s", what, usage);
    return 2;
}

static bool parse_pid(const char *s, long *pid)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v <= 0 || v > 0x3fffffff)
        return false;
    *pid = v;
    return true;
}

/* Bytes for people: 1.5K, 17.4M, 2.0G. */
static void human(char *buf, size_t cap, unsigned long long v)
{
    const char *unit = "KMGT";
    double x = (double)v / 1024;
    int u = 0;
    while (x >= 1000 && u < 3) {
        x /= 1024;
        u++;
    }
    snprintf(buf, cap, "%.1f%c", x, unit[u]);
}

struct listing {
    enum format ls_format;
    int ls_count;
    uint64_t ls_now_ns;
};

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void list_one(const struct record *r, void *arg)
{
    struct listing *ls = arg;
    const struct kmem_export_header *h = r->rc_header;
    if (ls->ls_format == PROMETHEUS) {
        show_prometheus(stdout, r, ls->ls_count == 0);
    } else if (ls->ls_format == JSON) {
        printf("%s\n  {\"pid\":%ld,\"command\":", ls->ls_count ? "," : "", r->rc_pid);
        json_string(h->eh_command);
        printf(",\"inuse\":%llu,\"held\":%llu,\"types\":%u,\"publishes\":%llu}", record_inuse(r),
               record_held(r), h->eh_ntypes, (unsigned long long)h->eh_publishes);
    } else {
        char inuse[32], held[32], age[32];
        human(inuse, sizeof inuse, record_inuse(r));
        human(held, sizeof held, record_held(r));
        double ago = ls->ls_now_ns > h->eh_published_ns
                         ? (double)(ls->ls_now_ns - h->eh_published_ns) / 1e9
                         : 0;
        snprintf(age, sizeof age, "%.1fs ago", ago);
        /* The program's name without its folder, then its arguments. */
        const char *cmd = h->eh_command, *space = strchr(cmd, ' ');
        const char *slash = memrchr(cmd, '/', space != NULL ? (size_t)(space - cmd) : strlen(cmd));
        if (slash != NULL)
            cmd = slash + 1;
        if (ls->ls_count == 0)
            printf("%8s  %-32s %9s %9s %6s  %s\n", "PID", "COMMAND", "IN USE", "HELD", "TYPES",
                   "UPDATED");
        printf("%8ld  %-32.32s %9s %9s %6u  %s\n", r->rc_pid, cmd, inuse, held, h->eh_ntypes,
               age);
    }
    ls->ls_count++;
}

static int list_all(const char *dir, enum format format)
{
    struct listing ls = { format, 0, monotonic_ns() };
    if (format == JSON)
        printf("[");
    store_each(dir, list_one, &ls);
    if (format == JSON)
        printf("%s]\n", ls.ls_count ? "\n" : "");
    else if (format == TABLES && ls.ls_count == 0)
        printf("kmemstat: no process of yours publishes statistics in %s\n", dir);
    return 0;
}

static int explain(enum store_found f, const char *dir, long pid, const char *why)
{
    char comm[64];
    store_command_of(pid, comm, sizeof comm);
    switch (f) {
    case STORE_NO_PROCESS:
        fprintf(stderr, "kmemstat: no process %ld (it may have ended)\n", pid);
        break;
    case STORE_NOT_YOURS:
        fprintf(stderr, "kmemstat: process %ld (%s) belongs to another user; kmemstat reads "
                        "only your own processes\n", pid, comm);
        break;
    case STORE_NOT_ON_KMEM:
        if (!store_runs_libkmem(pid)) {
            fprintf(stderr, "kmemstat: process %ld (%s) publishes no statistics in %s: it is "
                            "not on kmem, runs with KMEM_EXPORT=0, or has not run for a second "
                            "yet\n", pid, comm, dir);
            break;
        }
        fprintf(stderr,
                "kmemstat: process %ld (%s) runs on libkmem.so but has published no "
                "statistics in %s yet:\n"
                "  it runs with KMEM_EXPORT=0 or another KMEM_EXPORT_DIR, has not run for a "
                "second yet, or has\n"
                "  one thread that has found every block in its thread cache since (such a "
                "program publishes\n"
                "  from the first call that goes further; KMEM_BACKGROUND=on publishes from "
                "the start)\n", pid, comm, dir);
        break;
    case STORE_BAD:
        fprintf(stderr, "kmemstat: %s/%ld.kmem: %s\n", dir, pid, why);
        break;
    default:
        break;
    }
    return 1;
}

int main(int argc, char **argv)
{
    enum format format = TABLES;
    double every = 0;
    long pid = 0;
    bool have_pid = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            format = JSON;
        } else if (strcmp(a, "--prometheus") == 0) {
            format = PROMETHEUS;
        } else if (strcmp(a, "-w") == 0 || strcmp(a, "--watch") == 0) {
            char *end;
            if (i + 1 >= argc)
                return bad_usage("-w needs SECONDS");
            every = strtod(argv[++i], &end);
            if (*end != '\0' || !(every >= 0.05 && every <= 3600))
                return bad_usage("SECONDS must be a number from 0.05 to 3600");
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (!have_pid && parse_pid(a, &pid)) {
            have_pid = true;
        } else {
            char what[256];
            snprintf(what, sizeof what, "not understood: \"%s\"", a);
            return bad_usage(what);
        }
    }
    if (every > 0 && !have_pid)
        return bad_usage("-w needs a PID");
    if (every > 0 && format != TABLES)
        return bad_usage("-w shows tables; --json and --prometheus print once");
    const char *dir = store_dir();
    if (dir == NULL)
        return 1;
    if (!have_pid)
        return list_all(dir, format);
    struct record r;
    char why[256];
    enum store_found f = store_find(dir, pid, &r, why, sizeof why);
    if (f != STORE_OK)
        return explain(f, dir, pid, why);
    if (every > 0) {
        record_release(&r);
        return watch(dir, pid, every);
    }
    if (format == PROMETHEUS)
        show_prometheus(stdout, &r, true);
    else
        show_report(stdout, &r, format == JSON);
    record_release(&r);
    return fflush(stdout) == 0 ? 0 : 1;
}
