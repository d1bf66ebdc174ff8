/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * child.h — run a misuse in a forked child and keep what it wrote on its
 * error output: how the tests of kmem's reports see a process that kmem
 * stopped, without stopping themselves.
 */
#ifndef KMEM_TEST_CHILD_H
#define KMEM_TEST_CHILD_H

#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* Run fn in a child (which exits 0 if fn returns; `seconds` of alarm end a
 * hang), its error output into out (NUL-terminated, at most size - 1
 * bytes). Returns the child's wait status. */
__attribute__((unused)) static int test_run_child(void (*fn)(void), unsigned seconds,
                                                  char *out, size_t size)
{
    int fds[2];
    REQUIRE(pipe(fds) == 0, "pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    REQUIRE(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        alarm(seconds);
        fn();
        _exit(0);
    }
    close(fds[1]);
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fds[0], out + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || (len += (size_t)n) == size - 1)
            break;
    }
    out[len] = '\0';
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        REQUIRE(errno == EINTR, "waitpid: %s", strerror(errno));
    return status;
}

#endif /* KMEM_TEST_CHILD_H */
