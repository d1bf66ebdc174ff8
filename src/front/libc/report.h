/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * report.h — writing kmem's statistics to a file descriptor, and the
 * report at exit that kmem-run asks for through the environment.
 */
#ifndef KMEM_REPORT_H
#define KMEM_REPORT_H

/* The vmstat -m tables (flags 0) or JSON (KMEM_STATS_JSON) to fd. */
void kmem_report_write(int fd, int flags);

/* The report at exit, if the environment asks for one (KMEM_STATS,
 * KMEM_STATS_JSON, KMEM_STATS_PID); at most once per process. */
void kmem_report_at_exit(void);

#endif /* KMEM_REPORT_H */
