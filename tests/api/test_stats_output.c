/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_stats_output.c — kmem_stats_print for a scripted scenario, as text
 * and as JSON, compared with the expected output in tests/expected/.
 * The scenario runs in one thread from a fresh process, so every figure is
 * determined. With KMEM_REGENERATE=1 the test writes the expected files
 * instead (review the diff before committing them).
 */
#include <kmem.h>

#include "harness.h"

KMEM_TYPE_DEFINE(M_PCB, "pcb", "protocol control blocks");
KMEM_TYPE_DEFINE(M_NAMEI, "namei", "pathname buffers");
KMEM_TYPE_DEFINE(M_UNUSED, "unused", "defined but never used: not shown");

struct buffer {
    char data[1 << 16];
    size_t len;
};

static void to_buffer(void *arg, const char *text, size_t len)
{
    struct buffer *b = arg;
    REQUIRE(b->len + len < sizeof b->data, "statistics output too long");
    memcpy(b->data + b->len, text, len);
    b->len += len;
    b->data[b->len] = '\0';
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    static char text[2][1 << 16];
    static int which;
    char *out = text[which++ % 2];
    size_t n = fread(out, 1, sizeof text[0] - 1, f);
    out[n] = '\0';
    fclose(f);
    return out;
}

static void compare(const char *path, const struct buffer *got)
{
    if (getenv("KMEM_REGENERATE") != NULL) {
        FILE *f = fopen(path, "wb");
        REQUIRE(f != NULL, "cannot write %s", path);
        fwrite(got->data, 1, got->len, f);
        fclose(f);
        printf("wrote %s\n", path);
        return;
    }
    const char *want = read_file(path);
    REQUIRE(want != NULL, "cannot read %s (run from the top of the tree)", path);
    if (strcmp(want, got->data) != 0) {
        CHECK(0, "%s differs; got:\n%s", path, got->data);
        size_t i = 0;
        while (want[i] != '\0' && want[i] == got->data[i])
            i++;
        fprintf(stderr, "first difference at byte %zu: want \"%.40s\" got \"%.40s\"\n", i,
                want + i, got->data + i);
    }
}

int main(void)
{
    /* A fixed arena size, so that the reservation printed does not depend
     * on the machine's memory. */
    struct kmem_options options = { .arena_size = (size_t)1 << 30 };
    CHECK_EQ(kmem_init(&options), KMEM_OK);

    /* The scenario: a subsystem with 10 control blocks of 200 bytes, of
     * which 4 are freed; a pathname subsystem with two 1 KiB buffers and one
     * large 20 000-byte buffer, limited to 24 KiB so that a further large
     * request is refused once. */
    void *pcb[10];
    for (int i = 0; i < 10; i++)
        pcb[i] = kmem_malloc(200, M_PCB, KM_WAITOK);
    for (int i = 0; i < 4; i++)
        kmem_free(pcb[i], M_PCB);
    void *name1 = kmem_malloc(1024, M_NAMEI, KM_WAITOK);
    void *name2 = kmem_malloc(1000, M_NAMEI, KM_WAITOK | KM_ZERO);
    void *big = kmem_malloc(20000, M_NAMEI, KM_WAITOK);
    CHECK_EQ(kmem_type_setlimit(M_NAMEI, 24 * 1024), KMEM_OK);
    void *refused = kmem_malloc(5000, M_NAMEI, KM_NOWAIT);
    CHECK(refused == NULL, "a request over the limit was granted");
    kmem_free(name2, M_NAMEI);

    struct kmem_type_stats ts;
    kmem_type_stats(M_UNUSED, &ts);
    CHECK_EQ(ts.calls, 0);

    static struct buffer text, json;
    kmem_stats_print(to_buffer, &text, 0);
    kmem_stats_print(to_buffer, &json, KMEM_STATS_JSON);
#if KMEM_CLASSES_PER_DOUBLING == 1
    compare("tests/expected/stats_pow2.txt", &text);
    compare("tests/expected/stats_pow2.json", &json);
#else
    compare("tests/expected/stats_quarter.txt", &text);
    compare("tests/expected/stats_quarter.json", &json);
#endif
    CHECK(strstr(text.data, "unused") == NULL, "an unused type is listed");

    for (int i = 4; i < 10; i++)
        kmem_free(pcb[i], M_PCB);
    kmem_free(name1, M_NAMEI);
    kmem_free(big, M_NAMEI);
    CHECK_EQ(kmem_check(), 0);
    return test_finish("stats_output");
}
