/* redfish_power.c - power: get_power_state, list_actions and run_action
 * (alias plans from redfish_parse.h, "already there" answers, the 202 task
 * monitor, the If-Match retry and the cycle fallback; see redfish.h). */
#include "autoconfig.h"
#include "redfish_private.h"

#include "clock.h"
#include "config.h"
#include "errors.h"
#include "jsonutil.h"

#include <stdio.h>
#include <string.h>

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

void redfish_get_power_state(const struct bmc_call *call,
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

void redfish_list_actions(const struct bmc_call *call, struct bmc_outcome *out)
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

/* POST ResetType TYPE once, with IF_MATCH when given. */
static int rf_post_once(struct rf_op *op, const char *target, const char *type,
                        const char *if_match, struct rf_response *resp)
{
    char body[2 * RF_NAME_MAX + 32];
    json_object *o = json_object_new_object();

    json_object_object_add(o, "ResetType", json_object_new_string(type));
    snprintf(body, sizeof(body), "%s", json_compact(o));
    json_object_put(o);
    return rf_exchange(op, "POST", target, body, if_match, true, resp);
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
        rf_response_free(&resp);
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
    rf_response_free(&resp);
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

void redfish_run_action(const struct bmc_call *call, struct bmc_outcome *out)
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
