/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reclaim.h — giving idle memory back to the system over time: slabs
 * whose pieces have all stayed free for a while go back to the page pool,
 * and free pages unused for the decay time go back to the system. A
 * background thread does it every tick once the process holds enough idle
 * memory to matter (or from the start, or never: KMEM_BACKGROUND); a host
 * without threads calls kmem_maintain() itself.
 */
#ifndef KMEM_RECLAIM_H
#define KMEM_RECLAIM_H

#include "core/base/config.h"
#include "core/base/lock.h"

/* At start: begin the background thread now if so tuned. */
void kmem_reclaim_start(void);

/* Called on slow paths: starts the background thread, or its reclaim
 * passes, when idle memory passes the threshold, or the thread when the
 * statistics are due to be published (export.h). Takes no lock; cheap
 * (until the thread reclaims, two counters read, and a look at the clock
 * while publishing waits for its delay). */
void kmem_reclaim_poke(void);

/* Called when a second thread cache is made: the program runs threads of
 * its own, so the thread that publishes the statistics starts now (and
 * waits out their delay) if they are to be published. */
void kmem_reclaim_threaded(void);

/* One pass: release slabs that stayed empty since the last pass, and give
 * back free pages unused for the decay time. */
void kmem_reclaim_pass(void);

/* Give back to the system everything free now: the calling thread's
 * cache, slabs whose pieces are all free, free page runs (see kmem_trim).
 * Returns the bytes given back. */
size_t kmem_reclaim_all(void);

/* Around fork(): the child has no background thread. */
void kmem_reclaim_fork(enum kmem_fork_phase phase);

#endif /* KMEM_RECLAIM_H */
