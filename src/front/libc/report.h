/*
 * report.h — writing kmem's statistics to a file descriptor, and the
 * report at exit that kmem-run asks for through the environment.
 */
#ifndef KMEM_REPORT_H
#define KMEM_REPORT_H

/* The vmstat -m tables (flags 0) or JSON (KMEM_STATS_JSON) to fd. */
void kmem_report_write(int fd, int flags);

#endif /* KMEM_REPORT_H */
