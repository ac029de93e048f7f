/* shmutex.h - the one way we make a mutex that lives in memory shared by
 * several processes: process-shared and robust, so a holder that dies
 * hands the next locker EOWNERDEAD instead of a deadlock. Used by the
 * task store and the per-BMC gate, each of which repairs its own state.
 * Owns: nothing. */
#ifndef BMC_SHMUTEX_H
#define BMC_SHMUTEX_H

#include <pthread.h>

/* Initialise M (in a MAP_SHARED region) as process-shared and robust.
 * 0 or a pthread error number. */
int shmutex_init(pthread_mutex_t *m);

#endif
