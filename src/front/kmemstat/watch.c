/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * watch.c — kmemstat -w: one process's figures refreshed in place, like
 * top(1) or slabtop(1), in any terminal that understands the common ANSI
 * sequences (no curses library): the process's totals, then its types
 * with requests and frees per second, sorted by a column the user picks
 * with a key, then its buckets. q quits; the view also ends when the
 * process does.
 */
#define _GNU_SOURCE
#include "front/kmemstat/watch.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "front/kmemstat/store.h"

/* The sort keys, shown in the view's second line. */
struct column {
    char key;
    const char *title;
};
static const struct column columns[] = {
    { 'n', "name" },    { 'i', "inuse" }, { 'm', "memuse" },  { 'h', "highuse" },
    { 'l', "limit" },   { 'b', "blocks" }, { 'c', "requests" }, { 'r', "req/s" },
    { 'f', "frees/s" },
};
#define NCOLUMNS (sizeof columns / sizeof columns[0])

struct row {
    const struct kmem_export_type *t;
    double req_rate, free_rate;
};

static struct termios saved_tty;
static bool tty_raw;
static volatile sig_atomic_t resized = 1;

static void restore_tty(void)
{
    if (tty_raw) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
        tty_raw = false;
    }
    fputs("\033[?25h", stdout); /* the cursor back */
    fflush(stdout);
}

static void on_signal(int sig)
{
    restore_tty();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_winch(int sig)
{
    (void)sig;
    resized = 1;
}

static void raw_tty(void)
{
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tty) != 0)
        return;
    struct termios t = saved_tty;
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
        tty_raw = true;
    atexit(restore_tty);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
}

static void screen_size(int *rows, int *cols)
{
    struct winsize w;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_row > 0 && w.ws_col > 0) {
        *rows = w.ws_row;
        *cols = w.ws_col;
    } else {
        *rows = 24;
        *cols = 80;
    }
}

static char sort_key = 'm';

static double value_of(const struct row *r, char key)
{
    switch (key) {
    case 'i': return (double)r->t->et_inuse;
    case 'm': return (double)r->t->et_memuse;
    case 'h': return (double)r->t->et_maxused;
    case 'l': return (double)r->t->et_limit;
    case 'b': return (double)r->t->et_limblocks;
    case 'c': return (double)r->t->et_calls;
    case 'r': return r->req_rate;
    case 'f': return r->free_rate;
    default: return 0;
    }
}

static int compare_rows(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (sort_key == 'n')
        return strcmp(x->t->et_name, y->t->et_name);
    double vx = value_of(x, sort_key), vy = value_of(y, sort_key);
    if (vx != vy)
        return vx < vy ? 1 : -1; /* largest first */
    return strcmp(x->t->et_name, y->t->et_name);
}

/* Bytes as K or M, like the tables. */
static void kbytes(char *buf, size_t cap, unsigned long long bytes)
{
    unsigned long long k = bytes / 1024 + (bytes % 1024 != 0); /* no wrap near 2^64 */
    if (k >= 100000)
        snprintf(buf, cap, "%lluM", k / 1024 + (k % 1024 != 0));
    else
        snprintf(buf, cap, "%lluK", k);
}

/* The previous copy's type figures, by name, for the rates. */
struct previous {
    char name[KMEM_EXPORT_NAME_LEN];
    unsigned long long calls, frees;
    double req_rate, free_rate; /* shown until a newer copy is published */
};

static const struct previous *find_previous(const struct previous *p, size_t n,
                                            const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[i].name, name) == 0)
            return &p[i];
    return NULL;
}

/* One frame, at most `rows` lines of at most `cols` characters. */
static void draw(const struct record *r, struct row *rows_buf, int rows, int cols,
                 double seconds)
{
    const struct kmem_export_header *h = r->rc_header;
    const struct kmem_export_arena *a = &h->eh_arena;
    char inuse[32], held[32], line[1024];
    kbytes(inuse, sizeof inuse, record_inuse(r));
    kbytes(held, sizeof held, record_held(r));
    unsigned long long util = record_held(r) ? record_inuse(r) * 1000 / record_held(r) : 0;
    fputs("\033[H\033[2J", stdout);
    int used = 0;
#define LINE(...)                                                                         \
    do {                                                                                  \
        if (used < rows) {                                                                \
            snprintf(line, sizeof line, __VA_ARGS__);                                     \
            if ((int)strlen(line) > cols)                                                 \
                line[cols] = '\0';                                                        \
            fputs(line, stdout);                                                          \
            fputs(used + 1 < rows ? "\r\n" : "", stdout);                                 \
            used++;                                                                       \
        }                                                                                 \
    } while (0)
    LINE("kmemstat: pid %ld  %s", r->rc_pid, h->eh_command);
    LINE("in use %s of %s held (%llu.%llu%%), %u types, every %.1f s", inuse, held,
         util / 10, util % 10, h->eh_ntypes, seconds);
    LINE("sort: [n]ame [i]nuse [m]emuse [h]ighuse [l]imit [b]locks [c]requests [r]eq/s "
         "[f]rees/s (now %c); [q]uit", sort_key);
    LINE("%s", "");
    LINE("%-16s %9s %9s %9s %9s %7s %11s %10s %10s", "Type", "InUse", "MemUse", "HighUse",
         "Limit", "Blocks", "Requests", "Req/s", "Frees/s");
    for (uint32_t i = 0; i < h->eh_ntypes; i++) {
        const struct row *w = &rows_buf[i];
        char mem[32], high[32], lim[32];
        kbytes(mem, sizeof mem, w->t->et_memuse);
        kbytes(high, sizeof high, w->t->et_maxused);
        if (w->t->et_limit != 0)
            kbytes(lim, sizeof lim, w->t->et_limit);
        else
            snprintf(lim, sizeof lim, "-");
        LINE("%-16.16s %9llu %9s %9s %9s %7llu %11llu %10.0f %10.0f", w->t->et_name,
             (unsigned long long)w->t->et_inuse, mem, high, lim,
             (unsigned long long)w->t->et_limblocks, (unsigned long long)w->t->et_calls,
             w->req_rate, w->free_rate);
    }
    LINE("%s", "");
    LINE("%8s %9s %9s %11s %10s", "Size", "InUse", "Free", "Requests", "HighWater");
    for (uint32_t i = 0; i < h->eh_nbuckets; i++) {
        const struct kmem_export_bucket *b = &r->rc_buckets[i];
        if (b->eb_requests == 0 && b->eb_slabs == 0)
            continue;
        LINE("%8llu %9llu %9llu %11llu %10llu", (unsigned long long)b->eb_size,
             (unsigned long long)b->eb_inuse, (unsigned long long)b->eb_free,
             (unsigned long long)b->eb_requests, (unsigned long long)b->eb_highwat);
    }
    (void)a;
#undef LINE
    fflush(stdout);
}

int watch(const char *dir, long pid, double seconds)
{
    raw_tty();
    signal(SIGWINCH, on_winch);
    fputs("\033[?25l", stdout); /* no cursor while drawing */
    struct previous *prev = NULL;
    size_t nprev = 0;
    uint64_t prev_ns = 0;
    int rows = 24, cols = 80, status = 0;
    struct row *rows_buf = NULL;
    for (;;) {
        struct record r;
        char why[256];
        enum store_found f = store_find(dir, pid, &r, why, sizeof why);
        if (f != STORE_OK) {
            restore_tty();
            fputs("\033[H\033[2J", stdout);
            if (f == STORE_NO_PROCESS || f == STORE_NOT_ON_KMEM)
                printf("kmemstat: process %ld has ended\n", pid);
            else
                printf("kmemstat: the record of process %ld: %s\n", pid,
                       f == STORE_BAD ? why : "no longer readable");
            status = f == STORE_BAD ? 1 : 0;
            break;
        }
        const struct kmem_export_header *h = r.rc_header;
        struct row *more = realloc(rows_buf, (h->eh_ntypes + 1) * sizeof *rows_buf);
        if (more == NULL) {
            record_release(&r);
            status = 1;
            break;
        }
        rows_buf = more;
        double dt = prev_ns != 0 && h->eh_published_ns > prev_ns
                        ? (double)(h->eh_published_ns - prev_ns) / 1e9
                        : 0;
        for (uint32_t i = 0; i < h->eh_ntypes; i++) {
            const struct kmem_export_type *t = &r.rc_types[i];
            const struct previous *p = find_previous(prev, nprev, t->et_name);
            rows_buf[i].t = t;
            rows_buf[i].req_rate = 0;
            rows_buf[i].free_rate = 0;
            if (p != NULL && dt == 0) { /* the same copy as last time */
                rows_buf[i].req_rate = p->req_rate;
                rows_buf[i].free_rate = p->free_rate;
            } else if (p != NULL) {
                if (t->et_calls >= p->calls)
                    rows_buf[i].req_rate = (double)(t->et_calls - p->calls) / dt;
                if (t->et_frees >= p->frees)
                    rows_buf[i].free_rate = (double)(t->et_frees - p->frees) / dt;
            }
        }
        if (dt > 0 || prev_ns == 0) {
            struct previous *np = realloc(prev, (h->eh_ntypes + 1) * sizeof *np);
            if (np != NULL) {
                prev = np;
                nprev = h->eh_ntypes;
                for (uint32_t i = 0; i < h->eh_ntypes; i++) {
                    snprintf(prev[i].name, sizeof prev[i].name, "%s", rows_buf[i].t->et_name);
                    prev[i].calls = rows_buf[i].t->et_calls;
                    prev[i].frees = rows_buf[i].t->et_frees;
                    prev[i].req_rate = rows_buf[i].req_rate;
                    prev[i].free_rate = rows_buf[i].free_rate;
                }
                prev_ns = h->eh_published_ns;
            }
        }
        qsort(rows_buf, h->eh_ntypes, sizeof *rows_buf, compare_rows);
        if (resized) {
            resized = 0;
            screen_size(&rows, &cols);
        }
        draw(&r, rows_buf, rows, cols, seconds);
        record_release(&r);
        /* Wait for a key or the next refresh. */
        struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };
        int ms = (int)lrint(seconds * 1000);
        bool quit = false, redraw = false;
        while (!quit && !redraw) {
            int n = poll(&pfd, 1, ms);
            if (n < 0 && errno == EINTR) {
                redraw = resized;
                continue;
            }
            if (n <= 0)
                break;
            char c;
            if (read(STDIN_FILENO, &c, 1) != 1) {
                pfd.fd = -1; /* end of input: refresh on the timer only */
                continue;
            }
            if (c == 'q' || c == 'Q') {
                quit = true;
            } else {
                for (size_t k = 0; k < NCOLUMNS; k++)
                    if (columns[k].key == c) {
                        sort_key = c;
                        redraw = true;
                    }
            }
        }
        if (quit) {
            restore_tty();
            fputs("\033[H\033[2J", stdout);
            fflush(stdout);
            break;
        }
    }
    free(rows_buf);
    free(prev);
    restore_tty();
    return status;
}
