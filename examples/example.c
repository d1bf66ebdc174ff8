/* SPDX-License-Identifier: BSD-2-Clause */
/* example.c — the README's example: a typed subsystem with a limit. */
#include <kmem.h>
#include <stdio.h>
#include <string.h>

KMEM_TYPE_DEFINE(M_PCB, "pcb", "protocol control blocks");

struct pcb {
    int state;
    char name[60];
};

static void print(void *arg, const char *text, size_t len)
{
    fwrite(text, 1, len, arg);
}

int main(void)
{
    kmem_type_setlimit(M_PCB, 1 << 20); /* this subsystem may hold 1 MiB */

    struct pcb *p;
    KMEM_MALLOC(p, struct pcb *, sizeof *p, M_PCB, KM_WAITOK); /* inlined */
    strcpy(p->name, "first");

    struct pcb *q = kmem_malloc(sizeof *q, M_PCB, KM_NOWAIT | KM_ZERO);
    if (q == NULL)
        return 1; /* NOWAIT: NULL at the limit instead of sleeping */

    printf("%s: %zu usable bytes\n", p->name, kmem_usable_size(p));
    kmem_stats_print(print, stdout, 0); /* the vmstat -m tables */

    KMEM_FREE(p, M_PCB);
    kmem_free(q, M_PCB);
    return 0;
}
