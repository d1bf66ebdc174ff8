/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bad_free.c — through the C library interface, a double free, a free of
 * memory malloc never returned, and a free of a pointer into a block end
 * the program with one line from kmem and SIGABRT. Each case runs in a
 * forked child; the parent checks the signal and the line. Run only on
 * kmem (glibc words these differently).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"

static void expect_abort(const char *what, void (*bad)(void), const char *words)
{
    char out[1024];
    int status = test_run_child(bad, 10, out, sizeof out);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "%s: status %d", what, status);
    CHECK(strstr(out, words) != NULL, "%s: stderr \"%s\" lacks \"%s\"", what, out, words);
    CHECK(strchr(out, '\n') == out + strlen(out) - 1, "%s: not one line: \"%s\"", what, out);
}

static void double_free_small(void)
{
    char *p = malloc(40);
    free(p);
    free(p);
}

static void double_free_large(void)
{
    char *p = malloc(100000);
    free(p);
    free(p);
}

static void free_stack(void)
{
    char buf[64];
    free(buf + 16);
}

static void free_inside(void)
{
    char *p = malloc(200);
    free(p + 64);
}

static void free_inside_large(void)
{
    char *p = malloc(50000);
    free(p + 8192);
}

static void realloc_freed(void)
{
    char *p = malloc(300);
    free(p);
    p = realloc(p, 500);
}

int main(void)
{
    expect_abort("double free (small)", double_free_small, "kmem: free(0x");
    expect_abort("double free (small) reason", double_free_small, "double free");
    expect_abort("double free (large)", double_free_large, "already freed");
    expect_abort("free of a stack address", free_stack, "not allocated by kmem");
    expect_abort("free inside a block", free_inside, "not the start of a block");
    expect_abort("free inside a large block", free_inside_large, "inside a large block");
    expect_abort("realloc of a freed block", realloc_freed, "kmem: realloc(0x");
    return test_finish("bad_free");
}
