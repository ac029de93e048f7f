/* metrics.c - shared counters (see metrics.h). */
#include "autoconfig.h"
#include "metrics.h"
#include "shmutex.h"

#include "clock.h"
#include "errors.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define METRICS_MAGIC 0x4d455452u /* "METR" */

const double metrics_bucket_bounds[METRICS_BUCKETS] = {
    0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60};

/* One series. The label values are written before the series is published
 * (table.used) and never change after. */
struct metrics_slot {
    char label[METRICS_LABELS][METRICS_LABEL_MAX];
    uint64_t value;                       /* counter, or histogram count */
    uint64_t sum_us;                      /* histogram sum, microseconds */
    uint64_t bucket[METRICS_BUCKETS + 1]; /* per bound, not cumulative */
};

struct metrics_table {
    uint32_t used; /* published slots (release/acquire) */
    struct metrics_slot slot[METRICS_SERIES_MAX];
};

struct metrics_shm {
    uint32_t magic;
    double start_time;
    uint64_t dropped;
    _Alignas(64) pthread_mutex_t mutex; /* adding a series only */
    struct metrics_table table[METRICS_FAMILIES];
};

static struct metrics_shm *mh;

static void metrics_count_restart_init(void);

int metrics_init(char *err, size_t errlen)
{
    void *base;

    metrics_shutdown();
    base = mmap(NULL, sizeof(struct metrics_shm), PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        snprintf(err, errlen, "metrics: cannot map %zu bytes: %s",
                 sizeof(struct metrics_shm), strerror(errno));
        return -1;
    }
    mh = base;
    mh->magic = METRICS_MAGIC;
    mh->start_time = clock_now_real();
    if (shmutex_init(&mh->mutex)) {
        snprintf(err, errlen,
                 "metrics: cannot initialise the process-shared mutex");
        metrics_shutdown();
        return -1;
    }
    /* every pool present from the start, so a first restart is a rise */
    metrics_count_restart_init();
    return 0;
}

void metrics_shutdown(void)
{
    if (mh)
        munmap(mh, sizeof(*mh));
    mh = NULL;
}

static bool slot_matches(const struct metrics_slot *s, const char *l0,
                         const char *l1)
{
    return !strcmp(s->label[0], l0) && !strcmp(s->label[1], l1 ? l1 : "");
}

/* The published slot of T labelled (L0, L1), or NULL. */
static struct metrics_slot *table_find(struct metrics_table *t, const char *l0,
                                       const char *l1)
{
    uint32_t used = __atomic_load_n(&t->used, __ATOMIC_ACQUIRE);

    for (uint32_t i = 0; i < used; i++)
        if (slot_matches(&t->slot[i], l0, l1))
            return &t->slot[i];
    return NULL;
}

static int metrics_lock(void)
{
    int r = pthread_mutex_lock(&mh->mutex);

    if (r == EOWNERDEAD) {
        /* nothing to repair: an unpublished slot is rewritten whole */
        pthread_mutex_consistent(&mh->mutex);
        log_warn("metrics_recovered",
                 "reason=\"a process died holding the metrics lock\"");
        return 0;
    }
    return r ? -1 : 0;
}

/* Add the series (L0, L1) to T under the lock; NULL when T is full. */
static struct metrics_slot *table_add(struct metrics_table *t, const char *l0,
                                      const char *l1)
{
    struct metrics_slot *s = NULL;

    if (metrics_lock())
        return NULL;
    s = table_find(t, l0, l1); /* another process may have added it */
    if (!s && t->used < METRICS_SERIES_MAX) {
        s = &t->slot[t->used];
        memset(s, 0, sizeof(*s));
        snprintf(s->label[0], METRICS_LABEL_MAX, "%s", l0);
        snprintf(s->label[1], METRICS_LABEL_MAX, "%s", l1 ? l1 : "");
        __atomic_store_n(&t->used, t->used + 1, __ATOMIC_RELEASE);
    } else if (!s) {
        __atomic_fetch_add(&mh->dropped, 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&mh->mutex);
    return s;
}

/* The slot for FAMILY{L0,L1}, added when new; NULL without init or room.
 * Values longer than a slot holds are cut, so look up the cut form. */
static struct metrics_slot *series(enum metrics_family family, const char *l0,
                                   const char *l1)
{
    char a[METRICS_LABEL_MAX], b[METRICS_LABEL_MAX];

    if (!mh || (unsigned)family >= METRICS_FAMILIES)
        return NULL;
    snprintf(a, sizeof(a), "%s", l0 ? l0 : "");
    snprintf(b, sizeof(b), "%s", l1 ? l1 : "");
    struct metrics_table *t = &mh->table[family];
    struct metrics_slot *s = table_find(t, a, b);
    return s ? s : table_add(t, a, b);
}

void metrics_add(enum metrics_family family, const char *l0, const char *l1,
                 uint64_t n)
{
    struct metrics_slot *s = series(family, l0, l1);

    if (s)
        __atomic_fetch_add(&s->value, n, __ATOMIC_RELAXED);
}

void metrics_observe(enum metrics_family family, const char *l0,
                     const char *l1, double seconds)
{
    struct metrics_slot *s = series(family, l0, l1);
    int b = 0;

    if (!s)
        return;
    if (seconds < 0)
        seconds = 0;
    while (b < METRICS_BUCKETS && seconds > metrics_bucket_bounds[b])
        b++;
    __atomic_fetch_add(&s->bucket[b], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->sum_us, (uint64_t)(seconds * 1e6 + 0.5),
                       __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->value, 1, __ATOMIC_RELAXED);
}

void metrics_count_request(const char *endpoint, int status)
{
    char st[16];

    snprintf(st, sizeof(st), "%d", status);
    metrics_add(METRICS_REQUESTS, endpoint, st, 1);
}

void metrics_count_task(const char *method, bool success)
{
    metrics_add(METRICS_TASKS, method, success ? "success" : "failed", 1);
}

void metrics_count_call(enum bmc_protocol protocol, const char *method,
                        double seconds, int code, bool success)
{
    const char *proto = protocol == BMC_PROTO_REDFISH ? "redfish" : "ipmitool";
    char c[16];

    metrics_observe(METRICS_CALLS, proto, method, seconds);
    if (code == 0 && success)
        return;
    metrics_add(METRICS_CALL_FAILURES, proto, method, 1);
    /* a BMC's "no" is the 3001 its task ends with */
    snprintf(c, sizeof(c), "%d", code ? code : BMC_ERR_EXECUTION_FAILED);
    metrics_add(METRICS_ERRORS, c, NULL, 1);
}

void metrics_count_restart(const char *pool)
{
    metrics_add(METRICS_RESTARTS, pool, NULL, 1);
}

static void metrics_count_restart_init(void)
{
    static const char *const pools[] = {"bmc", "light", "executor"};

    for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++)
        metrics_add(METRICS_RESTARTS, pools[i], NULL, 0);
}

bool metrics_read(enum metrics_family family, size_t i,
                  struct metrics_sample *out)
{
    if (!mh || (unsigned)family >= METRICS_FAMILIES)
        return false;
    struct metrics_table *t = &mh->table[family];
    if (i >= __atomic_load_n(&t->used, __ATOMIC_ACQUIRE))
        return false;
    const struct metrics_slot *s = &t->slot[i];
    uint64_t cum = 0;

    memcpy(out->label, s->label, sizeof(out->label));
    /* +Inf and the count come from the buckets read here, so a sample is
     * consistent even while other processes keep counting */
    for (int b = 0; b <= METRICS_BUCKETS; b++) {
        cum += __atomic_load_n(&s->bucket[b], __ATOMIC_RELAXED);
        out->bucket[b] = cum;
    }
    out->value = __atomic_load_n(&s->value, __ATOMIC_RELAXED);
    if (family == METRICS_CALLS)
        out->value = cum;
    out->sum = (double)__atomic_load_n(&s->sum_us, __ATOMIC_RELAXED) / 1e6;
    return true;
}

uint64_t metrics_dropped(void)
{
    return mh ? __atomic_load_n(&mh->dropped, __ATOMIC_RELAXED) : 0;
}

double metrics_start_time(void)
{
    return mh ? mh->start_time : 0;
}

int metrics_test_lock(void)
{
    return mh ? metrics_lock() : -1;
}
