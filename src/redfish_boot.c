/* redfish_boot.c - the boot override: get_boot_device and set_boot_device
 * (see redfish.h). A write is one PATCH of the system's Boot object (or of
 * the /Settings resource the system points to), with the system's ETag,
 * carrying only the fields this vendor accepts; refusals that name a
 * field, a busy system or an unoffered Continuous are answered by the
 * fallbacks below (each a refusal: nothing was applied, so sending again
 * is safe); then the override is read back and `verified` says whether it
 * shows what was asked. */
#include "autoconfig.h"
#include "redfish_private.h"

#include "clock.h"
#include "errors.h"
#include "jsonutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define RF_BOOT_TRIES      8   /* PATCHes of one set_boot_device at most */
#define RF_BOOT_BUSY_PAUSE 2.0 /* seconds between "busy during POST" tries */

/* Which fields a Boot PATCH carries, by vendor (root Vendor or the
 * system's Manufacturer, first match wins). Whatever the row, a refusal
 * that names BootSourceOverrideMode flips the choice once. */
enum rf_mode_policy {
    RF_MODE_WHEN_ASKED, /* Mode only when the caller gives one */
    RF_MODE_ALWAYS,     /* Mode every time (the current one if not asked) */
};

static const struct rf_boot_vendor {
    const char *vendor;
    enum rf_mode_policy mode;
    const char *source;
} rf_boot_vendors[] = {
    {"Supermicro", RF_MODE_ALWAYS,
     "DMTF Redfishtool PR #106: Supermicro reverts BootSourceOverrideMode "
     "to its default unless the PATCH carries it"},
    {"AMI", RF_MODE_ALWAYS,
     "AMI MegaRAC (ASRockRack, Tacklebox #144): Boot PATCH needs "
     "BootSourceOverrideMode"},
    {"ASRockRack", RF_MODE_ALWAYS, "as AMI (ASRockRack boards run MegaRAC)"},
    {"HPE", RF_MODE_WHEN_ASKED,
     "community.general #3509: iLO rejects a PATCH carrying "
     "BootSourceOverrideMode; bmclib's minimal fields for HP DL160 Gen10"},
    {NULL, RF_MODE_WHEN_ASKED,
     "DSP0266: a PATCH carries only the properties to change"},
};

/* Whether WORD stands in HAY as a word of its own ("AMI" in "AMI
 * MegaRAC", not in "Miami"), ignoring case. */
static bool rf_word_in(const char *hay, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = hay; (p = strcasestr(p, word)); p++)
        if ((p == hay || !isalnum((unsigned char)p[-1])) &&
            !isalnum((unsigned char)p[n]))
            return true;
    return false;
}

static const struct rf_boot_vendor *rf_boot_vendor(struct rf_op *op)
{
    const char *names[] = {rfp_string(op->root, "Vendor"),
                           rfp_string(op->system, "Manufacturer")};
    const struct rf_boot_vendor *v = rf_boot_vendors;

    for (; v->vendor; v++)
        for (size_t i = 0; i < 2; i++)
            if (names[i] && rf_word_in(names[i], v->vendor))
                return v;
    return v;
}

/* Find the system and read it again with its ETag; the path a Boot PATCH
 * goes to (the system's /Settings resource when it points to one). */
static int rf_boot_prepare(struct rf_op *op, char *etag, size_t etaglen,
                           char *patch_path, size_t pathlen)
{
    json_object *settings, *obj;

    if (rf_find_system(op))
        return -1;
    json_object_put(op->system);
    op->system = NULL;
    if (rf_get(op, op->system_path, &op->system, etag, etaglen))
        return -1;
    snprintf(patch_path, pathlen, "%s", op->system_path);
    if (json_object_object_get_ex(op->system, "@Redfish.Settings",
                                  &settings) &&
        json_object_object_get_ex(settings, "SettingsObject", &obj) &&
        rfp_copy_path(rfp_string(obj, "@odata.id"), patch_path, pathlen) == 0)
        etag[0] = '\0'; /* the ETag was the system's, not the settings' */
    if (!rf_get_root(op) && rfprov_boot_of(op->system))
        return 0;
    if (!op->out->code)
        outcome_fail(op->out, BMC_ERR_EXECUTION_FAILED,
                     "%s has no Boot object", op->system_path);
    return -1;
}

void redfish_get_boot_device(const struct bmc_call *call,
                             struct bmc_outcome *out)
{
    struct rf_op op;

    rf_op_begin(&op, "get_boot_device", call, out);
    if (rf_find_system(&op))
        goto out;
    if (!rfprov_boot_of(op.system)) {
        outcome_fail(out, BMC_ERR_EXECUTION_FAILED, "%s has no Boot object",
                     op.system_path);
        goto out;
    }
    outcome_done(out, true, NULL,
                 rfprov_boot_state(rfprov_boot_of(op.system)));
out:
    rf_op_end(&op);
}

/* ---- set_boot_device ---------------------------------------------------- */

struct rf_boot_req {
    const char *device, *target, *mode; /* mode: "UEFI"/"Legacy" or NULL */
    bool persistent, continuous_refused, mode_dropped, send_mode;
    char patch_path[RF_PATH_MAX];
    char etag[HTTP_HEADER_VALUE_MAX];
    json_object *notes;
};

static void rf_boot_note(struct rf_boot_req *r, const char *text)
{
    json_object_array_add(r->notes, json_object_new_string(text));
}

static char *rf_boot_body(struct rf_op *op, const struct rf_boot_req *r,
                          char *body, size_t len)
{
    json_object *o = json_object_new_object(), *b = json_object_new_object();
    const char *cur =
        rfp_string(rfprov_boot_of(op->system), "BootSourceOverrideMode");
    bool off = !strcmp(r->target, "None");

    if (!off)
        json_object_object_add(b, "BootSourceOverrideTarget",
                               json_object_new_string(r->target));
    json_object_object_add(
        b, "BootSourceOverrideEnabled",
        json_object_new_string(off ? "Disabled"
                               : r->persistent && !r->continuous_refused
                                   ? "Continuous"
                                   : "Once"));
    if (!off && r->send_mode && !r->mode_dropped && (r->mode || cur))
        json_object_object_add(
            b, "BootSourceOverrideMode",
            json_object_new_string(r->mode ? r->mode : cur));
    json_object_object_add(o, "Boot", b);
    snprintf(body, len, "%s", json_compact(o));
    json_object_put(o);
    return body;
}

/* What to do after a refused PATCH: 1 send again (R changed or the BMC was
 * busy and we waited), 0 give up (outcome filled). */
static int rf_boot_refused(struct rf_op *op, struct rf_boot_req *r,
                           const struct rf_response *resp)
{
    const char *b = resp->body ? resp->body : "";
    bool mode_named = strstr(b, "BootSourceOverrideMode") != NULL;

    if (strcasestr(b, "UnableToModifyDuringSystemPOST") ||
        resp->status == 503) {
        if (clock_remaining(op->call->deadline) > RF_BOOT_BUSY_PAUSE + 1) {
            clock_sleep(RF_BOOT_BUSY_PAUSE, op->call->deadline);
            return 1;
        }
        outcome_fail(op->out, BMC_ERR_TIMEOUT,
                     "%s stayed busy (in POST) until the deadline; the "
                     "boot override was not applied",
                     op->system_path);
        return 0;
    }
    if (resp->status == 400 && strcasestr(b, "PropertyMissing") &&
        mode_named && !r->send_mode) {
        r->send_mode = true;
        rf_boot_note(r, "the BMC requires BootSourceOverrideMode: sent it");
        return 1;
    }
    if (resp->status == 400 && r->send_mode && !r->mode_dropped &&
        (mode_named || strcasestr(b, "PropertyNotWritable") ||
         strcasestr(b, "PropertyUnknown"))) {
        r->mode_dropped = true;
        rf_boot_note(r, "the BMC refused BootSourceOverrideMode: sent "
                        "target and persistence only");
        return 1;
    }
    if (resp->status == 400 && r->persistent && !r->continuous_refused &&
        strstr(b, "Continuous")) {
        r->continuous_refused = true;
        rf_boot_note(r, "the BMC refused Continuous: set Once instead");
        return 1;
    }
    rf_fail_status(op, "PATCH", r->patch_path, resp);
    return 0;
}

/* PATCH until accepted or a refusal we cannot answer. 0 or -1. */
static int rf_boot_write(struct rf_op *op, struct rf_boot_req *r)
{
    char body[512];
    struct rf_response resp;

    for (int tries = 0; tries < RF_BOOT_TRIES; tries++) {
        rf_boot_body(op, r, body, sizeof(body));
        if (rf_write(op, "PATCH", r->patch_path, body, r->patch_path, r->etag,
                     &resp))
            return -1;
        int again =
            rf_status_ok(resp.status) ? -1 : rf_boot_refused(op, r, &resp);
        char monitor[RF_PATH_MAX], state[64];
        bool bad,
            task = resp.status == 202 &&
                   !rfp_location_path(resp.location, monitor, sizeof(monitor));
        rf_response_free(&resp);
        if (task &&
            rf_follow_task(op, monitor, state, sizeof(state), &bad) < 0 &&
            !bad)
            return -1; /* the read-back decides when the task failed */
        if (again < 0)
            return 0;
        if (again == 0)
            return -1;
    }
    outcome_fail(op->out, BMC_ERR_EXECUTION_FAILED,
                 "the BMC refused %d boot override writes", RF_BOOT_TRIES);
    return -1;
}

static void rf_boot_verify(struct rf_op *op, struct rf_boot_req *r)
{
    json_object *doc = NULL, *state, *boot;
    bool ok, pending = strcmp(r->patch_path, op->system_path) != 0;

    if (rf_get(op, r->patch_path, &doc, NULL, 0))
        return;
    if (!(boot = rfprov_boot_of(doc))) {
        outcome_fail(op->out, BMC_ERR_EXECUTION_FAILED,
                     "%s has no Boot object to read back", r->patch_path);
        goto out;
    }
    state = rfprov_boot_state(boot);
    ok = rfprov_boot_matches(state, r->device, r->persistent, r->mode);
    json_object_object_add(state, "verified", json_object_new_boolean(ok));
    if (pending)
        json_object_object_add(state, "applies_at",
                               json_object_new_string("next reset"));
    json_object_object_add(state, "notes", json_object_get(r->notes));
    outcome_done(op->out, ok,
                 ok ? NULL
                    : "The BMC accepted the boot override but reading it "
                      "back does not show what was asked",
                 state);
out:
    json_object_put(doc);
}

static int rf_boot_params(struct rf_op *op, struct rf_boot_req *r)
{
    json_object *v;
    const char *mode;

    if (rf_param_string(op, "device", &r->device) ||
        rf_param_string(op, "mode", &mode))
        return -1;
    if (!r->device || !(r->target = rfprov_target_of(r->device))) {
        outcome_fail(op->out, BMC_ERR_INVALID_PARAMETERS,
                     "parameter 'device' must be one of pxe, disk, cd, usb, "
                     "bios, http, none");
        return -1;
    }
    r->mode = !mode ? NULL : !strcmp(mode, "uefi") ? "UEFI" : "Legacy";
    r->persistent =
        json_object_object_get_ex(op->call->params, "persistent", &v) &&
        json_object_get_boolean(v);
    return 0;
}

void redfish_set_boot_device(const struct bmc_call *call,
                             struct bmc_outcome *out)
{
    struct rf_op op;
    struct rf_boot_req r = {0};
    char msg[200];

    r.notes = json_object_new_array();
    rf_op_begin(&op, "set_boot_device", call, out);
    if (rf_boot_params(&op, &r) ||
        rf_boot_prepare(&op, r.etag, sizeof(r.etag), r.patch_path,
                        sizeof(r.patch_path)))
        goto out;
    json_object *boot = rfprov_boot_of(op.system);
    if (!rfprov_boot_allows(boot, "BootSourceOverrideTarget", r.target)) {
        json_object *data = rfprov_boot_state(boot);
        snprintf(msg, sizeof(msg),
                 "Boot device '%s' (%s) is not offered by this BMC", r.device,
                 r.target);
        json_object_object_add(data, "verified", json_object_new_boolean(0));
        outcome_done(out, false, msg, data);
        goto out;
    }
    if (r.persistent &&
        !rfprov_boot_allows(boot, "BootSourceOverrideEnabled", "Continuous")) {
        r.continuous_refused = true;
        rf_boot_note(&r, "the BMC does not offer Continuous: set Once");
    }
    r.send_mode = r.mode || rf_boot_vendor(&op)->mode == RF_MODE_ALWAYS;
    if (rf_boot_write(&op, &r) == 0)
        rf_boot_verify(&op, &r);
out:
    json_object_put(r.notes);
    rf_op_end(&op);
}
