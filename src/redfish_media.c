/* redfish_media.c - virtual media: get_virtual_media, insert_virtual_media,
 * eject_virtual_media (see redfish.h). Slots are looked for under the
 * system (Systems/<id>/VirtualMedia, newer iDRAC) and under its manager
 * (Managers/<id>/VirtualMedia, everyone else); a write uses the slot's
 * InsertMedia/EjectMedia action where it offers one, with only the
 * parameters its ActionInfo lists, and a PATCH of Image/Inserted where it
 * does not; every write ends by reading the slot back. Image URLs are
 * http/https only, and their user:password part never reaches a log or an
 * answer (rfprov_media_redact). */
#include "autoconfig.h"
#include "redfish_private.h"

#include "errors.h"
#include "jsonutil.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define RF_SLOTS_MAX 16

/* Where a vendor keeps its slots, in the order we look (first found wins
 * for a media type). */
static const struct {
    const char *location;
    const char *source;
} rf_media_places[] = {
    {"system", "Dell iDRAC9 6.x and later: Systems/<id>/VirtualMedia "
               "(Redfish 2021.1 moved VirtualMedia to ComputerSystem)"},
    {"manager", "DMTF DSP2046 Managers/<id>/VirtualMedia: iLO, "
                "Supermicro, Lenovo, OpenBMC, older iDRAC"},
};

struct rf_slot {
    char path[RF_PATH_MAX];
    const char *location;
    json_object *doc;
};

struct rf_slots {
    size_t n;
    struct rf_slot v[RF_SLOTS_MAX];
};

static void rf_slots_free(struct rf_slots *s)
{
    for (size_t i = 0; i < s->n; i++)
        json_object_put(s->v[i].doc);
    s->n = 0;
}

/* Read the slots of the collection at PATH into S. 0 or -1. */
static int rf_slots_read(struct rf_op *op, const char *path,
                         const char *location, struct rf_slots *s)
{
    json_object *coll = NULL;
    size_t n;
    int rc = -1;

    if (rf_get_page(op, path, &coll))
        return -1;
    n = rfp_member_count(coll);
    for (size_t i = 0; i < n && s->n < RF_SLOTS_MAX; i++) {
        struct rf_slot *slot = &s->v[s->n];
        if (rfp_member_path(coll, i, slot->path, sizeof(slot->path)))
            continue;
        if (rf_get(op, slot->path, &slot->doc, NULL, 0))
            goto out;
        slot->location = location;
        s->n++;
    }
    rc = 0;
out:
    json_object_put(coll);
    return rc;
}

/* Every slot of the system and of its manager. 0 or -1. */
static int rf_slots_find(struct rf_op *op, struct rf_slots *s)
{
    char path[RF_PATH_MAX];
    json_object *manager = NULL;
    int rc = -1;

    s->n = 0;
    if (rf_find_system(op) || rf_get_root(op))
        return -1;
    if (!rfp_link(op->system, "VirtualMedia", path, sizeof(path)) &&
        rf_slots_read(op, path, rf_media_places[0].location, s))
        return -1;
    if (rf_manager_path(op, path, sizeof(path)) ||
        rf_get(op, path, &manager, NULL, 0))
        goto out;
    if (!rfp_link(manager, "VirtualMedia", path, sizeof(path)) &&
        rf_slots_read(op, path, rf_media_places[1].location, s))
        goto out;
    rc = 0;
out:
    if (rc && s->n && op->out->code != BMC_ERR_TIMEOUT) {
        outcome_clear(op->out); /* the system's slots are enough */
        rc = 0;
    }
    json_object_put(manager);
    return rc;
}

/* The slot for MEDIA ("cd": CD or DVD; "usb": USBStick, else Floppy), or
 * NULL with the outcome filled (success false, the slots listed). */
static struct rf_slot *rf_slot_pick(struct rf_op *op, struct rf_slots *s,
                                    const char *media)
{
    static const char *const cd[] = {"CD", "DVD", NULL};
    static const char *const usb[] = {"USBStick", "Floppy", NULL};
    const char *const *want = strcmp(media, "usb") ? cd : usb;

    for (; *want; want++)
        for (size_t i = 0; i < s->n; i++)
            if (rfprov_slot_takes(s->v[i].doc, *want))
                return &s->v[i];
    json_object *data = json_object_new_object(), *list;
    list = json_object_new_array();
    for (size_t i = 0; i < s->n; i++)
        json_object_array_add(list,
                              rfprov_slot_json(s->v[i].doc, s->v[i].location));
    json_object_object_add(data, "slots", list);
    outcome_done(op->out, false,
                 s->n ? "No virtual media slot takes this media type"
                      : "This BMC publishes no virtual media",
                 data);
    return NULL;
}

/* Re-read SLOT (its document replaced), with its ETag when ETAG. */
static int rf_slot_reread(struct rf_op *op, struct rf_slot *slot, char *etag,
                          size_t etaglen)
{
    json_object *doc = NULL;

    if (rf_get(op, slot->path, &doc, etag, etaglen))
        return -1;
    json_object_put(slot->doc);
    slot->doc = doc;
    return 0;
}

/* The target of SLOT's action NAME ("#VirtualMedia.InsertMedia") into
 * TARGET and its ActionInfo into INFO (may be ""). 0, or -1 if none. */
static int rf_slot_action(struct rf_slot *slot, const char *name, char *target,
                          char *info)
{
    json_object *actions, *action;

    info[0] = '\0';
    if (!json_object_object_get_ex(slot->doc, "Actions", &actions) ||
        !json_object_object_get_ex(actions, name, &action) ||
        rfp_copy_path(rfp_string(action, "target"), target, RF_PATH_MAX))
        return -1;
    if (rfp_copy_path(rfp_string(action, "@Redfish.ActionInfo"), info,
                      RF_PATH_MAX))
        info[0] = '\0';
    return 0;
}

/* Send a mutating write and follow a 202 task. 0 accepted, 1 refused
 * (RESP kept for the caller: status and body), -1 failed (outcome). */
static int rf_media_send(struct rf_op *op, const char *method,
                         const char *path, const char *body,
                         const struct rf_slot *slot, const char *etag,
                         struct rf_response *resp)
{
    char monitor[RF_PATH_MAX], state[64];
    bool bad;

    if (rf_write(op, method, path, body, slot->path, etag, resp))
        return -1;
    if (!rf_status_ok(resp->status))
        return 1;
    if (resp->status == 202 &&
        !rfp_location_path(resp->location, monitor, sizeof(monitor)) &&
        rf_follow_task(op, monitor, state, sizeof(state), &bad) < 0 && !bad) {
        rf_response_free(resp);
        return -1;
    }
    rf_response_free(resp);
    return 0;
}

/* Eject SLOT (nothing is sent when it is empty). 0, or -1 with the
 * outcome filled. */
static int rf_slot_eject(struct rf_op *op, struct rf_slot *slot)
{
    char target[RF_PATH_MAX], info[RF_PATH_MAX], etag[HTTP_HEADER_VALUE_MAX];
    struct rf_response resp;
    int r;

    if (!rfprov_slot_inserted(slot->doc))
        return 0;
    if (!rf_slot_action(slot, "#VirtualMedia.EjectMedia", target, info))
        r = rf_media_send(op, "POST", target, "{}", slot, NULL, &resp);
    else if (rf_slot_reread(op, slot, etag, sizeof(etag)))
        return -1;
    else
        r = rf_media_send(op, "PATCH", slot->path,
                          "{\"Image\":null,\"Inserted\":false}", slot, etag,
                          &resp);
    if (r < 0)
        return -1;
    /* A refusal: the slot may have been empty already (iLO answers an
     * error then); reading it back decides. */
    int rr = rf_slot_reread(op, slot, NULL, 0);
    if (rr == 0 && !rfprov_slot_inserted(slot->doc)) {
        if (r == 1)
            rf_response_free(&resp);
        return 0;
    }
    if (r == 1) {
        if (rr == 0)
            rf_fail_status(op, "eject", slot->path, &resp);
        rf_response_free(&resp);
    } else if (rr == 0) {
        outcome_fail(op->out, BMC_ERR_EXECUTION_FAILED,
                     "the BMC accepted the eject but %s still holds media",
                     slot->path);
    }
    return -1;
}

/* The InsertMedia body: Image, and the others only when the ActionInfo
 * (read from INFO_PATH, "" when none) lists them. */
static int rf_insert_body(struct rf_op *op, const char *info_path,
                          const char *image, bool wp, char *body, size_t len)
{
    json_object *info = NULL, *o = json_object_new_object();

    if (info_path[0] && rf_get(op, info_path, &info, NULL, 0)) {
        json_object_put(o);
        return -1;
    }
    json_object_object_add(o, "Image", json_object_new_string(image));
    if (rfprov_info_allows(info, "Inserted"))
        json_object_object_add(o, "Inserted", json_object_new_boolean(1));
    if (rfprov_info_allows(info, "WriteProtected"))
        json_object_object_add(o, "WriteProtected",
                               json_object_new_boolean(wp));
    if (rfprov_info_allows(info, "TransferProtocolType"))
        json_object_object_add(
            o, "TransferProtocolType",
            json_object_new_string(strncasecmp(image, "https", 5) ? "HTTP"
                                                                  : "HTTPS"));
    snprintf(body, len, "%s", json_compact(o));
    json_object_put(o);
    json_object_put(info);
    return 0;
}

/* Insert IMAGE into SLOT (ejecting what it holds first). 0 when the read
 * back shows it inserted, else -1 with the outcome filled. */
static int rf_slot_insert(struct rf_op *op, struct rf_slot *slot,
                          const char *image, bool wp)
{
    char target[RF_PATH_MAX], info[RF_PATH_MAX], etag[HTTP_HEADER_VALUE_MAX];
    char body[1400];
    struct rf_response resp;
    json_object *o;
    int r;

    if (rf_slot_eject(op, slot))
        return -1;
    if (!rf_slot_action(slot, "#VirtualMedia.InsertMedia", target, info)) {
        if (rf_insert_body(op, info, image, wp, body, sizeof(body)))
            return -1;
        r = rf_media_send(op, "POST", target, body, slot, NULL, &resp);
    } else {
        if (rf_slot_reread(op, slot, etag, sizeof(etag)))
            return -1;
        o = json_object_new_object();
        json_object_object_add(o, "Image", json_object_new_string(image));
        json_object_object_add(o, "Inserted", json_object_new_boolean(1));
        json_object_object_add(o, "WriteProtected",
                               json_object_new_boolean(wp));
        snprintf(body, sizeof(body), "%s", json_compact(o));
        json_object_put(o);
        r = rf_media_send(op, "PATCH", slot->path, body, slot, etag, &resp);
    }
    explicit_bzero(body, sizeof(body)); /* the URL may carry a password */
    if (r == 1) {
        rf_fail_status(op, "insert", slot->path, &resp);
        rf_response_free(&resp);
    }
    /* a BMC's error may quote the URL: never pass its password on */
    rfprov_scrub_userinfo(image, op->out->details);
    rfprov_scrub_userinfo(image, op->out->message);
    if (r || rf_slot_reread(op, slot, NULL, 0))
        return -1;
    if (rfprov_slot_inserted(slot->doc) && rfprov_slot_shows(slot->doc, image))
        return 0;
    outcome_done(op->out, false,
                 "The BMC accepted the image but the slot does not show it "
                 "inserted",
                 rfprov_slot_json(slot->doc, slot->location));
    return -1;
}

/* ---- the operations ----------------------------------------------------- */

void redfish_get_virtual_media(const struct bmc_call *call,
                               struct bmc_outcome *out)
{
    struct rf_op op;
    struct rf_slots s = {0};
    json_object *data, *list;

    rf_op_begin(&op, "get_virtual_media", call, out);
    if (rf_slots_find(&op, &s))
        goto out;
    data = json_object_new_object();
    list = json_object_new_array();
    for (size_t i = 0; i < s.n; i++)
        json_object_array_add(list,
                              rfprov_slot_json(s.v[i].doc, s.v[i].location));
    json_object_object_add(data, "slots", list);
    outcome_done(out, true, NULL, data);
out:
    rf_slots_free(&s);
    rf_op_end(&op);
}

static const char *rf_media_param(struct rf_op *op)
{
    const char *media = NULL;

    rf_param_string(op, "media", &media);
    return media ? media : "cd";
}

void redfish_insert_virtual_media(const struct bmc_call *call,
                                  struct bmc_outcome *out)
{
    struct rf_op op;
    struct rf_slots s = {0};
    struct rf_slot *slot;
    const char *image;
    json_object *v;
    bool wp = true;

    rf_op_begin(&op, "insert_virtual_media", call, out);
    if (rf_param_string(&op, "image", &image))
        goto out;
    if (!image || !rfprov_media_url_ok(image)) {
        outcome_fail(out, BMC_ERR_INVALID_PARAMETERS,
                     "parameter 'image' must be an http:// or https:// URL");
        goto out;
    }
    if (json_object_object_get_ex(call->params, "write_protected", &v) &&
        json_object_is_type(v, json_type_boolean))
        wp = json_object_get_boolean(v);
    if (rf_slots_find(&op, &s) ||
        !(slot = rf_slot_pick(&op, &s, rf_media_param(&op))))
        goto out;
    if (rf_slot_insert(&op, slot, image, wp) == 0)
        outcome_done(out, true, NULL,
                     rfprov_slot_json(slot->doc, slot->location));
out:
    rf_slots_free(&s);
    rf_op_end(&op);
}

void redfish_eject_virtual_media(const struct bmc_call *call,
                                 struct bmc_outcome *out)
{
    struct rf_op op;
    struct rf_slots s = {0};
    struct rf_slot *slot;

    rf_op_begin(&op, "eject_virtual_media", call, out);
    if (rf_slots_find(&op, &s) ||
        !(slot = rf_slot_pick(&op, &s, rf_media_param(&op))))
        goto out;
    if (rf_slot_eject(&op, slot) == 0)
        outcome_done(out, true, NULL,
                     rfprov_slot_json(slot->doc, slot->location));
out:
    rf_slots_free(&s);
    rf_op_end(&op);
}
