/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_record.c — libFuzzer harness for kmemstat's reader and printers:
 * each input is taken as a record buffer (the bytes a reader copied from
 * a <pid>.kmem file). record_check must refuse it with a message, or
 * accept it; an accepted record is then printed the three ways kmemstat
 * prints one (the tables and JSON through show_report, Prometheus through
 * show_prometheus), into memory, and each output must be well-formed
 * (tests/fuzz/output_check.h). Any read outside the input, undefined
 * behaviour, or malformed output stops the fuzzer with the input saved.
 *
 * Built by mk/build.mk (target fuzzers) with clang -fsanitize=fuzzer,
 * address,undefined; run by tests/fuzz/run.sh (make fuzz, make test).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/kmemstat/record.h"
#include "front/kmemstat/show.h"
#include "fuzz/output_check.h"

static void fail(const char *what, const char *why, const char *text, size_t len)
{
    fprintf(stderr, "fuzz_record: %s: %s\n--- output (%zu bytes) ---\n%.*s\n---\n", what, why,
            len, len < 4000 ? (int)len : 4000, text);
    abort();
}

/* Print r one way into memory and check what came out. */
static void print_and_check(const struct record *r, int how)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (out == NULL)
        abort();
    if (how == 2)
        show_prometheus(out, r, true);
    else
        show_report(out, r, how == 1);
    if (fclose(out) != 0)
        abort();
    const char *why = how == 0   ? out_text_error(text, len)
                      : how == 1 ? out_json_error(text, len)
                                 : out_prometheus_error(text, len);
    if (why != NULL)
        fail(how == 0 ? "the tables are malformed" : how == 1 ? "the JSON is malformed"
                                                             : "the Prometheus text is malformed",
             why, text, len);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    memset(why, 'x', sizeof why);
    /* libFuzzer hands over a copy of exactly `size` bytes, from malloc
     * (aligned as a reader's copy is): a byte read past it is caught. */
    const char *bad = record_check(data, size, why, sizeof why);
    if (bad != NULL) {
        if (bad != why || memchr(why, '\0', sizeof why) == NULL || why[0] == '\0')
            fail("record_check refused without a message", "", "", 0);
        return 0;
    }
    unsigned char *copy = malloc(size);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    const struct kmem_export_header *h = (const void *)copy;
    struct record r;
    record_adopt(&r, copy, size, (long)h->eh_pid);
    for (int how = 0; how < 3; how++)
        print_and_check(&r, how);
    record_release(&r);
    return 0;
}
