/* Unit tests for the Prometheus side: the text writer (escapes, numbers,
 * the sample cap), Accept negotiation, and the shared counters with real
 * processes (counts from forked children add up in the parent, a child
 * that dies holding the lock does not wedge them, a full table drops and
 * says so, histogram buckets are cumulative). */
#include "autoconfig.h"
#include "unit.h"
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "prom.h"

static char *render(struct prom_buf *b)
{
    return prom_take(b);
}

START_TEST(label_values_escaped)
{
    struct prom_buf b;
    const char *labels[] = {
        "name", "CPU \"1\"\\temp\nx", "skip", NULL, "type", "t", NULL};

    prom_init(&b, 0);
    prom_family(&b, "m", "gauge", "help with \\ and\nnewline \"quoted\"");
    ck_assert(prom_sample(&b, "m", labels, 1.5));
    char *t = render(&b);
    ck_assert_str_eq(t,
                     "# HELP m help with \\\\ and\\nnewline \"quoted\"\n"
                     "# TYPE m gauge\n"
                     "m{name=\"CPU \\\"1\\\"\\\\temp\\nx\",type=\"t\"} 1.5\n");
    free(t);
}
END_TEST

START_TEST(numbers_as_prometheus_reads_them)
{
    struct prom_buf b;

    prom_init(&b, 0);
    prom_sample(&b, "a", NULL, 0.05);
    prom_sample(&b, "b", NULL, NAN);
    prom_sample(&b, "c", NULL, INFINITY);
    prom_sample(&b, "d", NULL, -INFINITY);
    prom_sample(&b, "e", NULL, 0.1 + 0.2);
    prom_sample_u64(&b, "f", NULL, 18446744073709551615ull);
    prom_sample(&b, "g", NULL, -3);
    char *t = render(&b);
    ck_assert_str_eq(t, "a 0.05\nb NaN\nc +Inf\nd -Inf\n"
                        "e 0.30000000000000004\nf 18446744073709551615\n"
                        "g -3\n");
    free(t);
}
END_TEST

START_TEST(sample_cap)
{
    struct prom_buf b;
    int kept = 0;

    prom_init(&b, 3);
    for (int i = 0; i < 10; i++)
        kept += prom_sample(&b, "x", NULL, i);
    ck_assert_int_eq(kept, 3);
    ck_assert(b.truncated);
    ck_assert_uint_eq(b.samples, 3);
    prom_free(&b);
}
END_TEST

START_TEST(accept_negotiation)
{
    ck_assert(!prom_wants_json(NULL));
    ck_assert(!prom_wants_json(""));
    ck_assert(!prom_wants_json("*/*"));
    ck_assert(prom_wants_json("application/json"));
    ck_assert(prom_wants_json("Application/JSON; charset=utf-8"));
    ck_assert(prom_wants_json("text/plain;q=0.5, application/json"));
    ck_assert(!prom_wants_json("application/json;q=0.5, text/plain"));
    ck_assert(!prom_wants_json("application/json;q=0"));
    ck_assert(!prom_wants_json("application/openmetrics-text;version=1.0.0,"
                               "application/openmetrics-text;version=0.0.1;"
                               "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;"
                               "q=0.1"));
    ck_assert(!prom_wants_json("application/jsonx"));
}
END_TEST

static void setup(void)
{
    char err[128];
    ck_assert_int_eq(metrics_init(err, sizeof(err)), 0);
}

static void teardown(void)
{
    metrics_shutdown();
}

static uint64_t counter_value(enum metrics_family f, const char *l0,
                              const char *l1)
{
    struct metrics_sample s;

    for (size_t i = 0; metrics_read(f, i, &s); i++)
        if (!strcmp(s.label[0], l0) && !strcmp(s.label[1], l1 ? l1 : ""))
            return s.value;
    return 0;
}

START_TEST(children_count_into_the_parent)
{
    enum { KIDS = 8, EACH = 2000 };

    for (int k = 0; k < KIDS; k++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            for (int i = 0; i < EACH; i++) {
                metrics_count_request("/health", 200);
                metrics_count_request(k % 2 ? "/a" : "/b", 404);
            }
            _exit(0);
        }
    }
    for (int k = 0; k < KIDS; k++) {
        int st;
        ck_assert_int_gt(wait(&st), 0);
        ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    ck_assert_uint_eq(counter_value(METRICS_REQUESTS, "/health", "200"),
                      KIDS * EACH);
    ck_assert_uint_eq(counter_value(METRICS_REQUESTS, "/a", "404"),
                      KIDS / 2 * EACH);
    ck_assert_uint_eq(counter_value(METRICS_REQUESTS, "/b", "404"),
                      KIDS / 2 * EACH);
}
END_TEST

START_TEST(histogram_cumulative)
{
    struct metrics_sample s;
    const double obs[] = {0.01, 0.05, 0.07, 0.3, 4, 59, 61, 1000};

    for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
        metrics_count_call(BMC_PROTO_IPMI, "get_power_state", obs[i], 0, true);
    ck_assert(metrics_read(METRICS_CALLS, 0, &s));
    ck_assert_str_eq(s.label[0], "ipmitool");
    ck_assert_str_eq(s.label[1], "get_power_state");
    ck_assert_uint_eq(s.bucket[0], 2);  /* le=0.05: 0.01, 0.05 */
    ck_assert_uint_eq(s.bucket[1], 3);  /* le=0.1 */
    ck_assert_uint_eq(s.bucket[3], 4);  /* le=0.5 */
    ck_assert_uint_eq(s.bucket[6], 5);  /* le=5 */
    ck_assert_uint_eq(s.bucket[10], 6); /* le=60 */
    ck_assert_uint_eq(s.bucket[METRICS_BUCKETS], 8);
    ck_assert_uint_eq(s.value, 8);
    ck_assert(fabs(s.sum - 1124.43) < 1e-3);
    /* a success is no failure and no error */
    ck_assert(!metrics_read(METRICS_CALL_FAILURES, 0, &s));
    metrics_count_call(BMC_PROTO_REDFISH, "list_users", 1, 1002, false);
    metrics_count_call(BMC_PROTO_REDFISH, "list_users", 1, 0, false);
    ck_assert_uint_eq(
        counter_value(METRICS_CALL_FAILURES, "redfish", "list_users"), 2);
    ck_assert_uint_eq(counter_value(METRICS_ERRORS, "1002", NULL), 1);
    ck_assert_uint_eq(counter_value(METRICS_ERRORS, "3001", NULL), 1);
}
END_TEST

START_TEST(full_table_drops_and_counts)
{
    char name[32];

    for (int i = 0; i < METRICS_SERIES_MAX + 10; i++) {
        snprintf(name, sizeof(name), "m%d", i);
        metrics_count_task(name, true);
    }
    ck_assert_uint_eq(metrics_dropped(), 10);
    ck_assert_uint_eq(counter_value(METRICS_TASKS, "m0", "success"), 1);
    /* existing series keep counting */
    metrics_count_task("m0", true);
    ck_assert_uint_eq(counter_value(METRICS_TASKS, "m0", "success"), 2);
}
END_TEST

START_TEST(long_label_values_are_cut_consistently)
{
    char longname[200];

    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    metrics_count_restart(longname);
    metrics_count_restart(longname);
    struct metrics_sample s;
    size_t n = 0;
    for (size_t i = 0; metrics_read(METRICS_RESTARTS, i, &s); i++)
        n += strlen(s.label[0]) == METRICS_LABEL_MAX - 1 ? s.value : 0;
    ck_assert_uint_eq(n, 2);
}
END_TEST

/* A child killed while it holds the lock (adding a series): the next
 * adder recovers and counting goes on. */
START_TEST(lock_holder_dies)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        metrics_test_lock();
        _exit(0); /* dies holding it */
    }
    int st;
    waitpid(pid, &st, 0);
    metrics_count_request("/after", 200);
    ck_assert_uint_eq(counter_value(METRICS_REQUESTS, "/after", "200"), 1);
}
END_TEST

START_TEST(open_without_init)
{
    struct metrics_sample s;

    metrics_shutdown();
    metrics_count_request("/x", 200); /* a no-op, no crash */
    ck_assert(!metrics_read(METRICS_REQUESTS, 0, &s));
    ck_assert_uint_eq(metrics_dropped(), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("prom");
    TCase *fmt = unit_case(s, "format", NULL, NULL, 0);
    TCase *shm = unit_case(s, "metrics", setup, teardown, 60);

    log_set_level(BMC_LOG_ERROR); /* the lock recovery is a WARNING line */
    tcase_add_test(fmt, label_values_escaped);
    tcase_add_test(fmt, numbers_as_prometheus_reads_them);
    tcase_add_test(fmt, sample_cap);
    tcase_add_test(fmt, accept_negotiation);
    tcase_add_test(shm, children_count_into_the_parent);
    tcase_add_test(shm, histogram_cumulative);
    tcase_add_test(shm, full_table_drops_and_counts);
    tcase_add_test(shm, long_label_values_are_cut_consistently);
    tcase_add_test(shm, lock_holder_dies);
    tcase_add_test(shm, open_without_init);
    return unit_run(s);
}
