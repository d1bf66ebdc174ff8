/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * record.c — see record.h.
 */
#define _GNU_SOURCE
#include "front/kmemstat/record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* More than this is not a record a program on kmem writes. */
#define MAX_RECORD ((size_t)64 << 20)
#define MAX_BUCKETS 64u

static const char *say(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static const char *say(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return why;
}

/* v in decimal (a sum of 64-bit figures may not fit in 64 bits). */
static const char *decimal(unsigned __int128 v, char buf[48])
{
    char *p = buf + 47;
    *p = '\0';
    do {
        *--p = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v != 0);
    return p;
}

static bool terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

/* The length of the UTF-8 character at s (n bytes before the NUL), 0 if
 * it is not one: shortest form, no surrogate, at most U+10FFFF. */
static size_t utf8_length(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t v;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, v = s[0] & 0x1fu;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, v = s[0] & 0x0fu;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, v = s[0] & 0x07u;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3fu);
    }
    static const uint32_t least[] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (v < least[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    return len;
}

/* Make a NUL-terminated field safe to print in a terminal, JSON or
 * Prometheus: each control character, and each byte that is not part of
 * a valid UTF-8 character (a name the writer cut in the middle of one),
 * becomes '?'. */
static void printable(char *field)
{
    unsigned char *s = (unsigned char *)field;
    size_t n = strlen(field);
    for (size_t i = 0; i < n;) {
        size_t len = s[i] >= 0x80 ? utf8_length(s + i, n - i) : 1;
        if (len == 0 || s[i] < 0x20 || s[i] == 0x7f) {
            s[i] = '?';
            len = 1;
        }
        i += len;
    }
}

const char *record_check(const void *buf, size_t len, char *why, size_t cap)
{
    const struct kmem_export_header *h = buf;
    if (len < sizeof *h)
        return say(why, cap, "truncated: %zu bytes, less than a header (%zu)", len, sizeof *h);
    if (h->eh_magic != KMEM_EXPORT_MAGIC)
        return say(why, cap, "not a kmem statistics record (wrong magic number)");
    if (h->eh_version != KMEM_EXPORT_VERSION)
        return say(why, cap, "record of version %u; this kmemstat reads version %u only",
                   h->eh_version, KMEM_EXPORT_VERSION);
    if (h->eh_header_size != sizeof *h || h->eh_bucket_size != sizeof(struct kmem_export_bucket) ||
        h->eh_type_size != sizeof(struct kmem_export_type))
        return say(why, cap, "sizes of its parts (%u, %u, %u) are not those of version %u",
                   h->eh_header_size, h->eh_bucket_size, h->eh_type_size, KMEM_EXPORT_VERSION);
    if (h->eh_seq % 2 != 0)
        return say(why, cap, "caught in the middle of being written");
    if (h->eh_length > len)
        return say(why, cap, "truncated: says %llu bytes, has %zu",
                   (unsigned long long)h->eh_length, len);
    if (h->eh_nbuckets == 0 || h->eh_nbuckets > MAX_BUCKETS)
        return say(why, cap, "%u buckets: out of range", h->eh_nbuckets);
    uint64_t buckets_end = (uint64_t)h->eh_bucket_offset +
                           (uint64_t)h->eh_nbuckets * sizeof(struct kmem_export_bucket);
    uint64_t types_end = (uint64_t)h->eh_type_offset +
                         (uint64_t)h->eh_ntypes * sizeof(struct kmem_export_type);
    if (h->eh_bucket_offset < sizeof *h || buckets_end > h->eh_type_offset ||
        types_end > h->eh_length)
        return say(why, cap, "its parts lie outside it (buckets at %u, types at %u, "
                   "%u types, %llu bytes)", h->eh_bucket_offset, h->eh_type_offset,
                   h->eh_ntypes, (unsigned long long)h->eh_length);
    /* The parts are read in place, as arrays of 8-byte fields. */
    if (h->eh_bucket_offset % 8 != 0 || h->eh_type_offset % 8 != 0)
        return say(why, cap, "its parts are not aligned (buckets at %u, types at %u)",
                   h->eh_bucket_offset, h->eh_type_offset);
    if (h->eh_classes_per_doubling != 1 && h->eh_classes_per_doubling != 4)
        return say(why, cap, "unknown bucket geometry (%u classes per doubling)",
                   h->eh_classes_per_doubling);
    if (!terminated(h->eh_command, sizeof h->eh_command))
        return say(why, cap, "the command line has no end");
    if (h->eh_pid <= 0)
        return say(why, cap, "process id %lld: out of range", (long long)h->eh_pid);
    const unsigned char *base = buf;
    const struct kmem_export_bucket *b = (const void *)(base + h->eh_bucket_offset);
    const struct kmem_export_type *t = (const void *)(base + h->eh_type_offset);
    const struct kmem_export_arena *a = &h->eh_arena;
    unsigned __int128 small = 0, types = 0;
    uint64_t prev = 0;
    for (uint32_t i = 0; i < h->eh_nbuckets; i++) {
        if (b[i].eb_size <= prev || b[i].eb_size % 16 != 0 || b[i].eb_size > 65536)
            return say(why, cap, "bucket %u has size %llu, out of order or range", i + 1,
                       (unsigned long long)b[i].eb_size);
        prev = b[i].eb_size;
        small += (unsigned __int128)b[i].eb_inuse * b[i].eb_size;
    }
    for (uint32_t i = 0; i < h->eh_ntypes; i++) {
        if (!terminated(t[i].et_name, sizeof t[i].et_name) ||
            !terminated(t[i].et_description, sizeof t[i].et_description))
            return say(why, cap, "type %u's name or description has no end", i + 1);
        if (t[i].et_inuse > t[i].et_calls) {
            char name[sizeof t[i].et_name];
            memcpy(name, t[i].et_name, sizeof name);
            printable(name);
            return say(why, cap, "type %u (\"%s\"): %llu in use of %llu allocations", i + 1,
                       name, (unsigned long long)t[i].et_inuse,
                       (unsigned long long)t[i].et_calls);
        }
        types += t[i].et_memuse;
    }
    char num[48];
    if (small != a->ea_small_inuse)
        return say(why, cap, "does not add up: buckets hold %s bytes, the arena says %llu",
                   decimal(small, num), (unsigned long long)a->ea_small_inuse);
    /* The printers add these three up in 64 bits (record_inuse). */
    unsigned __int128 inuse = (unsigned __int128)a->ea_small_inuse + a->ea_large_inuse +
                              a->ea_internal;
    if (inuse > UINT64_MAX)
        return say(why, cap, "out of range: pieces, large blocks and kmem's own pages "
                   "hold more than 2^64 bytes");
    if (types != inuse)
        return say(why, cap, "does not add up: types hold %s bytes, buckets and pages %llu",
                   decimal(types, num), (unsigned long long)inuse);
    return NULL;
}

void record_adopt(struct record *out, unsigned char *data, size_t len, long pid)
{
    struct kmem_export_header *h = (void *)data;
    struct kmem_export_type *t = (void *)(data + h->eh_type_offset);
    printable(h->eh_command);
    for (uint32_t i = 0; i < h->eh_ntypes; i++) {
        printable(t[i].et_name);
        printable(t[i].et_description);
    }
    out->rc_pid = pid;
    out->rc_data = data;
    out->rc_len = len;
    out->rc_header = h;
    out->rc_buckets = (const void *)(data + h->eh_bucket_offset);
    out->rc_types = t;
}

static bool read_all(int fd, void *buf, size_t len, off_t at)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        at += n;
        len -= (size_t)n;
    }
    return true;
}

static void pause_ms(long ms)
{
    struct timespec ts = { 0, ms * 1000000L };
    nanosleep(&ts, NULL);
}

int record_read(const char *path, long pid, struct record *out, char *why, size_t cap)
{
    memset(out, 0, sizeof *out);
    /* O_NONBLOCK: a FIFO in the record's place would block open() until
     * someone wrote into it (regular files ignore the flag). */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        say(why, cap, "cannot be opened: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        say(why, cap, "is not a regular file");
        return -1;
    }
    if (st.st_uid != getuid()) {
        close(fd);
        say(why, cap, "belongs to another user (uid %u)", (unsigned)st.st_uid);
        return -1;
    }
    unsigned char *data = NULL;
    const char *bad = "could not be read whole";
    /* The writer rewrites the record ten times a second and a copy takes
     * it a few microseconds: a torn copy is rare, and tried again (for a
     * second at most). */
    for (int attempt = 0; attempt < 1000; attempt++) {
        struct kmem_export_header h;
        uint64_t seq2;
        if (!read_all(fd, &h, sizeof h, 0)) {
            bad = say(why, cap, "truncated: shorter than a header (%zu bytes)", sizeof h);
            break;
        }
        if (h.eh_magic == 0 && h.eh_publishes == 0) {
            bad = say(why, cap, "not written yet");
            pause_ms(1);
            continue;
        }
        if (h.eh_magic != KMEM_EXPORT_MAGIC || h.eh_version != KMEM_EXPORT_VERSION) {
            bad = record_check(&h, sizeof h, why, cap);
            break;
        }
        if (h.eh_seq % 2 != 0 || h.eh_publishes == 0) {
            pause_ms(1);
            continue;
        }
        if (h.eh_length < sizeof h || h.eh_length > MAX_RECORD) {
            bad = say(why, cap, "says it is %llu bytes long: out of range",
                      (unsigned long long)h.eh_length);
            break;
        }
        /* No copy bigger than the file (a short file saying 64 MiB). */
        struct stat now;
        if (fstat(fd, &now) != 0 || (uint64_t)now.st_size < h.eh_length) {
            bad = say(why, cap, "truncated: shorter than the %llu bytes it says",
                      (unsigned long long)h.eh_length);
            pause_ms(1);
            continue; /* it may be growing */
        }
        unsigned char *copy = realloc(data, (size_t)h.eh_length);
        if (copy == NULL) {
            bad = say(why, cap, "out of memory for a copy of %llu bytes",
                      (unsigned long long)h.eh_length);
            break;
        }
        data = copy;
        if (!read_all(fd, data, (size_t)h.eh_length, 0)) {
            bad = say(why, cap, "truncated: shorter than the %llu bytes it says",
                      (unsigned long long)h.eh_length);
            pause_ms(1);
            continue; /* it may be growing */
        }
        if (!read_all(fd, &seq2, sizeof seq2, offsetof(struct kmem_export_header, eh_seq)))
            continue;
        const struct kmem_export_header *copy_h = (const void *)data;
        if (copy_h->eh_seq != h.eh_seq || seq2 != h.eh_seq ||
            copy_h->eh_length != h.eh_length) {
            pause_ms(1);
            continue; /* torn: written while read */
        }
        bad = record_check(data, (size_t)h.eh_length, why, cap);
        if (bad == NULL) {
            close(fd);
            record_adopt(out, data, (size_t)h.eh_length, pid);
            if (out->rc_header->eh_pid != pid) {
                say(why, cap, "is named after pid %ld but written by %lld", pid,
                    (long long)out->rc_header->eh_pid);
                record_release(out);
                return -1;
            }
            return 0;
        }
        break;
    }
    close(fd);
    free(data);
    if (bad != why)
        say(why, cap, "%s", bad);
    return -1;
}

void record_release(struct record *r)
{
    free(r->rc_data);
    memset(r, 0, sizeof *r);
}

unsigned long long record_inuse(const struct record *r)
{
    const struct kmem_export_arena *a = &r->rc_header->eh_arena;
    return a->ea_small_inuse + a->ea_large_inuse + a->ea_internal;
}

unsigned long long record_held(const struct record *r)
{
    return r->rc_header->eh_arena.ea_required;
}
