/* fuzz_redfish - libFuzzer target: everything the Redfish backend reads
 * from a BMC (src/redfish_parse.h). Input: one response body. It is read
 * as each document the backend follows: service root, systems collection
 * (members, next link), system (reset action, power state), ActionInfo,
 * account (and an accounts collection's inline members), task monitor,
 * error body; the raw bytes also as a Location header and a path.
 * Provisioning (src/redfish_prov_parse.h): the document as a system's Boot,
 * a VirtualMedia slot and an ActionInfo; the raw bytes as an image URL.
 * Checked: every path handed back is one rfp_path_ok accepts, every plan
 * names a ResetType the BMC offered, texts stay bounded and printable, a
 * redacted or scrubbed URL never keeps its password. */
#include "autoconfig.h"

#include "redfish_parse.h"
#include "redfish_prov_parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BODY (1 << 20) /* the Redfish transport's bound on a BMC body */

static void check_path(int rc, const char *out)
{
    if (rc == 0 && (!rfp_path_ok(out) || strlen(out) >= RF_PATH_MAX))
        abort();
}

static void check_types(const struct rf_types *t)
{
    if (t->n > RF_TYPES_MAX)
        abort();
    for (size_t i = 0; i < t->n; i++)
        if (!t->v[i][0] || strnlen(t->v[i], RF_NAME_MAX) >= RF_NAME_MAX)
            abort();
}

static void plan_one(const char *name, const struct rf_types *types)
{
    struct rf_plan plan;

    rfp_plan_action(name, types, &plan);
    switch (plan.kind) {
    case RF_PLAN_UNSUPPORTED: break;
    case RF_PLAN_RESET:
        if (!rfp_types_has(types, plan.reset_type))
            abort();
        break;
    case RF_PLAN_CYCLE_SEQUENCE:
        if (!rfp_types_has(types, plan.off_type) ||
            !rfp_types_has(types, plan.on_type) || strcmp(name, "cycle") != 0)
            abort();
        break;
    default: abort();
    }
}

/* Plan every alias and every offered name, then drop the offers one by one. */
static void plan_all(struct rf_types *types, const char *extra)
{
    static const char *const aliases[] = {"on",    "off",   "soft",
                                          "reset", "cycle", "status"};

    check_types(types);
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        plan_one(aliases[i], types);
    for (size_t i = 0; i < types->n; i++)
        plan_one(types->v[i], types);
    if (extra)
        plan_one(extra, types);
    json_object_put(rfp_actions_json(types));
    while (types->n) {
        size_t n = types->n;
        char name[RF_NAME_MAX];
        memcpy(name, types->v[n - 1], sizeof(name));
        rfp_types_remove(types, name);
        if (types->n != n - 1 || rfp_types_has(types, name))
            abort();
    }
}

static void read_collection(json_object *doc)
{
    char out[RF_PATH_MAX];
    size_t n = rfp_member_count(doc);

    for (size_t i = 0; i <= n && i < 64; i++)
        check_path(rfp_member_path(doc, i, out, sizeof(out)), out);
    check_path(rfp_member_path(doc, (size_t)-1, out, sizeof(out)), out);
    check_path(rfp_next_link(doc, out, sizeof(out)), out);
    for (size_t i = 0; i < n && i < 64; i++) {
        json_object *m = json_object_array_get_idx(
            json_object_object_get(doc, "Members"), i);
        json_object_put(rfp_user_json(m)); /* $expand-ed accounts */
    }
}

static void read_document(json_object *doc)
{
    static const char *const links[] = {
        "Systems", "AccountService", "SessionService", "Accounts",
        "Tasks",   "Managers",       "Chassis"};
    char out[RF_PATH_MAX], state[64];
    struct rf_reset reset;
    struct rf_types types;

    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
        check_path(rfp_link(doc, links[i], out, sizeof(out)), out);
    read_collection(doc);
    if (rfp_reset_action(doc, &reset) == 0) {
        check_path(0, reset.target);
        if (reset.action_info[0])
            check_path(0, reset.action_info);
    }
    plan_all(&reset.types, rfp_string(doc, "PowerState"));
    rfp_types_from_action_info(doc, &types);
    plan_all(&types, rfp_string(doc, "Name"));
    rfp_types_from_array(
        json_object_object_get(doc, "ResetType@Redfish.AllowableValues"),
        &types);
    plan_all(&types, NULL);
    json_object_put(rfp_user_json(doc));
    int ts = rfp_task_state(doc, state, sizeof(state));
    if (ts < -1 || ts > 1 || !memchr(state, '\0', sizeof(state)))
        abort();
}

static void read_error(const char *body, size_t len)
{
    char reason[300];

    rfp_error_reason(body, len, reason, sizeof(reason));
    for (const unsigned char *p = (const unsigned char *)reason; *p; p++)
        if (*p < 0x20 || *p >= 0x7f)
            abort();
    (void)rfp_error_is_state_conflict(body, len);
    (void)rfp_error_is_unsupported_value(body, len);
}

static void read_provisioning(json_object *doc)
{
    static const char *const devices[] = {"pxe",  "disk", "cd",  "usb",
                                          "bios", "http", "none"};
    json_object *boot = rfprov_boot_of(doc), *st;

    st = rfprov_boot_state(boot);
    for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
        (void)rfprov_boot_matches(st, devices[i], i % 2, NULL);
        (void)rfprov_boot_allows(boot, "BootSourceOverrideTarget",
                                 rfprov_target_of(devices[i]));
    }
    json_object_put(st);
    json_object_put(rfprov_slot_json(doc, "manager"));
    (void)rfprov_slot_inserted(doc);
    (void)rfprov_slot_takes(doc, "CD");
    (void)rfprov_info_allows(doc, "Image");
}

/* S as an image URL: redaction and scrubbing never leave the password. */
static void read_url(const char *s)
{
    char out[2048], text[2048];
    const char *auth = strstr(s, "://"), *at;

    (void)rfprov_media_url_ok(s);
    rfprov_media_redact(s, out, sizeof(out));
    snprintf(text, sizeof(text), "%s", s);
    rfprov_scrub_userinfo(s, text);
    size_t pre = auth ? (size_t)(auth + 3 - s) : 0;
    if (auth && (at = strchr(auth + 3, '@')) && strlen(s) + 4 < sizeof(out) &&
        (size_t)(at - auth - 3) < strcspn(auth + 3, "/?#") &&
        (memcmp(out, s, pre) || memcmp(out + pre, "***@", 4)))
        abort();
}

static void read_strings(const char *s)
{
    char out[RF_PATH_MAX], leaf[RF_NAME_MAX];

    (void)rfp_path_ok(s);
    check_path(rfp_location_path(s, out, sizeof(out)), out);
    rfp_path_leaf(s, leaf, sizeof(leaf));
    (void)rfp_is_alias(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];

    if (size > MAX_BODY)
        return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    json_object *doc = rfp_parse_object(text, size, err, sizeof(err));
    if (!doc && !err[0])
        abort();
    if (doc) {
        read_document(doc);
        read_provisioning(doc);
    }
    json_object_put(doc);
    read_error(text, size);
    read_strings(text);
    read_url(text);
    free(text);
    return 0;
}
