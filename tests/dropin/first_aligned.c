/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * first_aligned.c — an aligned allocation as the process's first call
 * into the allocator (kmem starts on first use: an alignment check that
 * read the arena's size before starting it refused every large alignment).
 *
 *   first_aligned posix_memalign|aligned_alloc|memalign|valloc
 *
 * Exits 0 when the call gave a block with the alignment asked for.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "posix_memalign";
    void *p = NULL;
    size_t align;
    if (strcmp(how, "posix_memalign") == 0) {
        align = 8192;
        if (posix_memalign(&p, align, 100) != 0)
            p = NULL;
    } else if (strcmp(how, "aligned_alloc") == 0) {
        align = (size_t)1 << 30;
        p = aligned_alloc(align, 1);
    } else if (strcmp(how, "memalign") == 0) {
        align = (size_t)1 << 30;
        p = memalign(align, 1);
    } else {
        align = 4096;
        p = valloc(5000);
    }
    int ok = p != NULL && ((uintptr_t)p & (align - 1)) == 0;
    printf("%s(%zu) as the first call: %p, %s\n", how, align, p, ok ? "ok" : "FAILED");
    free(p);
    return ok ? 0 : 1;
}
