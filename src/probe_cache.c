/* probe_cache.c - shared probe cache with single flight (see
 * probe_cache.h). */
#include "autoconfig.h"
#include "probe_cache.h"
#include "shmutex.h"

#include "clock.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SLICE_S 0.25 /* longest futex sleep: a dead collector is noticed */

enum { EMPTY, COLLECTING, READY };

struct probe_entry {
    uint32_t seq; /* futex word */
    uint32_t state;
    uint64_t gen; /* bumped by every put */
    char key[PROBE_CACHE_KEY_MAX];
    double claim_until;  /* COLLECTING: the claim ends (monotonic) */
    double collected_at; /* READY: when (monotonic) */
    double expires;      /* READY: fresh until (monotonic) */
    uint32_t len;
    char text[PROBE_CACHE_TEXT_MAX];
};

struct probe_shm {
    _Alignas(64) pthread_mutex_t mutex;
    unsigned long collections;
    struct probe_entry e[PROBE_CACHE_ENTRIES];
};

static struct probe_shm *pc;

int probe_cache_init(char *err, size_t errlen)
{
    void *base;

    probe_cache_shutdown();
    /* 64 MiB of address space; pages exist only once an entry is used */
    base = mmap(NULL, sizeof(struct probe_shm), PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        snprintf(err, errlen, "probe cache: cannot map %zu bytes: %s",
                 sizeof(struct probe_shm), strerror(errno));
        return -1;
    }
    pc = base;
    if (shmutex_init(&pc->mutex)) {
        snprintf(err, errlen, "probe cache: cannot initialise its mutex");
        probe_cache_shutdown();
        return -1;
    }
    return 0;
}

void probe_cache_shutdown(void)
{
    if (pc)
        munmap(pc, sizeof(*pc));
    pc = NULL;
}

static int cache_lock(void)
{
    int r = pthread_mutex_lock(&pc->mutex);

    if (r == EOWNERDEAD) {
        /* a put cut short leaves a COLLECTING entry whose claim expires */
        pthread_mutex_consistent(&pc->mutex);
        log_warn("probe_cache_recovered",
                 "reason=\"a process died holding the probe cache lock\"");
        return 0;
    }
    return r ? -1 : 0;
}

static void changed(struct probe_entry *e)
{
    __atomic_fetch_add(&e->seq, 1, __ATOMIC_RELEASE);
    (void)syscall(SYS_futex, &e->seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static void sleep_on(struct probe_entry *e, uint32_t seen, double deadline)
{
    double left = clock_remaining(deadline);
    struct timespec ts;

    if (left > SLICE_S)
        left = SLICE_S;
    if (left <= 0)
        return;
    ts.tv_sec = (time_t)left;
    ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
    (void)syscall(SYS_futex, &e->seq, FUTEX_WAIT, seen, &ts, NULL, 0);
}

/* KEY's entry, or a reusable one (made EMPTY for KEY); NULL when every
 * entry is being collected. Under the lock. */
static struct probe_entry *entry_for(const char *key, double now)
{
    struct probe_entry *best = NULL;

    for (int i = 0; i < PROBE_CACHE_ENTRIES; i++)
        if (pc->e[i].state != EMPTY && !strcmp(pc->e[i].key, key))
            return &pc->e[i];
    for (int i = 0; i < PROBE_CACHE_ENTRIES; i++) {
        struct probe_entry *e = &pc->e[i];
        if (e->state == EMPTY) {
            best = e;
            break;
        }
        if (e->state == COLLECTING && e->claim_until > now)
            continue;
        if (!best || e->expires < best->expires)
            best = e;
    }
    if (best) {
        best->state = EMPTY;
        best->len = 0;
        snprintf(best->key, sizeof(best->key), "%s", key);
    }
    return best;
}

static char *copy_text(const struct probe_entry *e, double now, double *age)
{
    char *t = malloc(e->len + 1);

    if (t) {
        memcpy(t, e->text, e->len);
        t[e->len] = '\0';
    }
    *age = now - e->collected_at;
    return t;
}

/* What a caller has seen of its key so far. */
struct look_state {
    bool waiting;      /* it waited for another caller's collection */
    uint64_t base_gen; /* the generation then: a later one is that result */
    uint32_t seq;      /* the futex word to sleep on */
    struct probe_entry *e;
};

/* One look at KEY under the lock: a result, or -1 to wait (S filled). */
static int look(const char *key, double claim, char **text, double *age,
                struct look_state *s)
{
    double now = clock_now_mono();
    struct probe_entry *e = entry_for(key, now);

    if (!e)
        return PROBE_CACHE_COLLECT; /* uncached: the put finds no entry */
    s->e = e;
    s->seq = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
    if (e->state == READY &&
        (e->expires > now || (s->waiting && e->gen > s->base_gen))) {
        *text = copy_text(e, now, age);
        if (*text)
            return s->waiting ? PROBE_CACHE_SHARED : PROBE_CACHE_HIT;
    } else if (e->state == COLLECTING && e->claim_until > now) {
        if (!s->waiting)
            s->base_gen = e->gen;
        s->waiting = true;
        return -1;
    }
    e->state = COLLECTING;
    e->claim_until = now + claim;
    pc->collections++;
    changed(e);
    return PROBE_CACHE_COLLECT;
}

enum probe_cache_rc probe_cache_get(const char *key, double claim,
                                    double deadline, char **text, double *age)
{
    struct look_state s = {false, 0, 0, NULL};

    *text = NULL;
    *age = 0;
    if (!pc)
        return PROBE_CACHE_COLLECT;
    for (;;) {
        if (cache_lock())
            return PROBE_CACHE_COLLECT;
        int rc = look(key, claim, text, age, &s);
        pthread_mutex_unlock(&pc->mutex);
        if (rc >= 0)
            return (enum probe_cache_rc)rc;
        if (clock_now_mono() >= deadline)
            return PROBE_CACHE_TIMEOUT;
        sleep_on(s.e, s.seq, deadline);
    }
}

void probe_cache_put(const char *key, const char *text, size_t len, double ttl)
{
    if (!pc || cache_lock())
        return;
    double now = clock_now_mono();
    for (int i = 0; i < PROBE_CACHE_ENTRIES; i++) {
        struct probe_entry *e = &pc->e[i];
        if (e->state != COLLECTING || strcmp(e->key, key))
            continue;
        if (len > PROBE_CACHE_TEXT_MAX)
            len = 0; /* cannot happen: the writer caps below this */
        memcpy(e->text, text, len);
        e->len = (uint32_t)len;
        e->collected_at = now;
        e->expires = now + ttl;
        e->gen++;
        e->state = READY;
        changed(e);
        break;
    }
    pthread_mutex_unlock(&pc->mutex);
}

unsigned long probe_cache_collections(void)
{
    return pc ? __atomic_load_n(&pc->collections, __ATOMIC_RELAXED) : 0;
}
