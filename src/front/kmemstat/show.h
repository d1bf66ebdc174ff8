/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * show.h — one process's record as the vmstat -m tables, as JSON (the
 * schema of KMEM_STATS_JSON), or in the Prometheus text exposition format.
 */
#ifndef KMEMSTAT_SHOW_H
#define KMEMSTAT_SHOW_H

#include <stdbool.h>
#include <stdio.h>

#include "front/kmemstat/record.h"

/* The tables (json false) or the JSON object, as kmem_stats_print writes
 * them inside the program. */
void show_report(FILE *out, const struct record *r, bool json);

/* The metrics of one record, with labels pid and command; `help` writes
 * the HELP and TYPE lines first (once per scrape). */
void show_prometheus(FILE *out, const struct record *r, bool help);

#endif /* KMEMSTAT_SHOW_H */
