/* shmutex.c - see shmutex.h. */
#include "autoconfig.h"
#include "shmutex.h"

int shmutex_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    int r;

    pthread_mutexattr_init(&a);
    r = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (!r)
        r = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (!r)
        r = pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
    return r;
}
