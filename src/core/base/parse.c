/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * parse.c — see parse.h.
 */
#include "core/base/parse.h"

bool kmem_parse_size(const char *text, uint64_t *out)
{
    if (text == NULL || *text < '0' || *text > '9')
        return false;
    uint64_t v = 0;
    for (; *text >= '0' && *text <= '9'; text++) {
        uint64_t digit = (uint64_t)(*text - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    unsigned shift = 0;
    switch (*text) {
    case 'k': case 'K': shift = 10; text++; break;
    case 'm': case 'M': shift = 20; text++; break;
    case 'g': case 'G': shift = 30; text++; break;
    case 't': case 'T': shift = 40; text++; break;
    default: break;
    }
    if (shift != 0 && (*text == 'i' || *text == 'I')) /* "64GiB" */
        text++;
    if (*text == 'b' || *text == 'B')
        text++;
    if (*text != '\0' || (shift != 0 && v > (UINT64_MAX >> shift)))
        return false;
    *out = v << shift;
    return true;
}

bool kmem_parse_same(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}
