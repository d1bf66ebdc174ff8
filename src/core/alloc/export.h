/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * export.h — publishing the statistics for other processes to read while
 * the program runs (the record's layout: include/kmem_export.h; the tool:
 * kmemstat). The background thread publishes at its rate, once the
 * program has run for the delay (KMEM_EXPORT_DELAY_MS, a second: a
 * program that ends sooner leaves nothing behind); nothing of it is on
 * the allocation paths.
 */
#ifndef KMEM_EXPORT_INTERNAL_H
#define KMEM_EXPORT_INTERNAL_H

#include "core/base/config.h"
#include "core/base/lock.h"

/* At start (after the settings are read): whether to publish, and from
 * when. */
void kmem_export_start(void);

/* Publishing is on (waiting for the delay or live). */
bool kmem_export_enabled(void);

/* Publishing is on and the delay has passed, but nothing is published
 * yet: time for the background thread to start. Reads the clock only
 * while waiting. */
bool kmem_export_due(void);

/* On the background thread: write the record (creating it the first
 * time). */
void kmem_export_publish(void);

/* The process ends (exit, _exit): take the record's name away. */
void kmem_export_at_exit(void);

/* Around fork() (see kmem_lock_fork, whose answer it returns): the child
 * publishes a record of its own, after its own delay, and lets go of the
 * parent's (a copy interrupted there is thrown away with it). */
bool kmem_export_fork(enum kmem_fork_phase phase);

#endif /* KMEM_EXPORT_INTERNAL_H */
