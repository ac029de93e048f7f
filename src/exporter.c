/* exporter.c - /metrics in the Prometheus text format (see exporter.h). */
#include "autoconfig.h"
#include "exporter.h"

#include "api.h"
#include "config.h"
#include "errors.h"
#include "gate.h"
#include "metrics.h"
#include "response.h"
#include "taskstore.h"

#include <stdio.h>

#define P "bmc_manager_"

/* How one shared family is written: its name, type, help, label names. */
struct family_desc {
    enum metrics_family family;
    const char *name, *type, *help;
    const char *label[METRICS_LABELS]; /* NULL: no second label */
};

static const struct family_desc families[] = {
    {METRICS_REQUESTS,
     P "requests_total",
     "counter",
     "HTTP requests answered, by endpoint (route) and HTTP status.",
     {"endpoint", "status"}},
    {METRICS_TASKS,
     P "tasks_total",
     "counter",
     "Tasks (sync and async) that ended, by method and status.",
     {"method", "status"}},
    {METRICS_CALLS,
     P "bmc_call_duration_seconds",
     "histogram",
     "Duration of method calls on BMCs (validation, attempts and the "
     "wait_for_state phase), by protocol and method.",
     {"protocol", "method"}},
    {METRICS_CALL_FAILURES,
     P "bmc_call_failures_total",
     "counter",
     "Method calls on BMCs that failed or that the BMC refused, by protocol "
     "and method.",
     {"protocol", "method"}},
    {METRICS_ERRORS,
     P "bmc_errors_total",
     "counter",
     "Failed method calls on BMCs by error code (3001 for a BMC's refusal).",
     {"code", NULL}},
    {METRICS_RESTARTS,
     P "worker_restarts_total",
     "counter",
     "Children replaced by the master (recycled or died), by pool.",
     {"pool", NULL}},
    {METRICS_PROBES,
     P "probes_total",
     "counter",
     "GET /probe answers, by module and result (collected, cached, shared, "
     "failed, refused).",
     {"module", "result"}},
};

static void write_histogram(struct prom_buf *b, const struct family_desc *d,
                            const struct metrics_sample *s)
{
    char name[128], le[32];
    const char *labels[] = {d->label[0], s->label[0], d->label[1], s->label[1],
                            "le",        le,          NULL};

    snprintf(name, sizeof(name), "%s_bucket", d->name);
    for (int i = 0; i <= METRICS_BUCKETS; i++) {
        if (i < METRICS_BUCKETS)
            prom_format_double(le, sizeof(le), metrics_bucket_bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        prom_sample_u64(b, name, labels, s->bucket[i]);
    }
    labels[4] = NULL;
    snprintf(name, sizeof(name), "%s_sum", d->name);
    prom_sample(b, name, labels, s->sum);
    snprintf(name, sizeof(name), "%s_count", d->name);
    prom_sample_u64(b, name, labels, s->value);
}

static void write_family(struct prom_buf *b, const struct family_desc *d)
{
    struct metrics_sample s;

    prom_family(b, d->name, d->type, d->help);
    for (size_t i = 0; metrics_read(d->family, i, &s); i++) {
        const char *labels[] = {d->label[0], s.label[0], d->label[1],
                                s.label[1], NULL};
        if (!d->label[1])
            labels[2] = NULL;
        if (d->family == METRICS_CALLS)
            write_histogram(b, d, &s);
        else
            prom_sample_u64(b, d->name, labels, s.value);
    }
}

static void gauge(struct prom_buf *b, const char *name, const char *help,
                  double v)
{
    prom_family(b, name, "gauge", help);
    prom_sample(b, name, NULL, v);
}

static void counter(struct prom_buf *b, const char *name, const char *help,
                    uint64_t v)
{
    prom_family(b, name, "counter", help);
    prom_sample_u64(b, name, NULL, v);
}

static void write_store(struct prom_buf *b, struct taskstore *store)
{
    struct taskstore_stats st;

    if (!store || taskstore_stats(store, &st) != TS_OK)
        return;
    gauge(b, P "tasks_running", "Tasks running now (sync and async).",
          (double)st.running);
    gauge(b, P "tasks_queued", "Async tasks waiting for an executor thread.",
          (double)st.queued);
    gauge(b, P "tasks_stored", "Tasks kept in the task store.",
          (double)st.tasks);
    gauge(b, P "store_bytes", "Size of the task store file.",
          (double)st.file_bytes);
    gauge(b, P "store_max_bytes",
          "Largest size of the task store file (BMC_STORE_MAX_BYTES).",
          (double)st.max_bytes);
}

static void write_gate(struct prom_buf *b)
{
    struct gate_stats gs;

    gate_stats(&gs);
    gauge(b, P "gate_max_per_bmc",
          "Exchanges allowed at once per BMC (BMC_MAX_PER_BMC).",
          bmc_cfg.max_per_bmc);
    gauge(b, P "gate_slots_in_use", "BMC exchanges in flight now.",
          (double)gs.slots_in_use);
    gauge(b, P "gate_waiting", "Callers waiting for a slot on their BMC.",
          (double)gs.waiting);
    gauge(b, P "gate_bmcs_busy", "BMCs with an exchange in flight or waiting.",
          (double)gs.bmcs_busy);
    counter(b, P "gate_waits_total", "Callers that had to wait for a slot.",
            gs.waits_total);
    counter(b, P "gate_timeouts_total",
            "Callers whose deadline passed while waiting for a slot.",
            gs.timeouts_total);
    counter(b, P "gate_reclaimed_total", "Slots of dead processes given back.",
            gs.reclaimed_total);
    counter(b, P "gate_bypassed_total",
            "Exchanges let through ungated because the gate's table was full.",
            gs.bypassed_total);
}

static void write_process(struct prom_buf *b)
{
    const char *v[] = {"version", PACKAGE_VERSION, NULL};
    const char *bmc[] = {"pool", "bmc", NULL},
               *light[] = {"pool", "light", NULL};

    prom_family(b, P "build_info", "gauge", "The running version (always 1).");
    prom_sample(b, P "build_info", v, 1);
    gauge(b, P "start_time_seconds",
          "When the service started (Unix time): counters count from here.",
          metrics_start_time());
    prom_family(b, P "workers", "gauge", "Worker processes per pool.");
    prom_sample(b, P "workers", bmc, bmc_cfg.max_workers);
    prom_sample(b, P "workers", light, bmc_cfg.light_workers);
    counter(b, P "metrics_series_dropped_total",
            "Series not counted because their family's table was full.",
            metrics_dropped());
}

void exporter_write(struct prom_buf *b, struct taskstore *store)
{
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
        write_family(b, &families[i]);
    write_store(b, store);
    write_gate(b);
    write_process(b);
}

void exporter_metrics(const struct http_request *req,
                      struct http_response *resp)
{
    struct prom_buf b;

    if (prom_wants_json(req->accept)) {
        api_metrics(req, resp);
        return;
    }
    prom_init(&b, 0);
    exporter_write(&b, api_get_store());
    if (b.failed) {
        prom_free(&b);
        response_error(resp, BMC_ERR_SERVICE_UNAVAILABLE, "metrics", NULL,
                       "the metrics did not fit in memory");
        return;
    }
    response_text(resp, 200, PROM_CONTENT_TYPE, prom_take(&b));
}
