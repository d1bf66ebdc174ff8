/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * exit_destructors.c — malloc and free from other libraries' thread-exit
 * destructors, which run after kmem's own has handed the thread's cache
 * back: threads set pthread keys (created after kmem's, so their
 * destructors run later) whose destructors free the value, allocate and
 * free more, and set the key again once (a second round of destructors).
 * Afterwards everything is freed and, on kmem, its heap check passes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>

#include "harness.h"

static pthread_key_t keys[3];
static int rounds[3];

static void destructor(void *value)
{
    /* Runs while the thread is exiting, after kmem's destructor. */
    char *p = value;
    CHECK(p[0] == 'k', "value corrupt in destructor");
    free(p);
    for (int i = 0; i < 50; i++) {
        void *q = malloc((size_t)(i * 131 % 5000) + 1);
        memset(q, i, (size_t)(i * 131 % 5000) + 1);
        free(q);
    }
    void *big = malloc(200000);
    free(big);
    /* Once per key: a value set here gets another round of destructors. */
    for (int k = 0; k < 3; k++)
        if (pthread_getspecific(keys[k]) == NULL && __atomic_fetch_add(&rounds[k], 1, __ATOMIC_RELAXED) < 200) {
            char *again = malloc(64);
            again[0] = 'k';
            pthread_setspecific(keys[k], again);
            break;
        }
}

static void *worker(void *arg)
{
    (void)arg;
    for (int k = 0; k < 3; k++) {
        char *v = malloc((size_t)(k + 1) * 100);
        v[0] = 'k';
        pthread_setspecific(keys[k], v);
    }
    for (int i = 0; i < 1000; i++)
        free(malloc((size_t)(i % 700) + 1));
    return NULL;
}

int main(void)
{
    free(malloc(1)); /* the allocator is up, and its own key made, first */
    for (int k = 0; k < 3; k++)
        pthread_key_create(&keys[k], destructor);
    for (int round = 0; round < 50; round++) {
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, worker, NULL);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
    }
    int (*check)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "kmem_check");
    if (check != NULL)
        CHECK(check() == 0, "kmem_check after 200 threads' exit destructors");
    printf("200 threads: destructors after the allocator's freed, allocated and set keys again%s\n",
           check != NULL ? "; kmem_check passed" : " (not on kmem: no heap check)");
    return test_finish("exit_destructors");
}
