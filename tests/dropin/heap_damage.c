/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * heap_damage.c — through malloc and free, the misuse that used to make
 * kmem hand out one block twice: frees of blocks written after they were
 * freed, overflows into freed neighbours (64 bytes, and the one byte that
 * holds a slab's next index), and two threads freeing one block at the same
 * moment. Each case runs in a forked child that then allocates and keeps
 * every block it gets in a table: a block handed out twice exits 3 (the
 * bug), a case that ends without a report exits 0 (also a failure); kmem
 * must stop it with SIGABRT and one line naming the block. Run only on
 * kmem. KMEM_TEST_SEED changes the sizes and the order of the frees.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "child.h"

#define NLIVE 32768
static void *live[NLIVE]; /* open addressing, the blocks the child holds */
static uint64_t rng;

static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Note a block malloc returned; a block already held means kmem handed
 * one out twice. */
static void hold(void *p)
{
    if (p == NULL)
        _exit(4);
    size_t h = ((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull >> 49; /* 15 bits */
    while (live[h] != NULL) {
        if (live[h] == p) {
            fprintf(stderr, "duplicate: %p handed out twice\n", p);
            _exit(3);
        }
        h = (h + 1) % NLIVE;
    }
    live[h] = p;
}

/* Allocate n blocks of `size`, holding each. */
static void allocate_and_hold(int n, size_t size)
{
    for (int i = 0; i < n; i++) {
        char *p = malloc(size);
        hold(p);
        memset(p, 'x', size); /* the program uses its memory */
    }
}

static void shuffle(void **v, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(next_random() % (uint64_t)(i + 1));
        void *t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

/* 4000 blocks freed, written, freed again (the key erased by the write). */
static void write_then_free_twice(void)
{
    enum { N = 4000 };
    static void *v[N];
    for (int i = 0; i < N; i++)
        v[i] = malloc(32);
    shuffle(v, N);
    for (int i = 0; i < N; i++)
        free(v[i]);
    for (int i = 0; i < N; i++)
        memset(v[i], 'A', 32);
    for (int i = 0; i < N; i++)
        free(v[i]);
    allocate_and_hold(6001, 32);
}

/* 1000 live 32-byte blocks overflow by 64 bytes into their freed
 * neighbours. */
static void overflow_into_freed(void)
{
    enum { N = 2000 };
    static char *v[N];
    for (int i = 0; i < N; i++)
        v[i] = malloc(32);
    for (int i = 1; i < N; i += 2)
        free(v[i]);
    for (int i = 0; i < N; i += 2)
        memset(v[i], 'B', 32 + 64);
    allocate_and_hold(6000, 32);
}

/* Enough frees that most pieces go back onto their slabs' free lists
 * (40000: past a thread cache and the transfer cache, which holds 16384);
 * then each live block overflows by one byte: the byte that, in a free
 * neighbour on a slab's list, is the index of the next free piece. */
static void one_byte_into_slab_list(void)
{
    enum { N = 80000 };
    static unsigned char *v[N];
    for (int i = 0; i < N; i++)
        v[i] = malloc(48);
    for (int i = N - 1; i >= 1; i -= 2)
        free(v[i]);
    unsigned char byte = (unsigned char)(1 + next_random() % 80);
    for (int i = 0; i < N; i += 2)
        v[i][48] = byte;
    allocate_and_hold(N, 48);
}

/* Two threads free one block at the same moment, then each allocates. */
static pthread_barrier_t both;
static void *shared_block;

static void *free_shared(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&both);
    free(shared_block);
    pthread_barrier_wait(&both);
    return NULL;
}

static void two_threads_free_one(void)
{
    pthread_t t;
    pthread_barrier_init(&both, NULL, 2);
    void *warm = malloc(64); /* both threads have a cache before the race */
    free(warm);
    shared_block = malloc(64);
    pthread_create(&t, NULL, free_shared, NULL);
    pthread_barrier_wait(&both);
    free(shared_block);
    pthread_barrier_wait(&both);
    pthread_join(t, NULL);
    /* The other thread has ended and handed its cache back: both copies,
     * if both frees went through, are now where this thread's next
     * requests find them. */
    allocate_and_hold(20000, 64);
}

static void expect_report(const char *what, void (*bad)(void), const char *const *words)
{
    char out[2048];
    int status = test_run_child(bad, 20, out, sizeof out);
    size_t len = strlen(out);
    printf("  %-40s %s%s", what, len ? out : "(no output)\n",
           len && out[len - 1] != '\n' ? "\n" : "");
    if (WIFEXITED(status))
        CHECK(0, "%s: %s", what,
              WEXITSTATUS(status) == 3 ? "a block was handed out twice"
                                       : "the misuse went unreported");
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "%s: status %d", what, status);
    CHECK(strncmp(out, "kmem: ", 6) == 0 && strchr(out, '\n') == out + strlen(out) - 1,
          "%s: not one line from kmem: \"%s\"", what, out);
    int any = 0;
    for (const char *const *w = words; *w != NULL; w++)
        any |= strstr(out, *w) != NULL;
    CHECK(any, "%s: the line names none of the expected reasons: \"%s\"", what, out);
}

int main(void)
{
    rng = test_seed(0x5eed);
    rng |= 1;
    static const char *const changed[] = { "was changed after it was freed",
                                           "already free", "is damaged",
                                           "already on its slab", NULL };
    expect_report("freed, written, freed again", write_then_free_twice, changed);
    expect_report("64-byte overflow into freed blocks", overflow_into_freed, changed);
    expect_report("1-byte overflow into a slab's list", one_byte_into_slab_list, changed);
    expect_report("two threads free one block at once", two_threads_free_one, changed);
    return test_finish("heap_damage");
}
