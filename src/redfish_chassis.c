/* redfish_chassis.c - the identify LED: set_identify over Redfish (see
 * redfish_private.h). The chassis of the system is used, else the system
 * itself, with the property its schema has:
 *   LocationIndicatorActive (bool)   Chassis v1.14+, ComputerSystem v1.13+
 *                                    (Redfish 2020.3; bmcweb, XClarity)
 *   IndicatorLED Lit/Blinking/Off    deprecated; iDRAC, iLO, Supermicro
 * "on" sets Blinking where only IndicatorLED exists (identify is a blinking
 * light on every vendor's front panel). The PATCH carries that one property
 * (If-Match with the resource's ETag) and the answer is read back. */
#include "autoconfig.h"
#include "redfish_private.h"

#include "errors.h"

#include <stdio.h>
#include <string.h>

/* Which LED property DOC has: 1 LocationIndicatorActive, 2 IndicatorLED,
 * 0 none. */
static int rf_led_kind(json_object *doc)
{
    if (json_object_object_get_ex(doc, "LocationIndicatorActive", NULL))
        return 1;
    if (json_object_object_get_ex(doc, "IndicatorLED", NULL))
        return 2;
    return 0;
}

/* Whether DOC's LED is on (null when it does not say). */
static json_object *rf_led_state(json_object *doc)
{
    json_object *v;
    const char *led;

    if (json_object_object_get_ex(doc, "LocationIndicatorActive", &v) &&
        json_object_is_type(v, json_type_boolean))
        return json_object_new_boolean(json_object_get_boolean(v));
    if ((led = rfp_string(doc, "IndicatorLED")))
        return json_object_new_boolean(strcmp(led, "Off") != 0);
    return NULL;
}

/* The resource to light: the chassis when it has an LED property, else the
 * system. PATH and *DOC (owned by the caller) filled; 0 or -1. */
static int rf_led_resource(struct rf_op *op, char *path, size_t len,
                           json_object **doc, char *etag, size_t etaglen)
{
    *doc = NULL;
    if (rf_find_system(op))
        return -1;
    if (rf_chassis_path(op, path, len) == 0) {
        if (rf_get(op, path, doc, etag, etaglen))
            return -1;
        if (rf_led_kind(*doc))
            return 0;
        json_object_put(*doc);
        *doc = NULL;
    } else if (op->out->code) {
        outcome_clear(op->out);
    }
    snprintf(path, len, "%s", op->system_path);
    return rf_get(op, path, doc, etag, etaglen);
}

void redfish_set_identify(const struct bmc_call *call, struct bmc_outcome *out)
{
    struct rf_op op;
    struct rf_response resp;
    char path[RF_PATH_MAX], etag[HTTP_HEADER_VALUE_MAX], body[64];
    const char *want = NULL;
    json_object *doc = NULL, *after = NULL, *data, *now;
    int kind;
    bool on;

    rf_op_begin(&op, "set_identify", call, out);
    if (rf_param_string(&op, "state", &want) || !want ||
        rf_led_resource(&op, path, sizeof(path), &doc, etag, sizeof(etag)))
        goto out;
    on = !strcmp(want, "on");
    if (!(kind = rf_led_kind(doc))) {
        outcome_fail(out, BMC_ERR_INVALID_PARAMETERS,
                     "neither the chassis nor the system has an identify LED "
                     "(LocationIndicatorActive or IndicatorLED)");
        goto out;
    }
    if (kind == 1)
        snprintf(body, sizeof(body), "{\"LocationIndicatorActive\":%s}",
                 on ? "true" : "false");
    else
        snprintf(body, sizeof(body), "{\"IndicatorLED\":\"%s\"}",
                 on ? "Blinking" : "Off");
    if (rf_write(&op, "PATCH", path, body, path, etag, &resp))
        goto out;
    if (!rf_status_ok(resp.status)) {
        rf_fail_status(&op, "PATCH", path, &resp);
    } else if (rf_get(&op, path, &after, NULL, 0) == 0) {
        now = rf_led_state(after);
        data = json_object_new_object();
        json_object_object_add(data, "state", json_object_new_string(want));
        json_object_object_add(
            data, "property",
            json_object_new_string(kind == 1 ? "LocationIndicatorActive"
                                             : "IndicatorLED"));
        json_object_object_add(data, "verified",
                               json_object_new_boolean(
                                   now && json_object_get_boolean(now) == on));
        json_object_object_add(data, "lit", now);
        outcome_done(out, true, NULL, data);
    }
    rf_response_free(&resp);
out:
    json_object_put(doc);
    json_object_put(after);
    rf_op_end(&op);
}
