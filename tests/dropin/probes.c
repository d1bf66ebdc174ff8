/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * probes.c — misuse a C program can commit through malloc and free, one
 * probe a category: double frees (at once, later, interleaved, of a large
 * block, after a write), invalid frees (unaligned, inside a block, inside
 * a large block, of the stack, alloca, a global, an address far off, the
 * start of a live neighbour), overflows (1 and 32 bytes, through memcpy,
 * of a large block, 1 MiB past one, of a zero-size block, after realloc),
 * an underflow into the block before, and writes after free (with the
 * block handed out again). Each runs in a forked child; the outcome is
 * "reported" (kmem stopped it with a line naming the block), "faulted"
 * (a guard page stopped it) or "silent".
 *
 *   probes default|debug   run under kmem, KMEM_DEBUG unset or all,trace
 *   probes any             under any allocator (LD_PRELOAD it, or none for
 *                          glibc): a probe counts as caught when the child
 *                          does not end normally (a signal or an exit
 *                          status other than 0); nothing is judged
 *
 * A probe kmem promises to catch in that mode (the table below, the same
 * as the README's) must be caught, its report naming where the block was
 * allocated where marked so; the others are printed, not judged.
 * Exit 0 when every promise held.
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "child.h"

/* The misuse is the point: the compiler is not to warn of it. */
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overflow"

#define P_DEFAULT 1 /* caught by default */
#define P_DEBUG   2 /* caught with KMEM_DEBUG=all,trace */
#define P_SITE    4 /* and the report says where the block was allocated
                       (KMEM_DEBUG=trace; this program runs on libkmem.so) */

static char global_block[64];
static volatile size_t sink;

/* A few requests of the probe's size, so that a freed block is handed
 * out again (where a changed one is caught). */
static void reuse(size_t size)
{
    for (int i = 0; i < 8; i++)
        sink += (uintptr_t)malloc(size);
}

static void df_at_once(void)
{
    char *p = malloc(64);
    free(p);
    free(p);
}

static void df_later(void)
{
    char *p = malloc(64);
    free(p);
    for (int i = 0; i < 200; i++)
        sink += (uintptr_t)malloc((size_t)(i * 37 % 3000) + 1);
    free(p);
}

static void df_interleaved(void)
{
    char *a = malloc(64), *b = malloc(64);
    free(a);
    free(b);
    free(a);
}

static void df_large(void)
{
    char *p = malloc(100000);
    free(p);
    free(p);
}

static void df_after_write(void)
{
    char *p = malloc(64);
    free(p);
    memset(p, 0, 64);
    free(p); /* seen at the latest before it is handed out twice */
    reuse(64);
}

static void invalid_unaligned(void)
{
    char *p = malloc(64);
    free(p + 1);
}

static void invalid_inside(void)
{
    char *p = malloc(64);
    free(p + 40);
}

static void invalid_inside_large(void)
{
    char *p = malloc(100000);
    free(p + 4096);
}

static void invalid_stack(void)
{
    char local[64];
    sink += (uintptr_t)local;
    free(local);
}

static void invalid_alloca(void)
{
    char *a = alloca(64);
    sink += (uintptr_t)a;
    free(a);
}

static void invalid_global(void)
{
    free(global_block);
}

static void invalid_far(void)
{
    free((void *)(uintptr_t)0x10000010);
}

/* free(p + 16) where p + 16 is the start of a live 16-byte neighbour. */
static void invalid_neighbour(void)
{
    char *p[16];
    for (int i = 0; i < 16; i++)
        p[i] = malloc(16);
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++)
            if (p[j] == p[i] + 16) {
                free(p[i] + 16);
                reuse(16);
                return;
            }
    free(p[0] + 16); /* no neighbour found: still a bad free */
}

static void overflow_1(void)
{
    char *p = malloc(24);
    p[24] = 1;
    free(p);
}

static void overflow_32(void)
{
    char *p = malloc(64);
    memset(p, 1, 64 + 32);
    free(p);
}

static void overflow_memcpy(void)
{
    char src[40];
    memset(src, 'x', sizeof src);
    char *p = malloc(32);
    memcpy(p, src, sizeof src);
    free(p);
}

static void overflow_large_1(void)
{
    char *p = malloc(100000);
    p[100000] = 1;
    free(p);
}

static void overflow_large_1mib(void)
{
    char *p = malloc(100000);
    char *q = malloc(2 << 20); /* so that what follows is the heap's */
    memset(p, 1, 100000 + (1 << 20));
    free(p);
    free(q);
}

static void overflow_zero_size(void)
{
    char *p = malloc(0);
    p[0] = 1;
    free(p);
}

static void overflow_after_realloc(void)
{
    char *p = malloc(10);
    p = realloc(p, 100);
    p[100] = 1;
    free(p);
}

/* One byte before a block: the end of its neighbour below. */
static void underflow_1(void)
{
    char *p[16];
    for (int i = 0; i < 16; i++)
        p[i] = malloc(40);
    int lo = 0, hi = 1;
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++)
            if (p[j] > p[i] && (p[hi] <= p[lo] || p[j] - p[i] < p[hi] - p[lo])) {
                lo = i;
                hi = j;
            }
    p[hi][-1] = 1;
    for (int i = 0; i < 16; i++)
        free(p[i]);
}

static void uaf_write_reuse(void)
{
    char *p = malloc(64);
    free(p);
    p[40] = 1;
    reuse(64);
}

static void uaf_zero_reuse(void)
{
    char *p = malloc(64);
    free(p);
    memset(p, 0, 64);
    reuse(64);
}

static void uaf_write_large(void)
{
    char *p = malloc(100000);
    free(p);
    p[50000] = 1;
    reuse(100000);
}

static const struct probe {
    const char *name;
    void (*fn)(void);
    int promise;
} probes[] = {
    { "double free, at once", df_at_once, P_DEFAULT | P_DEBUG },
    { "double free, after other requests", df_later, P_DEFAULT | P_DEBUG },
    { "double free, interleaved (a b a)", df_interleaved, P_DEFAULT | P_DEBUG },
    { "double free of a large block", df_large, P_DEFAULT | P_DEBUG },
    { "double free after zeroing the block", df_after_write, P_DEFAULT | P_DEBUG },
    { "free of an unaligned pointer", invalid_unaligned, P_DEFAULT | P_DEBUG },
    { "free of a pointer inside a block", invalid_inside, P_DEFAULT | P_DEBUG },
    { "free of a pointer inside a large block", invalid_inside_large, P_DEFAULT | P_DEBUG },
    { "free of the stack", invalid_stack, P_DEFAULT | P_DEBUG },
    { "free of alloca memory", invalid_alloca, P_DEFAULT | P_DEBUG },
    { "free of a global", invalid_global, P_DEFAULT | P_DEBUG },
    { "free of an address far off", invalid_far, P_DEFAULT | P_DEBUG },
    { "free(p + 16): a live neighbour's start", invalid_neighbour, P_DEBUG },
    { "overflow by 1 byte", overflow_1, P_DEBUG | P_SITE },
    { "overflow by 32 bytes", overflow_32, P_DEBUG },
    { "overflow through memcpy", overflow_memcpy, P_DEBUG | P_SITE },
    { "overflow of a large block by 1 byte", overflow_large_1, P_DEBUG | P_SITE },
    { "overflow of a large block by 1 MiB", overflow_large_1mib, P_DEBUG },
    { "write into a zero-size block", overflow_zero_size, P_DEBUG | P_SITE },
    { "overflow after realloc", overflow_after_realloc, P_DEBUG | P_SITE },
    { "underflow by 1 byte (into the block below)", underflow_1, P_DEBUG },
    { "write after free, block handed out again", uaf_write_reuse, P_DEBUG | P_SITE },
    { "zeroing after free, block handed out again", uaf_zero_reuse, P_DEFAULT | P_DEBUG },
    { "write after free of a large block, reused", uaf_write_large, 0 },
};

int main(int argc, char **argv)
{
    bool any = argc > 1 && strcmp(argv[1], "any") == 0;
    int mode = argc > 1 && strcmp(argv[1], "debug") == 0 ? P_DEBUG : any ? 0 : P_DEFAULT;
    int n = (int)(sizeof probes / sizeof probes[0]), caught = 0, promised = 0;
    for (int i = 0; i < n; i++) {
        char out[2048];
        int status = test_run_child(probes[i].fn, 30, out, sizeof out);
        const char *outcome = "silent";
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strncmp(out, "kmem: ", 6) == 0)
            outcome = "reported";
        else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV)
            outcome = "faulted";
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            outcome = "crashed";
        bool got = strcmp(outcome, "reported") == 0 || strcmp(outcome, "faulted") == 0 ||
                   (any && strcmp(outcome, "silent") != 0);
        caught += got;
        bool must = (probes[i].promise & mode) != 0;
        promised += must;
        char *nl = strchr(out, '\n');
        if (nl != NULL)
            *nl = '\0';
        printf("  %-9s %s %-44s %.150s\n", outcome, must ? "(promised)" : "          ",
               probes[i].name, got ? out : "");
        CHECK(!must || got, "%s: not caught (%s)", probes[i].name, outcome);
        if (mode == P_DEBUG && (probes[i].promise & P_SITE))
            CHECK(strstr(out, "allocated at ") != NULL, "%s: the report does not say where the "
                  "block was allocated", probes[i].name);
    }
    printf("%s mode: %d of %d probes caught (%d promised)\n",
           mode == P_DEBUG ? "KMEM_DEBUG=all,trace" : any ? "any allocator" : "default", caught,
           n, promised);
    return test_finish("probes");
}
