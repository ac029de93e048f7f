/* engine.c - validation, retries, deadline, wait_for_state (see engine.h). */
#include "autoconfig.h"
#include "engine.h"

#include "clock.h"
#include "config.h"
#include "errors.h"
#include "log.h"
#include "metrics.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SUCCESS_MESSAGE "Method executed successfully"

const struct bmc_backend *engine_backend(enum bmc_protocol protocol)
{
    return protocol == BMC_PROTO_REDFISH ? &redfish_backend : &ipmi_backend;
}

bool engine_backend_available(enum bmc_protocol protocol, char *where,
                              size_t len)
{
    const struct bmc_backend *backend = engine_backend(protocol);

    if (len)
        where[0] = '\0';
    return !backend->available || backend->available(where, len);
}

void engine_result_clear(struct engine_result *out)
{
    json_object_put(out->data);
    out->data = NULL;
}

json_object *engine_result_normalized(const struct engine_result *res)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "success",
                           json_object_new_boolean(res->success));
    json_object_object_add(o, "message", json_object_new_string(res->message));
    json_object_object_add(o, "data",
                           res->data ? json_object_get(res->data)
                                     : json_object_new_object());
    return o;
}

/* The envelope message of a failure: the code's literal, refined where
 * the guide does (doc/architecture.md, "Errors and the envelope"). */
static const char *failure_message(int code, enum bmc_protocol proto,
                                   bool during_validation)
{
    if (code == BMC_ERR_PROTOCOL_ERROR && proto == BMC_PROTO_IPMI)
        return "Protocol Error: Cipher Suite mismatch";
    if (code == BMC_ERR_HTTP_UNAUTHORIZED && !during_validation)
        return "Authentication failed";
    return bmc_err_message(code);
}

static void take_outcome(struct engine_result *out, struct bmc_outcome *o,
                         enum bmc_protocol proto, bool during_validation)
{
    engine_result_clear(out);
    out->code = o->code;
    out->success = o->code == 0 && o->success;
    out->maybe_delivered = o->maybe_delivered;
    if (o->code) {
        snprintf(out->message, sizeof(out->message), "%s",
                 failure_message(o->code, proto, during_validation));
        snprintf(out->details, sizeof(out->details), "%s",
                 o->details[0] ? o->details : out->message);
    } else {
        snprintf(out->message, sizeof(out->message), "%s",
                 o->success || !o->message[0] ? SUCCESS_MESSAGE : o->message);
        out->details[0] = '\0';
        out->data = o->data;
        o->data = NULL;
    }
    outcome_clear(o);
}

/* One attempt: auto-validation (unless the method is validation) and the
 * method itself, both inside DEADLINE. */
static void run_attempt(const struct engine_request *req, double deadline,
                        struct engine_result *out)
{
    const struct bmc_backend *backend = engine_backend(req->conn->protocol);
    struct bmc_call call = {req->conn, deadline, req->request_id, req->params};
    struct bmc_outcome o;

    outcome_init(&o);
    if (!(req->method->flags & METHOD_SKIP_VALIDATE) &&
        !backend->ops_authenticate) {
        backend->validate_connection(&call, &o);
        if (o.code || !o.success) {
            if (!o.code) /* a BMC that answers but refuses the session */
                outcome_fail(&o, BMC_ERR_UNEXPECTED_ERROR, "%s",
                             o.message[0] ? o.message : "validation failed");
            take_outcome(out, &o, req->conn->protocol, true);
            return;
        }
        outcome_clear(&o);
    }
    bmc_op_fn op = methods_op(req->method, backend);
    if (op) /* callers checked (methods_check_supported); kept safe here */
        op(&call, &o);
    else
        outcome_fail(&o, BMC_ERR_INVALID_PARAMETERS,
                     "'%s' is not supported over %s", req->method->name,
                     backend->name);
    take_outcome(out, &o, req->conn->protocol,
                 req->method->flags & METHOD_SKIP_VALIDATE);
}

static void fail_deadline(struct engine_result *out, int attempt)
{
    engine_result_clear(out);
    out->code = BMC_ERR_TIMEOUT;
    out->success = false;
    snprintf(out->message, sizeof(out->message), "%s",
             bmc_err_message(BMC_ERR_TIMEOUT));
    snprintf(out->details, sizeof(out->details),
             "BMC_TIMEOUT (%gs) would pass before attempt %d could start",
             bmc_cfg.timeout, attempt);
}

static void fail_exhausted(struct engine_result *out, int attempts)
{
    char last[sizeof(out->details)];

    snprintf(last, sizeof(last), "%d %.200s: %.700s", out->code, out->message,
             out->details);
    out->code = BMC_ERR_RETRY_EXHAUSTED;
    snprintf(out->message, sizeof(out->message), "%s",
             bmc_err_message(BMC_ERR_RETRY_EXHAUSTED));
    snprintf(out->details, sizeof(out->details),
             "%d attempts failed; last: %.900s", attempts, last);
}

/* A failure after a mutating exchange may have reached the BMC: say so,
 * and that it was not repeated (retry_times applies only before sending). */
static void note_not_repeated(struct engine_result *out, int attempt)
{
    char was[sizeof(out->details)];

    snprintf(was, sizeof(was), "%s", out->details);
    snprintf(out->details, sizeof(out->details),
             "%.700s. The command was sent to the BMC (attempt %d); its "
             "outcome is unknown and it was not repeated",
             was, attempt);
}

static void run_with_retries(const struct engine_request *req, double timeout,
                             struct engine_result *out)
{
    double deadline = clock_now_mono() + timeout;
    double pause = req->delay > bmc_cfg.min_retry_delay_seconds
                       ? req->delay
                       : bmc_cfg.min_retry_delay_seconds;

    for (int attempt = 1; attempt <= req->retry_times; attempt++) {
        if (attempt > 1) {
            if (clock_now_mono() + pause >= deadline) {
                fail_deadline(out, attempt);
                return;
            }
            clock_sleep(pause, deadline);
        }
        out->attempts = attempt;
        run_attempt(req, deadline, out);
        if (out->code && out->maybe_delivered) {
            note_not_repeated(out, attempt);
            log_warn("not_repeated", "method=%s attempt=%d code=%d",
                     req->method->name, attempt, out->code);
            return;
        }
        if (out->code == 0 || !bmc_err_is_transient(out->code))
            return;
        log_info("attempt_failed", "method=%s attempt=%d code=%d",
                 req->method->name, attempt, out->code);
    }
    if (req->retry_times > 1)
        fail_exhausted(out, req->retry_times);
}

/* The state an action leads to: "on", "off", or NULL (any final state). */
static const char *target_state(const char *action)
{
    /* the aliases and every ResetType they map to (redfish_reset.c) */
    static const char *const to_on[] = {"on", "forceon", "poweron", NULL};
    static const char *const to_off[] = {"off",
                                         "soft",
                                         "forceoff",
                                         "gracefulshutdown",
                                         "poweroffgraceful",
                                         "poweroffnongraceful",
                                         NULL};
    for (const char *const *a = to_on; *a; a++)
        if (!strcasecmp(action, *a))
            return "on";
    for (const char *const *a = to_off; *a; a++)
        if (!strcasecmp(action, *a))
            return "off";
    return NULL;
}

static bool is_final(const char *state)
{
    return !strcasecmp(state, "on") || !strcasecmp(state, "off");
}

static const char *action_name(const struct engine_request *req)
{
    json_object *v;
    if (json_object_object_get_ex(req->params, "action_name", &v) &&
        json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return "";
}

/* Poll get_power_state until the action's final state or the budget ends;
 * record power_state, power_state_stable (and power_state_error) in data. */
static void wait_for_state(const struct engine_request *req,
                           struct engine_result *out)
{
    const struct bmc_backend *backend = engine_backend(req->conn->protocol);
    const char *target = target_state(action_name(req));
    double end = clock_now_mono() + req->wait_for_state_seconds;
    char last[64] = "";
    bool stable = false;

    if (!out->data)
        out->data = json_object_new_object();
    for (;;) {
        clock_sleep(bmc_cfg.power_state_poll_interval, end);
        double poll_deadline = clock_now_mono() + bmc_cfg.timeout;
        struct bmc_call call = {
            req->conn, poll_deadline < end + 1 ? poll_deadline : end + 1,
            req->request_id, req->params};
        struct bmc_outcome o;
        json_object *ps;
        outcome_init(&o);
        backend->get_power_state(&call, &o);
        if (o.code || !o.success ||
            !json_object_object_get_ex(o.data, "power_state", &ps)) {
            json_object_object_add(
                out->data, "power_state_error",
                json_object_new_string(o.code ? o.details : o.message));
            outcome_clear(&o);
            break;
        }
        snprintf(last, sizeof(last), "%s", json_object_get_string(ps));
        outcome_clear(&o);
        stable = is_final(last) && (!target || !strcasecmp(last, target));
        if (stable || clock_now_mono() >= end)
            break;
    }
    if (last[0])
        json_object_object_add(out->data, "power_state",
                               json_object_new_string(last));
    json_object_object_add(out->data, "power_state_stable",
                           json_object_new_boolean(stable));
}

void engine_run(const struct engine_request *req, struct engine_result *out)
{
    engine_run_within(req, bmc_cfg.timeout, out);
}

void engine_run_within(const struct engine_request *req, double timeout,
                       struct engine_result *out)
{
    double started = clock_now_mono();

    memset(out, 0, sizeof(*out));
    run_with_retries(req, timeout, out);
    if (out->code == 0 && out->success && req->wait_for_state_seconds > 0 &&
        (req->method->flags & METHOD_POWER_ACTION) &&
        strcasecmp(action_name(req), "status") != 0)
        wait_for_state(req, out);
    /* Hold nothing between calls: a BMC has few sessions, and executor
     * threads end after their job. */
    const struct bmc_backend *backend = engine_backend(req->conn->protocol);
    if (backend->end_call)
        backend->end_call();
    metrics_count_call(req->conn->protocol, req->method->name,
                       clock_now_mono() - started, out->code, out->success);
}
