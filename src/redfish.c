/* redfish.c - the Redfish backend operations (see redfish.h). */
#include "autoconfig.h"
#include "redfish.h"

#include "clock.h"
#include "config.h"
#include "errors.h"
#include "http_client.h"
#include "jsonutil.h"
#include "log.h"
#include "redfish_parse.h"

#include <stdio.h>
#include <string.h>

#define RF_ROOT              "/redfish/v1"
#define RF_PAGES_MAX         16  /* collection pages followed */
#define RF_USERS_MAX         256 /* accounts read */
#define RF_TASK_POLL_SECONDS 0.5 /* task monitor polling interval */

/* Discovery shared by the operations of one engine call on this thread:
 * auto-validation reads the service root and the first page of the Systems
 * collection, and the method that follows starts from them instead of
 * reading them again (an action is 4 requests, not 6). Keyed by the call's
 * connection; refilled by every validation, dropped by redfish_end_call. */
static __thread struct {
    const struct bmc_conn *conn;
    json_object *root;
    json_object *systems;
    char systems_path[RF_PATH_MAX];
} rf_cache;

static void rf_cache_clear(void)
{
    json_object_put(rf_cache.root);
    json_object_put(rf_cache.systems);
    memset(&rf_cache, 0, sizeof(rf_cache));
}

static bool rf_cache_serves(const struct bmc_call *call)
{
    return rf_cache.conn == call->conn && rf_cache.root != NULL;
}

/* The state of one operation: the call, its outcome and what discovery
 * found so far (documents owned here, freed by rf_op_end). */
struct rf_op {
    const struct bmc_call *call;
    struct bmc_outcome *out;
    const char *name;
    double start;
    long requests0, connections0;
    json_object *root;
    json_object *system;
    char system_path[RF_PATH_MAX];
    char seen[RF_NAME_MAX]; /* the last PowerState read */
};

static void rf_op_begin(struct rf_op *op, const char *name,
                        const struct bmc_call *call, struct bmc_outcome *out)
{
    memset(op, 0, sizeof(*op));
    op->call = call;
    op->out = out;
    op->name = name;
    op->start = clock_now_mono();
    http_client_stats(&op->requests0, &op->connections0);
    outcome_clear(out);
}

static void rf_op_end(struct rf_op *op)
{
    long requests, connections;
    char qdetails[300];

    http_client_stats(&requests, &connections);
    log_debug("redfish_op",
              "op=%s host=%s port=%d code=%d success=%d requests=%ld "
              "new_connections=%ld ms=%.1f details=%s",
              op->name, op->call->conn->ip, op->call->conn->port,
              op->out->code, op->out->success, requests - op->requests0,
              connections - op->connections0,
              (clock_now_mono() - op->start) * 1000.0,
              log_quote(op->out->details, qdetails, sizeof(qdetails)));
    json_object_put(op->root);
    json_object_put(op->system);
    op->root = op->system = NULL;
}

/* One HTTP exchange; a transport failure fills the outcome. 0 or -1. */
static int rf_request(struct rf_op *op, const char *method, const char *path,
                      const char *body, const char *if_match,
                      struct rf_response *resp)
{
    char err[300];
    const struct bmc_conn *conn = op->call->conn;
    struct rf_request req = {method, conn->ip,       conn->port,
                             path,   conn->username, conn->password,
                             body,   if_match,       op->call->deadline};
    int code = http_client_request(&req, resp, err, sizeof(err));

    if (code)
        outcome_fail(op->out, code, "%s", err);
    return code ? -1 : 0;
}

/* Fill the outcome for a non-2xx answer to METHOD PATH. */
static void rf_fail_status(struct rf_op *op, const char *method,
                           const char *path, const struct rf_response *resp)
{
    char reason[200];

    if (resp->status == 401 || resp->status == 403) {
        outcome_fail(op->out, BMC_ERR_HTTP_UNAUTHORIZED, "HTTP %ld from %s %s",
                     resp->status, method, path);
        return;
    }
    rfp_error_reason(resp->body, resp->len, reason, sizeof(reason));
    outcome_fail(op->out, BMC_ERR_UNEXPECTED_ERROR, "HTTP %ld from %s %s: %s",
                 resp->status, method, path, reason);
}

static bool rf_status_ok(long status)
{
    return status >= 200 && status < 300;
}

/* GET PATH as a JSON object into *DOC (and its ETag into ETAG when given).
 * Any failure fills the outcome. 0 or -1. */
static int rf_get(struct rf_op *op, const char *path, json_object **doc,
                  char *etag, size_t etaglen)
{
    struct rf_response resp;
    char err[200];
    int rc = -1;

    *doc = NULL;
    if (rf_request(op, "GET", path, NULL, NULL, &resp))
        return -1;
    if (!rf_status_ok(resp.status)) {
        rf_fail_status(op, "GET", path, &resp);
        goto out;
    }
    *doc = rfp_parse_object(resp.body, resp.len, err, sizeof(err));
    if (!*doc) {
        outcome_fail(op->out, BMC_ERR_PROTOCOL_ERROR, "GET %s: %s", path, err);
        goto out;
    }
    if (etag) {
        const char *odata = rfp_string(*doc, "@odata.etag");
        snprintf(etag, etaglen, "%s",
                 resp.etag[0] ? resp.etag
                 : odata      ? odata
                              : "");
    }
    rc = 0;
out:
    http_client_response_free(&resp);
    return rc;
}

static int rf_get_root(struct rf_op *op)
{
    if (!op->root && rf_cache_serves(op->call))
        op->root = json_object_get(rf_cache.root);
    return op->root ? 0 : rf_get(op, RF_ROOT, &op->root, NULL, 0);
}

/* A page of a collection at PATH: the cached Systems page when it is that
 * one, else a GET. */
static int rf_get_page(struct rf_op *op, const char *path, json_object **page)
{
    if (rf_cache_serves(op->call) && rf_cache.systems &&
        !strcmp(path, rf_cache.systems_path)) {
        *page = json_object_get(rf_cache.systems);
        return 0;
    }
    return rf_get(op, path, page, NULL, 0);
}

/* The optional "system_id" parameter (NULL when absent). -1 if mistyped. */
static int rf_param_string(struct rf_op *op, const char *key,
                           const char **value)
{
    json_object *v;

    *value = NULL;
    if (!op->call->params ||
        !json_object_is_type(op->call->params, json_type_object) ||
        !json_object_object_get_ex(op->call->params, key, &v) ||
        json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_string) ||
        !json_object_get_string_len(v)) {
        outcome_fail(op->out, BMC_ERR_INVALID_PARAMETERS,
                     "parameter '%s' must be a non-empty string", key);
        return -1;
    }
    *value = json_object_get_string(v);
    return 0;
}

/* Search one collection page for the member to use; fill op->system_path.
 * IDS collects member ids for an error message. 1 found, 0 not here. */
static int rf_pick_member(struct rf_op *op, json_object *page,
                          const char *want, json_object *ids)
{
    char path[RF_PATH_MAX], leaf[RF_PATH_MAX];
    size_t n = rfp_member_count(page);

    for (size_t i = 0; i < n; i++) {
        if (rfp_member_path(page, i, path, sizeof(path)))
            continue;
        rfp_path_leaf(path, leaf, sizeof(leaf));
        if (json_object_array_length(ids) < 64)
            json_object_array_add(ids, json_object_new_string(leaf));
        if (!want || !strcmp(want, leaf)) {
            memcpy(op->system_path, path, sizeof(path));
            return 1;
        }
    }
    return 0;
}

/* Walk the Systems collection (pages bounded) to the member to use. */
static int rf_find_system_path(struct rf_op *op, const char *want)
{
    char path[RF_PATH_MAX];
    json_object *page = NULL, *ids = json_object_new_array();
    int found = 0, rc = -1;

    if (rf_get_root(op))
        goto out;
    if (rfp_link(op->root, "Systems", path, sizeof(path))) {
        outcome_fail(op->out, BMC_ERR_EXECUTION_FAILED, RF_NO_SYSTEMS);
        goto out;
    }
    for (int pages = 0; pages < RF_PAGES_MAX && !found; pages++) {
        if (rf_get_page(op, path, &page))
            goto out;
        found = rf_pick_member(op, page, want, ids);
        if (!found && rfp_next_link(page, path, sizeof(path)))
            break;
        json_object_put(page);
        page = NULL;
    }
    if (found) {
        rc = 0;
    } else if (want && json_object_array_length(ids) > 0) {
        char msg[200];
        snprintf(msg, sizeof(msg), "System '%s' not found", want);
        json_object *data = json_object_new_object();
        json_object_object_add(data, "systems", json_object_get(ids));
        outcome_done(op->out, false, msg, data);
    } else {
        outcome_fail(op->out, BMC_ERR_EXECUTION_FAILED, RF_NO_SYSTEMS);
    }
out:
    json_object_put(page);
    json_object_put(ids);
    return rc;
}

/* Discover the system the call names and read it into op->system. */
static int rf_find_system(struct rf_op *op)
{
    const char *want;

    if (rf_param_string(op, "system_id", &want) ||
        rf_find_system_path(op, want))
        return -1;
    return rf_get(op, op->system_path, &op->system, NULL, 0);
}

/* The system's PowerState (borrowed) or NULL with the outcome filled. */
static const char *rf_power_state(struct rf_op *op, json_object *system)
{
    const char *state = rfp_string(system, "PowerState");

    snprintf(op->seen, sizeof(op->seen), "%s", state ? state : "");
    if (!state)
        outcome_fail(op->out, BMC_ERR_EXECUTION_FAILED,
                     "PowerState missing or not a string in %s",
                     op->system_path);
    return state;
}

/* The ResetTypes the system offers, in RESET->types. 0 or -1. */
static int rf_discover_actions(struct rf_op *op, struct rf_reset *reset,
                               bool *assumed)
{
    json_object *info = NULL;

    *assumed = false;
    if (rfp_reset_action(op->system, reset)) {
        outcome_fail(op->out, BMC_ERR_EXECUTION_FAILED, RF_NO_ACTIONS);
        return -1;
    }
    if (reset->types.n == 0 && reset->action_info[0]) {
        if (rf_get(op, reset->action_info, &info, NULL, 0))
            return -1;
        rfp_types_from_action_info(info, &reset->types);
        json_object_put(info);
    } else if (reset->types.n == 0) {
        rfp_types_default(&reset->types);
        *assumed = true;
    }
    if (reset->types.n == 0) {
        outcome_fail(op->out, BMC_ERR_EXECUTION_FAILED, RF_NO_ACTIONS);
        return -1;
    }
    return 0;
}

static void redfish_validate_connection(const struct bmc_call *call,
                                        struct bmc_outcome *out)
{
    struct rf_op op;
    char path[RF_PATH_MAX];
    json_object *systems = NULL, *data;

    rf_op_begin(&op, "validate_connection", call, out);
    rf_cache_clear(); /* validation always asks the BMC afresh */
    if (rf_get_root(&op))
        goto out;
    if (rfp_link(op.root, "Systems", path, sizeof(path))) {
        outcome_fail(out, BMC_ERR_EXECUTION_FAILED, RF_NO_SYSTEMS);
        goto out;
    }
    /* The service root is often readable without credentials: the
     * collection below it is what proves them. */
    if (rf_get(&op, path, &systems, NULL, 0))
        goto out;
    rf_cache.conn = call->conn;
    rf_cache.root = json_object_get(op.root);
    rf_cache.systems = json_object_get(systems);
    snprintf(rf_cache.systems_path, sizeof(rf_cache.systems_path), "%s", path);
    data = json_object_new_object();
    json_object_object_add(data, "ok", json_object_new_boolean(1));
    outcome_done(out, true, NULL, data);
out:
    json_object_put(systems);
    rf_op_end(&op);
}

static void redfish_get_power_state(const struct bmc_call *call,
                                    struct bmc_outcome *out)
{
    struct rf_op op;
    const char *state;
    json_object *data;

    rf_op_begin(&op, "get_power_state", call, out);
    if (rf_find_system(&op) || !(state = rf_power_state(&op, op.system)))
        goto out;
    data = json_object_new_object();
    json_object_object_add(data, "power_state", json_object_new_string(state));
    outcome_done(out, true, NULL, data);
out:
    rf_op_end(&op);
}

static void redfish_list_actions(const struct bmc_call *call,
                                 struct bmc_outcome *out)
{
    struct rf_op op;
    struct rf_reset reset;
    bool assumed;
    json_object *data;

    rf_op_begin(&op, "list_actions", call, out);
    if (rf_find_system(&op) || rf_discover_actions(&op, &reset, &assumed))
        goto out;
    data = json_object_new_object();
    json_object_object_add(data, "actions", rfp_actions_json(&reset.types));
    if (assumed)
        json_object_object_add(data, "allowable_values_published",
                               json_object_new_boolean(0));
    outcome_done(out, true, NULL, data);
out:
    rf_op_end(&op);
}

/* ---- run_action ----------------------------------------------------------
 */

/* What one reset POST came to. */
enum rf_post_result {
    RF_POST_FAILED,      /* outcome filled */
    RF_POST_ACCEPTED,    /* *status = the POST's HTTP status */
    RF_POST_ALREADY,     /* the BMC refused: the system is already there */
    RF_POST_UNSUPPORTED, /* the BMC does not implement this ResetType */
};

/* The system's current ETag, read again (states change it). */
static int rf_fresh_etag(struct rf_op *op, char *etag, size_t etaglen)
{
    json_object *doc = NULL;
    int rc = rf_get(op, op->system_path, &doc, etag, etaglen);

    json_object_put(doc);
    return rc;
}

/* Re-read PowerState and say whether it is STATE (or, with MOVING, on its
 * way there: "Powering<STATE>"). -1 on failure. */
static int rf_state_is(struct rf_op *op, const char *state, bool moving)
{
    json_object *doc = NULL;
    const char *now;
    int rc = -1;

    if (rf_get(op, op->system_path, &doc, NULL, 0) ||
        !(now = rf_power_state(op, doc)))
        goto out;
    rc = !strcmp(now, state) ||
         (moving && !strncmp(now, "Powering", 8) && !strcmp(now + 8, state));
out:
    json_object_put(doc);
    return rc;
}

/* Follow a 202 task monitor at PATH until it stops answering 202 or the
 * deadline is near. STATE gets the last TaskState. 1 done well, 0 still
 * running, -1 failed (outcome filled, or *bad set when the task failed). */
static int rf_follow_task(struct rf_op *op, const char *path, char *state,
                          size_t statelen, bool *bad)
{
    struct rf_response resp;
    char err[200];
    json_object *task = NULL;
    int rc = 0;

    *bad = false;
    snprintf(state, statelen, "Running");
    while (clock_remaining(op->call->deadline) >
           RF_TASK_POLL_SECONDS + bmc_cfg.redfish_request_timeout / 4) {
        clock_sleep(RF_TASK_POLL_SECONDS, op->call->deadline);
        if (rf_request(op, "GET", path, NULL, NULL, &resp))
            return -1;
        if (resp.status == 404 ||
            resp.status == 410) { /* finished and removed */
            state[0] = '\0';
            rc = 1;
        } else if (!rf_status_ok(resp.status)) {
            rf_fail_status(op, "GET", path, &resp);
            rc = -1;
        } else {
            task = resp.len ? rfp_parse_object(resp.body, resp.len, err,
                                               sizeof(err))
                            : NULL;
            int t = rfp_task_state(task, state, statelen);
            if (resp.status == 202 && !rfp_string(task, "TaskState"))
                t = 0; /* a monitor answers 202 while the task runs */
            if (t < 0) {
                *bad = true;
                rc = -1;
            } else if (t > 0) {
                rc = 1;
            }
            json_object_put(task);
            task = NULL;
        }
        http_client_response_free(&resp);
        if (rc)
            return rc;
    }
    return 0;
}

/* POST ResetType TYPE once, with IF_MATCH when given. */
static int rf_post_once(struct rf_op *op, const char *target, const char *type,
                        const char *if_match, struct rf_response *resp)
{
    char body[2 * RF_NAME_MAX + 32];
    json_object *o = json_object_new_object();

    json_object_object_add(o, "ResetType", json_object_new_string(type));
    snprintf(body, sizeof(body), "%s", json_compact(o));
    json_object_put(o);
    return rf_request(op, "POST", target, body, if_match, resp);
}

/* POST ResetType TYPE to TARGET and classify the answer. NOOP_STATE is the
 * state in which the BMC's state conflict means "already done". */
static enum rf_post_result rf_post_reset(struct rf_op *op, const char *target,
                                         const char *type,
                                         const char *noop_state, long *status,
                                         json_object *data)
{
    struct rf_response resp;
    char etag[HTTP_HEADER_VALUE_MAX], monitor[RF_PATH_MAX], state[64];
    enum rf_post_result res = RF_POST_FAILED;
    bool bad;

    if (rf_post_once(op, target, type, NULL, &resp))
        return RF_POST_FAILED;
    if (resp.status == 412 || resp.status == 428) {
        http_client_response_free(&resp);
        if (rf_fresh_etag(op, etag, sizeof(etag)) ||
            rf_post_once(op, target, type, etag[0] ? etag : "*", &resp))
            return RF_POST_FAILED;
    }
    *status = resp.status;
    if (rf_status_ok(resp.status)) {
        res = RF_POST_ACCEPTED;
        if (resp.status == 202 &&
            !rfp_location_path(resp.location, monitor, sizeof(monitor))) {
            int t = rf_follow_task(op, monitor, state, sizeof(state), &bad);
            json_object_object_add(data, "task_state",
                                   json_object_new_string(state));
            if (t < 0 && !bad)
                res = RF_POST_FAILED;
            else if (t < 0) {
                char msg[200];
                snprintf(msg, sizeof(msg), "Reset task ended in state %s",
                         state);
                outcome_done(op->out, false, msg, json_object_get(data));
                res = RF_POST_FAILED;
            }
        }
    } else if ((resp.status == 409 || resp.status == 400) && noop_state &&
               rfp_error_is_state_conflict(resp.body, resp.len)) {
        int is = rf_state_is(op, noop_state, true);
        if (is == 1)
            res = RF_POST_ALREADY;
        else if (is == 0)
            rf_fail_status(op, "POST", target, &resp);
    } else if (resp.status == 501 ||
               (resp.status == 400 &&
                rfp_error_is_unsupported_value(resp.body, resp.len))) {
        res = RF_POST_UNSUPPORTED;
    } else {
        rf_fail_status(op, "POST", target, &resp);
    }
    http_client_response_free(&resp);
    return res;
}

/* Poll PowerState until it is "Off" (cycle sequence). 0, or -1 with the
 * outcome filled (3002 when the deadline comes first). */
static int rf_wait_off(struct rf_op *op)
{
    double interval = bmc_cfg.power_state_poll_interval;
    int is;

    for (;;) {
        if ((is = rf_state_is(op, "Off", false)) != 0)
            return is == 1 ? 0 : -1;
        if (clock_remaining(op->call->deadline) <= interval) {
            outcome_fail(op->out, BMC_ERR_TIMEOUT,
                         "cycle: %s did not reach Off before the deadline; "
                         "power on not sent",
                         op->system_path);
            return -1;
        }
        clock_sleep(interval, op->call->deadline);
    }
}

static void rf_done_unsupported(struct rf_op *op, const char *name,
                                const struct rf_types *types)
{
    char msg[200];
    json_object *data = json_object_new_object();

    snprintf(msg, sizeof(msg), "Action '%.100s' is not supported", name);
    json_object_object_add(data, "actions", rfp_actions_json(types));
    outcome_done(op->out, false, msg, data);
}

static void rf_done_accepted(struct rf_op *op, long status, const char *type,
                             json_object *data)
{
    char msg[64];

    snprintf(msg, sizeof(msg), "Command Accepted (%ld)", status);
    json_object_object_add(data, "message", json_object_new_string(msg));
    json_object_object_add(data, "reset_type", json_object_new_string(type));
    outcome_done(op->out, true, NULL, json_object_get(data));
}

/* Success without a POST, or after the BMC's state conflict: the system
 * already is (or is on its way to) what was asked; op->seen says which. */
static void rf_done_already(struct rf_op *op, json_object *data)
{
    char msg[96];

    snprintf(msg, sizeof(msg), "Already %s", op->seen);
    json_object_object_add(data, "message", json_object_new_string(msg));
    json_object_object_add(data, "power_state",
                           json_object_new_string(op->seen));
    outcome_done(op->out, true, NULL, json_object_get(data));
}

/* Run the cycle fallback: off, wait for Off, on (RF_PLAN_CYCLE_SEQUENCE).
 * Returns RF_POST_UNSUPPORTED untouched for the caller to answer. */
static enum rf_post_result rf_run_cycle(struct rf_op *op, const char *target,
                                        const struct rf_plan *plan,
                                        json_object *data)
{
    long status = 0;
    enum rf_post_result r;
    json_object *seq = json_object_new_array();

    json_object_object_add(data, "sequence", seq);
    if (strcmp(op->seen, "Off")) {
        json_object_array_add(seq, json_object_new_string(plan->off_type));
        r = rf_post_reset(op, target, plan->off_type, "Off", &status, data);
        if (r != RF_POST_ACCEPTED && r != RF_POST_ALREADY)
            return r;
        if (rf_wait_off(op))
            return RF_POST_FAILED;
    }
    json_object_array_add(seq, json_object_new_string(plan->on_type));
    r = rf_post_reset(op, target, plan->on_type, "On", &status, data);
    if (r == RF_POST_ACCEPTED)
        rf_done_accepted(op, status, plan->on_type, data);
    else if (r == RF_POST_ALREADY)
        rf_done_already(op, data);
    return r;
}

/* Carry out action NAME on the system; state in op->seen. An alias whose
 * ResetType the BMC turns down as unsupported (a BMC that publishes no list,
 * or lists what it cannot do) falls back to the next one of its mapping;
 * the list in an unsupported answer leaves out what the BMC turned down. */
static void rf_run_plan(struct rf_op *op, const char *name,
                        struct rf_reset *reset, json_object *data)
{
    struct rf_plan plan;
    enum rf_post_result r = RF_POST_UNSUPPORTED;
    long status = 0;

    for (size_t tries = 0; tries <= RF_TYPES_MAX && r == RF_POST_UNSUPPORTED;
         tries++) {
        rfp_plan_action(name, &reset->types, &plan);
        if (plan.kind == RF_PLAN_UNSUPPORTED)
            break;
        if (plan.kind == RF_PLAN_CYCLE_SEQUENCE) {
            r = rf_run_cycle(op, reset->target, &plan, data);
            break; /* its steps are not alternatives of one another */
        }
        if (plan.noop_state && !strcmp(op->seen, plan.noop_state)) {
            rf_done_already(op, data);
            return;
        }
        r = rf_post_reset(op, reset->target, plan.reset_type, plan.noop_state,
                          &status, data);
        if (r == RF_POST_ACCEPTED)
            rf_done_accepted(op, status, plan.reset_type, data);
        else if (r == RF_POST_ALREADY)
            rf_done_already(op, data);
        else if (r == RF_POST_UNSUPPORTED)
            rfp_types_remove(&reset->types, plan.reset_type);
        if (!rfp_is_alias(name))
            break;
    }
    if (r == RF_POST_UNSUPPORTED)
        rf_done_unsupported(op, name, &reset->types);
}

static void redfish_run_action(const struct bmc_call *call,
                               struct bmc_outcome *out)
{
    struct rf_op op;
    struct rf_reset reset;
    const char *name;
    bool assumed;
    json_object *data = NULL;

    rf_op_begin(&op, "run_action", call, out);
    if (rf_param_string(&op, "action_name", &name))
        goto out;
    if (!name) {
        outcome_fail(out, BMC_ERR_INVALID_PARAMETERS,
                     "parameter 'action_name' is required");
        goto out;
    }
    if (rf_find_system(&op) || rf_discover_actions(&op, &reset, &assumed) ||
        !rf_power_state(&op, op.system))
        goto out;
    data = json_object_new_object();
    rf_run_plan(&op, name, &reset, data);
out:
    json_object_put(data);
    rf_op_end(&op);
}

/* ---- list_users, get_fw_version ----------------------------------------- */

/* Append a user entry for every account of the collection page. */
static int rf_read_accounts(struct rf_op *op, json_object *page,
                            json_object *users)
{
    char path[RF_PATH_MAX];
    json_object *acct = NULL;
    size_t n = rfp_member_count(page);

    for (size_t i = 0; i < n && json_object_array_length(users) < RF_USERS_MAX;
         i++) {
        if (rfp_member_path(page, i, path, sizeof(path)))
            continue;
        if (rf_get(op, path, &acct, NULL, 0))
            return -1;
        json_object_array_add(users, rfp_user_json(acct));
        json_object_put(acct);
        acct = NULL;
    }
    return 0;
}

static void redfish_list_users(const struct bmc_call *call,
                               struct bmc_outcome *out)
{
    struct rf_op op;
    char path[RF_PATH_MAX];
    json_object *svc = NULL, *page = NULL, *users = json_object_new_array(),
                *data;

    rf_op_begin(&op, "list_users", call, out);
    if (rf_get_root(&op))
        goto out;
    if (rfp_link(op.root, "AccountService", path, sizeof(path))) {
        outcome_fail(out, BMC_ERR_EXECUTION_FAILED,
                     "No AccountService in the Redfish service root");
        goto out;
    }
    if (rf_get(&op, path, &svc, NULL, 0))
        goto out;
    if (rfp_link(svc, "Accounts", path, sizeof(path))) {
        outcome_fail(out, BMC_ERR_EXECUTION_FAILED,
                     "No Accounts in the AccountService");
        goto out;
    }
    for (int pages = 0; pages < RF_PAGES_MAX; pages++) {
        if (rf_get(&op, path, &page, NULL, 0) ||
            rf_read_accounts(&op, page, users))
            goto out;
        if (rfp_next_link(page, path, sizeof(path)))
            break;
        json_object_put(page);
        page = NULL;
    }
    data = json_object_new_object();
    json_object_object_add(data, "users", json_object_get(users));
    outcome_done(out, true, NULL, data);
out:
    json_object_put(svc);
    json_object_put(page);
    json_object_put(users);
    rf_op_end(&op);
}

/* The path of the manager of the system: Links.ManagedBy[0], else the
 * first member of the root's Managers collection. 0 or -1. */
static int rf_manager_path(struct rf_op *op, char *path, size_t pathlen)
{
    json_object *links, *by, *coll = NULL;
    const char *first = NULL;
    int rc = -1;

    if (json_object_object_get_ex(op->system, "Links", &links) &&
        json_object_object_get_ex(links, "ManagedBy", &by) &&
        json_object_is_type(by, json_type_array) &&
        json_object_array_length(by) > 0)
        first = rfp_string(json_object_array_get_idx(by, 0), "@odata.id");
    if (first && rfp_path_ok(first) && strlen(first) < pathlen) {
        memcpy(path, first, strlen(first) + 1);
        return 0;
    }
    if (rfp_link(op->root, "Managers", path, pathlen)) {
        outcome_fail(op->out, BMC_ERR_EXECUTION_FAILED,
                     "No Managers found in Redfish service root");
        return -1;
    }
    if (rf_get(op, path, &coll, NULL, 0))
        goto out;
    if (rfp_member_path(coll, 0, path, pathlen)) {
        outcome_fail(op->out, BMC_ERR_EXECUTION_FAILED,
                     "No Managers found in Redfish collection");
        goto out;
    }
    rc = 0;
out:
    json_object_put(coll);
    return rc;
}

static json_object *rf_string_or_null(json_object *obj, const char *key)
{
    const char *s = rfp_string(obj, key);
    return s ? json_object_new_string(s) : NULL;
}

static void redfish_get_fw_version(const struct bmc_call *call,
                                   struct bmc_outcome *out)
{
    struct rf_op op;
    char path[RF_PATH_MAX];
    json_object *mgr = NULL, *data;

    rf_op_begin(&op, "get_fw_version", call, out);
    if (rf_find_system(&op) || rf_manager_path(&op, path, sizeof(path)) ||
        rf_get(&op, path, &mgr, NULL, 0))
        goto out;
    data = json_object_new_object();
    json_object_object_add(data, "fw_version",
                           rf_string_or_null(mgr, "FirmwareVersion"));
    json_object_object_add(data, "bios_version",
                           rf_string_or_null(op.system, "BiosVersion"));
    outcome_done(out, true, NULL, data);
out:
    json_object_put(mgr);
    rf_op_end(&op);
}

/* The engine call is over: forget its discovery, close its connection. */
static void redfish_end_call(void)
{
    rf_cache_clear();
    http_client_release();
}

const struct bmc_backend redfish_backend = {
    .name = "redfish",
    .validate_connection = redfish_validate_connection,
    .get_power_state = redfish_get_power_state,
    .list_actions = redfish_list_actions,
    .run_action = redfish_run_action,
    .list_users = redfish_list_users,
    .get_fw_version = redfish_get_fw_version,
    .end_call = redfish_end_call,
};
