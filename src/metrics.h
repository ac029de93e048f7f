/* metrics.h - the service's own counters behind /metrics (DESIGN.md
 * "Prometheus"): requests by endpoint and HTTP status, tasks by method and
 * status, BMC call latency by protocol and method (a histogram), BMC call
 * failures, errors by code, worker restarts by pool.
 *
 * Shared state: one anonymous MAP_SHARED mapping made by the master before
 * it forks (metrics_init, like the gate's), inherited by every worker and
 * the executor at the same address, so every process counts into, and
 * /metrics reads, the same totals, and a worker that is recycled or dies
 * takes nothing with it. A restart of the whole service starts from zero
 * (Prometheus counters may reset; `bmc_manager_start_time_seconds` says
 * when).
 *
 * Layout: a header (process-shared robust mutex, start time, dropped
 * count) and one table of series per family. A series is found without
 * the lock (the tables only grow; `used` is published with release order
 * after the new series is fully written) and counted with relaxed atomic
 * adds; the mutex is taken only to add a series, so a process that dies
 * holding it leaves at worst an unpublished slot the next writer reuses.
 * Label values come from bounded sets (route table, method registry, codes,
 * pools): a full table drops the new series and counts it
 * (bmc_manager_metrics_series_dropped_total) rather than grow.
 *
 * Without metrics_init (tools, unit tests of other modules) every count is
 * a no-op and reads find nothing.
 * Owns: the mapping (metrics_shutdown unmaps it, tests only). */
#ifndef BMC_METRICS_H
#define BMC_METRICS_H

#include "backend.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum metrics_family {
    METRICS_REQUESTS,      /* requests_total{endpoint,status} */
    METRICS_TASKS,         /* tasks_total{method,status} */
    METRICS_CALLS,         /* bmc_call_duration_seconds{protocol,method} */
    METRICS_CALL_FAILURES, /* bmc_call_failures_total{protocol,method} */
    METRICS_ERRORS,        /* bmc_errors_total{code} */
    METRICS_RESTARTS,      /* worker_restarts_total{pool} */
    METRICS_PROBES,        /* probes_total{module,result} */
    METRICS_FAMILIES
};

#define METRICS_LABELS     2   /* label values per series, at most */
#define METRICS_LABEL_MAX  64  /* bytes of a label value, NUL included */
#define METRICS_SERIES_MAX 512 /* series per family */
#define METRICS_BUCKETS    11  /* histogram upper bounds, +Inf apart */

/* The histogram's upper bounds in seconds, for BMC latencies: 50 ms (a
 * Redfish GET on a quick BMC) to 60 s (a slow reset or a BMC_TIMEOUT). */
extern const double metrics_bucket_bounds[METRICS_BUCKETS];

/* One series as read by metrics_read. */
struct metrics_sample {
    char label[METRICS_LABELS][METRICS_LABEL_MAX];
    uint64_t value; /* a counter's value; a histogram's count */
    double sum;     /* a histogram's sum of observations, seconds */
    /* cumulative counts per bound; [METRICS_BUCKETS] is +Inf (= value) */
    uint64_t bucket[METRICS_BUCKETS + 1];
};

/* Master, before any fork: map the counters. 0, or -1 with ERR filled. */
int metrics_init(char *err, size_t errlen);

/* Unmap the counters (tests; never while another process uses them). */
void metrics_shutdown(void);

/* Add N to the counter FAMILY{L0,L1} (L1 NULL for one-label families). */
void metrics_add(enum metrics_family family, const char *l0, const char *l1,
                 uint64_t n);

/* Observe SECONDS in the histogram FAMILY{L0,L1}. */
void metrics_observe(enum metrics_family family, const char *l0,
                     const char *l1, double seconds);

/* One request answered: ENDPOINT is the route ("/tasks/{id}", or
 * "unmatched"), STATUS the HTTP status. */
void metrics_count_request(const char *endpoint, int status);

/* One task ended (sync or async), SUCCESS or failed. */
void metrics_count_task(const char *method, bool success);

/* One engine call of METHOD over PROTOCOL took SECONDS and ended with CODE
 * (0: the method ran) and SUCCESS (what the BMC did). */
void metrics_count_call(enum bmc_protocol protocol, const char *method,
                        double seconds, int code, bool success);

/* A child of POOL ("bmc", "light", "executor") ended and is replaced. */
void metrics_count_restart(const char *pool);

/* Copy series I of FAMILY into OUT: false when there is no series I. */
bool metrics_read(enum metrics_family family, size_t i,
                  struct metrics_sample *out);

/* Series refused because their family's table was full. */
uint64_t metrics_dropped(void);

/* When the master mapped the counters (Unix seconds; 0 without init). */
double metrics_start_time(void);

/* Tests only: take the counters' lock and keep it (a holder that dies). */
int metrics_test_lock(void);

#endif
