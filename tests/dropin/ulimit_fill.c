/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ulimit_fill.c — how much of an address-space limit (ulimit -v) a program
 * can allocate. Run it under a limit:
 *
 *   ulimit_fill fill       malloc 1 MiB blocks until one fails; print the
 *                          MiB obtained
 *   ulimit_fill one BYTES  one malloc of BYTES; exit 0 if it succeeded
 *
 * The blocks are not touched: the limit counts address space, not
 * resident memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "one") == 0) {
        size_t bytes = strtoull(argv[2], NULL, 0);
        void *p = malloc(bytes);
        printf("malloc(%zu): %s\n", bytes, p != NULL ? "ok" : "NULL");
        return p != NULL ? 0 : 1;
    }
    size_t mib = 0;
    while (malloc((size_t)1 << 20) != NULL)
        mib++;
    printf("%zu\n", mib);
    return 0;
}
