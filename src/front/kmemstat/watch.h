/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * watch.h — kmemstat -w: the interactive view (watch.c).
 */
#ifndef KMEMSTAT_WATCH_H
#define KMEMSTAT_WATCH_H

/* Show process pid's figures every `seconds` until q or its end; the
 * exit status. */
int watch(const char *dir, long pid, double seconds);

#endif /* KMEMSTAT_WATCH_H */
