/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fork.h — keeping kmem sane across fork() (see fork.c).
 */
#ifndef KMEM_FORK_H
#define KMEM_FORK_H

/* Register the fork handlers with the platform (once, after start). */
void kmem_fork_register(void);

#endif /* KMEM_FORK_H */
