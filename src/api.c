/* api.c - endpoint handlers (see api.h). */
#include "autoconfig.h"
#include "api.h"
#include "auth.h"
#include "bulk.h"
#include "webhook.h"
#include "bulk.h"

#include "clock.h"
#include "config.h"
#include "engine.h"
#include "errors.h"
#include "executor.h"
#include "gate.h"
#include "jsonutil.h"
#include "log.h"
#include "methods.h"
#include "proctable.h"
#include "request.h"
#include "response.h"
#include "taskrun.h"
#include "taskstore.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct taskstore *api_store;
static bool api_draining;

/* A sync call needs this much more than BMC_TIMEOUT + its wait phase to
 * answer (task bookkeeping, the last poll, writing the answer). */
#define STALE_MARGIN_S 2.0

void api_set_store(struct taskstore *store)
{
    api_store = store;
}

void api_set_draining(void)
{
    api_draining = true;
}

bool api_is_draining(void)
{
    return api_draining;
}

struct taskstore *api_get_store(void)
{
    return api_store;
}

static json_object *health_config_build(void)
{
    json_object *c = json_object_new_object();

    json_object_object_add(c, "max_workers",
                           json_object_new_int(bmc_cfg.max_workers));
    json_object_object_add(c, "timeout", json_new_number(bmc_cfg.timeout));
    json_object_object_add(
        c, "log_level",
        json_object_new_string(config_log_level_name(bmc_cfg.log_level)));
    json_object_object_add(c, "enable_cors",
                           json_object_new_boolean(bmc_cfg.enable_cors));
    json_object_object_add(c, "min_retry_delay_seconds",
                           json_new_number(bmc_cfg.min_retry_delay_seconds));
    json_object_object_add(c, "max_tasks",
                           json_object_new_int64(bmc_cfg.max_tasks));
    json_object_object_add(c, "task_retention_days",
                           json_object_new_int(bmc_cfg.task_retention_days));
    json_object_object_add(c, "redfish_request_timeout",
                           json_new_number(bmc_cfg.redfish_request_timeout));
    json_object_object_add(c, "power_state_poll_interval_seconds",
                           json_new_number(bmc_cfg.power_state_poll_interval));
    json_object_object_add(
        c, "max_wait_for_state_seconds",
        json_new_number(bmc_cfg.max_wait_for_state_seconds));
    /* ours, after the guide's ten */
    json_object_object_add(c, "light_workers",
                           json_object_new_int(bmc_cfg.light_workers));
    json_object_object_add(c, "worker_max_requests",
                           json_object_new_int64(bmc_cfg.worker_max_requests));
    json_object_object_add(c, "node_id", json_object_new_int(bmc_cfg.node_id));
    json_object_object_add(c, "callbacks", webhook_health());
    return c;
}

/* The configuration is fixed for the process's life: built and serialised
 * once per worker, then shared by data.config and the root's mirror, each
 * of which copies the text instead of serialising it again (issue 24). */
static json_object *health_config(void)
{
    static json_object *config;

    if (!config) {
        config = health_config_build();
        char *text = strdup(json_compact(config));
        if (text)
            json_object_set_serializer(config,
                                       json_object_userdata_to_json_string,
                                       text, json_object_free_userdata);
    }
    return json_object_get(config);
}

/* The per-BMC gate now: its limit, exchanges in flight, callers waiting. */
static json_object *gate_json(void)
{
    struct gate_stats gs;
    json_object *g = json_object_new_object();

    gate_stats(&gs);
    json_object_object_add(g, "max_per_bmc",
                           json_object_new_int(bmc_cfg.max_per_bmc));
    json_object_object_add(g, "slots_in_use",
                           json_object_new_int64(gs.slots_in_use));
    json_object_object_add(g, "waiting", json_object_new_int64(gs.waiting));
    json_object_object_add(g, "bmcs_busy",
                           json_object_new_int64(gs.bmcs_busy));
    return g;
}

/* Whether ipmitool is there, looked up at most every 10 s per process:
 * the PATH walk cost /health more than the rest of its work. */
static bool ipmitool_found(char *path, size_t len)
{
    static char cached[512];
    static bool found;
    static double checked_at = -1e9;

    if (clock_now_mono() - checked_at > 10.0) {
        found =
            engine_backend_available(BMC_PROTO_IPMI, cached, sizeof(cached));
        checked_at = clock_now_mono();
    }
    snprintf(path, len, "%s", cached);
    return found;
}

/* What protects the service (DESIGN.md "Security"), said plainly:
 * BMC_AUTH=none means anyone who reaches the port may act on every BMC
 * the target policy allows. */
static json_object *health_security(void)
{
    json_object *s = json_object_new_object();
    const char *tls = bmc_cfg.redfish_pin_tls      ? "pin"
                      : bmc_cfg.redfish_verify_tls ? "true"
                                                   : "false";

    json_object_object_add(
        s, "auth", json_object_new_string(auth_enabled() ? "token" : "none"));
    json_object_object_add(s, "auth_health",
                           json_object_new_boolean(bmc_cfg.auth_health));
    json_object_object_add(
        s, "host_check",
        json_object_new_boolean(strcmp(bmc_cfg.server_names, "*") != 0));
    json_object_object_add(s, "allowed_targets",
                           json_object_new_string(bmc_cfg.allowed_targets[0]
                                                      ? bmc_cfg.allowed_targets
                                                      : "all"));
    json_object_object_add(s, "denied_targets",
                           json_object_new_string(bmc_cfg.denied_targets));
    json_object_object_add(s, "redfish_verify_tls",
                           json_object_new_string(tls));
    json_object_object_add(
        s, "credentials_file",
        json_object_new_boolean(bmc_cfg.credentials_file[0] != '\0'));
    return s;
}

/* Our keys after the guide's: what the BMC tools and the store look like. */
static void health_own_keys(json_object *d, const struct taskstore_stats *st)
{
    char path[512];
    json_object *ipmi = json_object_new_object(),
                *store = json_object_new_object();
    bool found = ipmitool_found(path, sizeof(path));

    json_object_object_add(ipmi, "available", json_object_new_boolean(found));
    json_object_object_add(ipmi, "path",
                           found ? json_object_new_string(path)
                                 : json_object_new_null());
    if (!found)
        json_object_object_add(
            ipmi, "message",
            json_object_new_string("ipmitool is not installed"));
    json_object_object_add(d, "ipmitool", ipmi);
    json_object_object_add(store, "tasks", json_object_new_int64(st->tasks));
    json_object_object_add(store, "queued", json_object_new_int64(st->queued));
    json_object_object_add(store, "file_bytes",
                           json_object_new_int64(st->file_bytes));
    json_object_object_add(store, "max_bytes",
                           json_object_new_int64(st->max_bytes));
    json_object_object_add(d, "task_store", store);
    json_object_object_add(d, "bmc_gate", gate_json());
    json_object_object_add(
        d, "auth", json_object_new_string(auth_enabled() ? "token" : "none"));
    json_object_object_add(d, "security", health_security());
}

static void health_data(json_object *d, long active_tasks, bool healthy)
{
    json_object *pool = json_object_new_object();

    json_object_object_add(d, "status",
                           json_object_new_string(api_draining ? "draining"
                                                  : healthy    ? "healthy"
                                                               : "degraded"));
    json_object_object_add(d, "service",
                           json_object_new_string("bmc_service"));
    json_object_object_add(d, "version",
                           json_object_new_string(PACKAGE_VERSION));
    json_object_object_add(pool, "max_workers",
                           json_object_new_int(bmc_cfg.max_workers));
    json_object_object_add(pool, "active_tasks",
                           json_object_new_int64(active_tasks));
    json_object_object_add(d, "thread_pool", pool);
    json_object_object_add(d, "config", health_config());
}

static void add_reason(json_object *reasons, const char *component,
                       const char *reason)
{
    json_object *r = json_object_new_object();

    json_object_object_add(r, "component", json_object_new_string(component));
    json_object_object_add(r, "reason", json_object_new_string(reason));
    json_object_array_add(reasons, r);
}

/* Why the service is degraded: an array of {component, reason}, empty when
 * healthy; *PROCS: the processes seen (empty outside a running service).
 * A child a running master is about to bring back (a recycled worker, a
 * crash it will reap) is not a reason; the executor, or every BMC worker,
 * missing while the master is stopped, or for longer than the respawn
 * grace, is. While draining, missing workers are expected: no reason. */
static json_object *health_degraded_reasons(bool store_ok, json_object **procs)
{
    struct proctable_report pr;
    json_object *reasons = json_object_new_array();

    *procs = json_object_new_object();

    if (!store_ok)
        add_reason(reasons, "task_store", "The task store cannot be read");
    proctable_check(&pr);
    if (pr.known && !pr.draining && !pr.executor_alive &&
        !pr.executor_returning)
        add_reason(reasons, "executor",
                   pr.master_running
                       ? "The executor is not running and was not restarted"
                       : "The executor is not running and the master, "
                         "stopped, cannot restart it: async tasks do not run");
    if (pr.known && !pr.draining && pr.bmc_workers_alive == 0 &&
        pr.bmc_workers_returning == 0)
        add_reason(reasons, "bmc_workers",
                   "no BMC worker is alive: sync BMC calls cannot be served");
    if (pr.known) {
        json_object_object_add(*procs, "master_running",
                               json_object_new_boolean(pr.master_running));
        json_object_object_add(*procs, "executor_alive",
                               json_object_new_boolean(pr.executor_alive));
        json_object_object_add(*procs, "bmc_workers_alive",
                               json_object_new_int(pr.bmc_workers_alive));
        json_object_object_add(*procs, "light_workers_alive",
                               json_object_new_int(pr.light_workers_alive));
    }
    return reasons;
}

/* The guide's "Health Check" example reads these at the root. */
static void mirror_keys(json_object *env, json_object *data,
                        const char *const *keys)
{
    json_object *v;

    for (; *keys; keys++)
        if (json_object_object_get_ex(data, *keys, &v))
            json_object_object_add(env, *keys, json_object_get(v));
}

void api_health(const struct http_request *req, struct http_response *resp)
{
    static const char *const mirrored[] = {"status",      "service", "version",
                                           "thread_pool", "config",  NULL};
    struct taskstore_stats st = {0};
    bool store_ok = api_store && taskstore_stats(api_store, &st) == TS_OK;
    (void)req;
    json_object *data = json_object_new_object(), *procs;
    json_object *reasons = health_degraded_reasons(store_ok, &procs);
    bool healthy = json_object_array_length(reasons) == 0;
    health_data(data, st.running, healthy);
    health_own_keys(data, &st);
    json_object_object_add(data, "processes", procs);
    json_object_object_add(data, "degraded", reasons);
    bool up = healthy && !api_draining;
    json_object *env = response_success(resp, up ? 200 : 503,
                                        api_draining ? "Service shutting down"
                                        : healthy    ? "Service healthy"
                                                     : "Service degraded",
                                        "health_check", data);
    if (!up) {
        json_object_object_add(env, "success", json_object_new_boolean(0));
        resp->retry_after = 5;
    }
    mirror_keys(env, data, mirrored);
}

/* The gate's counters in /metrics (names prefixed gate_). */
static void api_metrics_gate(json_object *data)
{
    struct gate_stats gs;

    gate_stats(&gs);
    json_object_object_add(data, "gate_max_per_bmc",
                           json_object_new_int(bmc_cfg.max_per_bmc));
    json_object_object_add(data, "gate_slots_in_use",
                           json_object_new_int64(gs.slots_in_use));
    json_object_object_add(data, "gate_waiting",
                           json_object_new_int64(gs.waiting));
    json_object_object_add(data, "gate_bmcs_busy",
                           json_object_new_int64(gs.bmcs_busy));
    json_object_object_add(data, "gate_waits_total",
                           json_object_new_int64((int64_t)gs.waits_total));
    json_object_object_add(data, "gate_timeouts_total",
                           json_object_new_int64((int64_t)gs.timeouts_total));
    json_object_object_add(data, "gate_reclaimed_total",
                           json_object_new_int64((int64_t)gs.reclaimed_total));
    json_object_object_add(data, "gate_bypassed_total",
                           json_object_new_int64((int64_t)gs.bypassed_total));
}

void api_metrics(const struct http_request *req, struct http_response *resp)
{
    struct taskstore_stats st = {0};
    json_object *data = json_object_new_object();
    (void)req;

    if (api_store)
        taskstore_stats(api_store, &st);
    json_object_object_add(data, "max_workers",
                           json_object_new_int(bmc_cfg.max_workers));
    json_object_object_add(data, "light_workers",
                           json_object_new_int(bmc_cfg.light_workers));
    json_object_object_add(data, "tasks_stored",
                           json_object_new_int64(st.tasks));
    json_object_object_add(data, "tasks_running",
                           json_object_new_int64(st.running));
    json_object_object_add(data, "tasks_queued",
                           json_object_new_int64(st.queued));
    json_object_object_add(data, "store_file_bytes",
                           json_object_new_int64(st.file_bytes));
    json_object_object_add(data, "store_max_bytes",
                           json_object_new_int64(st.max_bytes));
    api_metrics_gate(data);
    response_success(resp, 200, "Metrics retrieved", "metrics", data);
}

/* ---- GET /tasks/{id} ---------------------------------------------------- */

void api_task_lookup_failed(struct http_response *resp, int rc,
                            const char *method)
{
    int days = bmc_cfg.task_retention_days;

    if (rc == TS_EXPIRED)
        response_error_msg(resp, BMC_ERR_TASK_NOT_FOUND, "Task expired",
                           method, NULL, "");
    else if (rc == TS_NOT_FOUND)
        response_error_msg(resp, BMC_ERR_TASK_NOT_FOUND, "Task not found",
                           method, NULL, "");
    else {
        response_error(resp, BMC_ERR_SERVICE_UNAVAILABLE, method, NULL, "%s",
                       taskstore_rc_message(rc));
        return;
    }
    char details[128];
    snprintf(details, sizeof(details), "%s. Tasks are kept for %d day%s.",
             rc == TS_EXPIRED ? "Task expired" : "Task not found", days,
             days == 1 ? "" : "s");
    json_object_object_add(resp->body, "details",
                           json_object_new_string(details));
}

/* The GET /tasks/{id} envelope of TASK (taken) in RESP. */
static void task_envelope(struct http_response *resp, json_object *task,
                          const char *id)
{
    static const char *const mirrored[] = {"status",
                                           "ip",
                                           "result",
                                           "error_code",
                                           "error_message",
                                           "details",
                                           "submitted_at",
                                           "started_at",
                                           "completed_at",
                                           "duration",
                                           "parent",
                                           "progress",
                                           NULL};
    json_object *env = response_success(resp, 200, "Task status retrieved",
                                        "get_task_status", task);
    json_object_object_add(env, "task_id", json_object_new_string(id));
    mirror_keys(env, task, mirrored);
}

char *api_task_document(struct taskstore *store, const char *id)
{
    struct http_response resp;
    json_object *task = NULL;
    char *text = NULL;

    if (taskstore_get(store, id, &task) != TS_OK)
        return NULL;
    http_response_init(&resp);
    task_envelope(&resp, task, id);
    text = strdup(json_compact(resp.body));
    http_response_clear(&resp);
    return text;
}

void api_task_status(const struct http_request *req,
                     struct http_response *resp)
{
    char id[TASK_ID_LEN + 2];
    json_object *task = NULL;

    /* UUIDs compare case-insensitively (RFC 9562): lower-case it */
    snprintf(id, sizeof(id), "%s", req->path + strlen("/tasks/"));
    for (char *p = id; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    int rc = api_store ? taskstore_get(api_store, id, &task) : TS_ERROR;

    if (rc != TS_OK) {
        api_task_lookup_failed(resp, rc, "get_task_status");
        return;
    }
    if (json_object_object_get_ex(task, "progress", NULL) &&
        bulk_children_page(req, id, task, resp) != 0) {
        json_object_put(task);
        return;
    }
    task_envelope(resp, task, id);
}

/* ---- BMC endpoints ------------------------------------------------------ */

/* Validate the body of a BMC endpoint taking FIELDS; answers the error
 * itself and returns non-zero when the body is not acceptable. */
static int parse_body(const struct http_request *req,
                      struct http_response *resp, unsigned fields,
                      const char *method, struct api_request *out)
{
    char details[256];
    int rc = request_parse(req->body, req->body_len, fields, out, details,
                           sizeof(details));
    if (rc)
        response_error(resp, rc, method, NULL, "%s", details);
    return rc;
}

/* Which method a body names: /execute's `method` + `params`, or the
 * convenience endpoint's fixed method (with `action` as action_name, or its
 * declared parameters taken from the body), and whether the BMC's protocol
 * has it. */
/* BMC_AUTH=token: the caller's role against the method's, before its
 * parameters are looked at (a viewer learns nothing from a 2002). */
static int check_role(const struct http_request *req, const char *name,
                      const struct api_request *areq,
                      struct http_response *resp)
{
    char details[256];
    const struct method_def *want = methods_find(name);
    int rc = want
                 ? auth_require(req->who, want->role, details, sizeof(details))
                 : 0;
    if (rc) {
        response_error(resp, rc, name, NULL, "%s", details);
        auth_audit(areq->requested_by, want, &areq->conn, NULL, rc, false);
    }
    return rc;
}

static int resolve(const struct http_request *req, struct api_request *areq,
                   const char *fixed, struct http_response *resp,
                   const struct method_def **m)
{
    char details[256];
    const struct method_def *named = fixed ? methods_find(fixed) : NULL;

    if (check_role(req, fixed ? fixed : areq->method, areq, resp))
        return BMC_ERR_FORBIDDEN;

    if (fixed && !strcmp(fixed, "run_action"))
        json_object_object_add(areq->params, "action_name",
                               json_object_new_string(areq->action));
    else if (named)
        methods_params_from_body(named, areq->body, areq->params);
    const char *name = fixed ? fixed : areq->method;
    int rc = methods_resolve(name, areq->params, m, details, sizeof(details));
    if (!rc)
        rc = methods_check_supported(*m, engine_backend(areq->conn.protocol),
                                     details, sizeof(details));
    if (rc)
        response_error(resp, rc, name, NULL, "%s", details);
    return rc;
}

static void answer_result(struct http_response *resp, const char *method,
                          const char *task_id, struct engine_result *res)
{
    if (res->code) {
        response_error_msg(resp, res->code, res->message, method, task_id,
                           res->details);
        return;
    }
    json_object *env =
        response_success(resp, 200, res->message, method,
                         res->data ? res->data : json_object_new_object());
    res->data = NULL;
    if (!res->success)
        json_object_object_add(env, "success", json_object_new_boolean(0));
    json_object_object_add(env, "task_id", json_object_new_string(task_id));
}

static void run_sync(struct api_request *areq, const struct method_def *m,
                     const char *request_id, struct http_response *resp)
{
    char id[TASK_ID_LEN + 1];
    struct engine_result res;
    enum ts_rc rc =
        api_store ? taskrun_create(api_store, m->name, &areq->conn, request_id,
                                   areq->requested_by, NULL, TASK_RUNNING, id)
                  : TS_ERROR;
    if (rc != TS_OK) {
        response_error(resp, BMC_ERR_SERVICE_UNAVAILABLE, m->name, NULL, "%s",
                       taskstore_rc_message(rc));
        return;
    }
    taskrun_run(api_store, id, m, areq, request_id, &res);
    answer_result(resp, m->name, id, &res);
    engine_result_clear(&res);
}

/* The executor did not take task ID: withdraw it (queued -> failed "not
 * started"). TS_OK: withdrawn, the BMC will never see it; TS_NOT_FOUND: the
 * executor took it after all. */
static int withdraw(const char *id, const char *why)
{
    char details[320];
    int rc;

    snprintf(details, sizeof(details), "Not started: %.280s", why);
    rc = taskstore_abandon(api_store, id, getpid(), details);
    for (int tries = 0; rc == TS_BUSY && tries < 5; tries++)
        rc = taskstore_abandon(api_store, id, getpid(), details);
    return rc;
}

/* The async hand-off, a two-party commit on the task record (DESIGN.md "At
 * most once"): the task exists QUEUED under this worker before the
 * executor hears of it; a 503 is answered only once the task is withdrawn,
 * so the command can never run after a refusal. */
static void run_async(struct api_request *areq, const struct method_def *m,
                      const char *request_id, struct http_response *resp)
{
    char id[TASK_ID_LEN + 1], details[256];
    int rc = api_store ? taskrun_create(api_store, m->name, &areq->conn,
                                        request_id, areq->requested_by,
                                        areq->callback_url, TASK_QUEUED, id)
                       : TS_ERROR;
    if (rc != TS_OK) {
        response_error(resp, BMC_ERR_SERVICE_UNAVAILABLE, m->name, NULL, "%s",
                       taskstore_rc_message(rc));
        return;
    }
    rc = executor_submit(areq, m->name, request_id, id, details,
                         sizeof(details));
    if (rc) {
        int w = withdraw(id, details);
        log_warn("async_not_taken", "task=%s code=%d withdrawn=%d", id, rc,
                 w == TS_OK);
        if (w == TS_OK) {
            response_error(resp, rc, m->name, NULL, "%s (not started)",
                           details);
            return;
        }
        /* The executor took it (or the store cannot say): the task is
         * real and its record tells how it ends. */
    }
    json_object *env = response_success(
        resp, 202, "Task started in background", m->name, NULL);
    json_object_object_add(env, "task_id", json_object_new_string(id));
}

/* A sync call picked up so late that it could not finish before nginx
 * stops waiting (requests wait in the socket backlog while every BMC
 * worker is busy): refused unstarted rather than run after the client was
 * told it failed. */
static bool too_late(const struct http_request *req,
                     const struct api_request *areq)
{
    if (req->arrived <= 0)
        return false;
    double waited = clock_now_real() - req->arrived;
    double need =
        bmc_cfg.timeout + areq->wait_for_state_seconds + STALE_MARGIN_S;
    return waited + need > config_nginx_read_timeout();
}

static void bmc_endpoint(const struct http_request *req,
                         struct http_response *resp, unsigned fields,
                         const char *fixed, bool async)
{
    struct api_request areq;
    const struct method_def *m;

    if (api_draining) {
        response_error(resp, BMC_ERR_SERVICE_UNAVAILABLE, fixed, NULL,
                       "The service is shutting down; the request was not "
                       "started");
        return;
    }
    if (parse_body(req, resp, fields | (async ? REQ_CALLBACK : 0), fixed,
                   &areq))
        return;
    snprintf(areq.requested_by, sizeof(areq.requested_by), "%s",
             req->who ? auth_token_name(req->who) : "");
    if (!async && too_late(req, &areq)) {
        double waited = clock_now_real() - req->arrived;
        log_warn("stale_request", "waited=%.1f", waited);
        response_error(resp, BMC_ERR_SERVICE_UNAVAILABLE, fixed, NULL,
                       "Every BMC worker was busy for %.0f s: the call could "
                       "no longer finish in time and was not started",
                       waited);
    } else if (resolve(req, &areq, fixed, resp, &m) == 0) {
        if (async)
            run_async(&areq, m, req->request_id, resp);
        else
            run_sync(&areq, m, req->request_id, resp);
        methods_params_wipe(m, areq.params);
    }
    request_free(&areq);
}

#define RETRY_FIELDS   (REQ_DELAY | REQ_RETRY | REQ_WAIT)
#define EXECUTE_FIELDS (REQ_METHOD | REQ_PARAMS | REQ_DELAY | REQ_RETRY)
#define ACTION_FIELDS  (REQ_ACTION | RETRY_FIELDS)

void api_execute(const struct http_request *req, struct http_response *resp)
{
    bmc_endpoint(req, resp, EXECUTE_FIELDS, NULL, false);
}

void api_execute_async(const struct http_request *req,
                       struct http_response *resp)
{
    bmc_endpoint(req, resp, EXECUTE_FIELDS, NULL, true);
}

void api_method_endpoint(const struct http_request *req,
                         struct http_response *resp,
                         const struct method_def *method)
{
    bmc_endpoint(req, resp, 0, method->name, false);
}

void api_action(const struct http_request *req, struct http_response *resp)
{
    bmc_endpoint(req, resp, ACTION_FIELDS, "run_action", false);
}

void api_action_async(const struct http_request *req,
                      struct http_response *resp)
{
    bmc_endpoint(req, resp, ACTION_FIELDS, "run_action", true);
}
