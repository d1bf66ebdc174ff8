/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_parse.c — the settings' size parser (core/base/parse.c): every
 * suffix, the bounds of 64 bits, and what it must refuse.
 */
#include "core/base/parse.h"

#include "harness.h"

static void accepts(const char *text, uint64_t want)
{
    uint64_t got = 12345;
    CHECK(kmem_parse_size(text, &got) && got == want, "\"%s\": got %" PRIu64 " want %" PRIu64,
          text, got, want);
}

static void refuses(const char *text)
{
    uint64_t got = 12345;
    CHECK(!kmem_parse_size(text, &got) && got == 12345, "\"%s\" accepted as %" PRIu64,
          text ? text : "(null)", got);
}

int main(void)
{
    accepts("0", 0);
    accepts("4096", 4096);
    accepts("2k", 2048);
    accepts("2K", 2048);
    accepts("64KiB", 64 << 10);
    accepts("512M", (uint64_t)512 << 20);
    accepts("8MB", (uint64_t)8 << 20);
    accepts("64G", (uint64_t)64 << 30);
    accepts("64GiB", (uint64_t)64 << 30);
    accepts("1t", (uint64_t)1 << 40);
    accepts("100b", 100);
    accepts("18446744073709551615", UINT64_MAX);
    accepts("16777215T", (uint64_t)16777215 << 40);
    refuses(NULL);
    refuses("");
    refuses("-1");
    refuses(" 5");
    refuses("5 ");
    refuses("5x");
    refuses("5i");      /* "i" only after a unit */
    refuses("5KK");
    refuses("5MiBs");
    refuses("G");
    refuses("18446744073709551616"); /* 2^64 */
    refuses("99999999999999999999");
    refuses("16777216T");            /* 2^64 bytes */
    CHECK(kmem_parse_same("on", "on"), "same");
    CHECK(!kmem_parse_same("on", "onx") && !kmem_parse_same("onx", "on") &&
              !kmem_parse_same("", "a") && kmem_parse_same("", ""),
          "different strings are not the same");
    return test_finish("parse");
}
