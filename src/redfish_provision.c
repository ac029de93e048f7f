/* redfish_provision.c - boot_from_media: the provisioning sequence in one
 * call (see redfish.h). Each step is one of the backend's own operations
 * (eject, insert, set_boot_device, run_action, get_power_state), run with
 * its own outcome; data.steps records each step and what came of it, and
 * the first step that fails ends the sequence: nothing after it is sent. */
#include "autoconfig.h"
#include "redfish_private.h"

#include "clock.h"
#include "config.h"
#include "errors.h"

#include <stdio.h>
#include <string.h>

struct rf_seq {
    const struct bmc_call *call;
    json_object *steps;
    struct bmc_outcome step; /* the last step's outcome */
    char failed[200];        /* the message of the failing step, or "" */
    int code;                /* its code (0: the BMC said no) */
};

/* The call's params plus EXTRA's members, as a new object. */
static json_object *rf_seq_params(const struct bmc_call *call,
                                  const char *const *extra)
{
    json_object *p = json_object_new_object(), *v;
    static const char *const keep[] = {"system_id", "media", "image", NULL};

    for (const char *const *k = keep; *k; k++)
        if (call->params && json_object_object_get_ex(call->params, *k, &v))
            json_object_object_add(p, *k, json_object_get(v));
    for (; extra && *extra; extra += 2)
        json_object_object_add(p, extra[0], json_object_new_string(extra[1]));
    return p;
}

/* Run one step NAME: FN with the call's params plus EXTRA (key, value
 * pairs, NULL-ended). true when it succeeded. */
static bool rf_seq_step(struct rf_seq *seq, const char *name, bmc_op_fn fn,
                        const char *const *extra, double deadline)
{
    json_object *params = rf_seq_params(seq->call, extra);
    struct bmc_call sub = *seq->call;
    json_object *entry = json_object_new_object();
    bool ok;

    sub.params = params;
    sub.deadline = deadline;
    outcome_clear(&seq->step);
    fn(&sub, &seq->step);
    ok = seq->step.code == 0 && seq->step.success;
    json_object_object_add(entry, "step", json_object_new_string(name));
    json_object_object_add(entry, "success", json_object_new_boolean(ok));
    if (seq->step.code)
        json_object_object_add(entry, "code",
                               json_object_new_int(seq->step.code));
    if (!ok)
        json_object_object_add(
            entry, "message",
            json_object_new_string(seq->step.code ? seq->step.details
                                                  : seq->step.message));
    if (seq->step.data)
        json_object_object_add(entry, "data", json_object_get(seq->step.data));
    json_object_array_add(seq->steps, entry);
    if (!ok) {
        seq->code = seq->step.code;
        snprintf(seq->failed, sizeof(seq->failed), "Step '%s' failed: %.150s",
                 name, seq->step.code ? seq->step.details : seq->step.message);
    }
    json_object_put(params);
    return ok;
}

/* The power state the last get_power_state step read ("" if none). */
static const char *rf_seq_power(struct rf_seq *seq)
{
    json_object *v;

    if (seq->step.data &&
        json_object_object_get_ex(seq->step.data, "power_state", &v) &&
        json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return "";
}

/* Poll the power state until On or SECONDS pass; record it in DATA. */
static void rf_seq_wait(struct rf_seq *seq, double seconds, json_object *data)
{
    double end = clock_now_mono() + seconds;
    bool on = false;
    char last[64] = "";

    for (;;) {
        clock_sleep(bmc_cfg.power_state_poll_interval, end);
        struct bmc_call sub = *seq->call;
        struct bmc_outcome o;
        outcome_init(&o);
        sub.deadline = clock_now_mono() + bmc_cfg.redfish_request_timeout * 2;
        redfish_get_power_state(&sub, &o);
        json_object *v;
        if (!o.code && o.success &&
            json_object_object_get_ex(o.data, "power_state", &v))
            snprintf(last, sizeof(last), "%s", json_object_get_string(v));
        outcome_clear(&o);
        on = !strcmp(last, "On");
        if (on || clock_now_mono() >= end)
            break;
    }
    json_object_object_add(data, "power_state",
                           last[0] ? json_object_new_string(last) : NULL);
    json_object_object_add(data, "power_state_stable",
                           json_object_new_boolean(on));
}

static void rf_seq_run(struct rf_seq *seq, double deadline)
{
    static const char *const boot_cd[] = {"device", "cd", NULL};
    static const char *const boot_usb[] = {"device", "usb", NULL};
    static const char *const on[] = {"action_name", "on", NULL};
    static const char *const reset[] = {"action_name", "reset", NULL};
    json_object *v;
    bool usb = seq->call->params &&
               json_object_object_get_ex(seq->call->params, "media", &v) &&
               !strcmp(json_object_get_string(v), "usb");

    if (!rf_seq_step(seq, "eject", redfish_eject_virtual_media, NULL,
                     deadline) ||
        !rf_seq_step(seq, "insert", redfish_insert_virtual_media, NULL,
                     deadline) ||
        !rf_seq_step(seq, "set_boot_device", redfish_set_boot_device,
                     usb ? boot_usb : boot_cd, deadline) ||
        !rf_seq_step(seq, "get_power_state", redfish_get_power_state, NULL,
                     deadline))
        return;
    const char *state = rf_seq_power(seq);
    bool running = !strcmp(state, "On") || !strcmp(state, "PoweringOn");
    rf_seq_step(seq, running ? "force_restart" : "power_on",
                redfish_run_action, running ? reset : on, deadline);
}

void redfish_boot_from_media(const struct bmc_call *call,
                             struct bmc_outcome *out)
{
    struct rf_seq seq = {.call = call, .steps = json_object_new_array()};
    json_object *data = json_object_new_object(), *v;
    const char *image = NULL;
    double wait = 0;

    outcome_init(&seq.step);
    outcome_clear(out);
    if (call->params && json_object_object_get_ex(call->params, "image", &v) &&
        json_object_is_type(v, json_type_string))
        image = json_object_get_string(v);
    if (!image || !rfprov_media_url_ok(image)) {
        outcome_fail(out, BMC_ERR_INVALID_PARAMETERS,
                     "parameter 'image' must be an http:// or https:// URL");
        goto out;
    }
    if (call->params &&
        json_object_object_get_ex(call->params, "wait_for_state_seconds",
                                  &v) &&
        (json_object_is_type(v, json_type_int) ||
         json_object_is_type(v, json_type_double)))
        wait = json_object_get_double(v);
    rf_seq_run(&seq, call->deadline);
    json_object_object_add(data, "steps", json_object_get(seq.steps));
    if (seq.failed[0] && json_object_array_length(seq.steps) == 1 &&
        seq.code) { /* nothing was done: the first step's failure stands */
        outcome_fail(out, seq.code, "%s", seq.step.details);
        goto out;
    }
    if (seq.failed[0]) {
        json_object_object_add(
            data, "failed_step",
            json_object_get(json_object_object_get(
                json_object_array_get_idx(
                    seq.steps, json_object_array_length(seq.steps) - 1),
                "step")));
        outcome_done(out, false, seq.failed, json_object_get(data));
        goto out;
    }
    if (wait > bmc_cfg.max_wait_for_state_seconds)
        wait = bmc_cfg.max_wait_for_state_seconds;
    if (wait > 0)
        rf_seq_wait(&seq, wait, data);
    outcome_done(out, true, NULL, json_object_get(data));
out:
    outcome_clear(&seq.step);
    json_object_put(seq.steps);
    json_object_put(data);
}
