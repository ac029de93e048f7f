/* redfish_logs.c - the system event log over Redfish: get_event_log and
 * clear_event_log (see redfish_private.h).
 *
 * The SEL is found among the LogServices of the managers and of the system,
 * never by a fixed path: a LogService whose LogEntryType is "SEL" wins;
 * else one whose Id is a known SEL name (table below, each row with the
 * BMC it comes from). clear_event_log POSTs #LogService.ClearLog to that
 * one log only (bmclib clears every log of every chassis; we never do) and
 * follows a task monitor when the BMC answers 202. Entries are read page
 * by page (Members@odata.nextLink): the newest LIMIT of them
 * (rf_read_newest), answered newest first. */
#include "autoconfig.h"
#include "redfish_private.h"

#include "errors.h"
#include "health.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define RF_MANAGERS_MAX 4

/* LogService Ids that are the SEL where LogEntryType does not say so. */
static const char *const rf_sel_ids[] = {
    "SEL",      /* DMTF mockups, XClarity */
    "Sel",      /* iDRAC: Managers/iDRAC.Embedded.1/LogServices/Sel */
    "IML",      /* iLO: Systems/1/LogServices/IML */
    "EventLog", /* OpenBMC bmcweb: Systems/system/LogServices/EventLog */
    "Log1",     /* Supermicro: Managers/1/LogServices/Log1 */
    NULL};

/* The best SEL candidate seen so far. */
struct rf_sel {
    int score; /* 2 LogEntryType SEL, 1 known Id, 0 none */
    char path[RF_PATH_MAX];
    json_object *service; /* the LogService document */
};

static int rf_sel_score(json_object *svc)
{
    const char *type = rfp_string(svc, "LogEntryType"),
               *id = rfp_string(svc, "Id");

    if (type && !strcmp(type, "SEL"))
        return 2;
    for (size_t i = 0; id && rf_sel_ids[i]; i++)
        if (!strcmp(id, rf_sel_ids[i]))
            return 1;
    return 0;
}

static bool rf_on_log_service(struct rf_op *op, json_object *svc, void *arg)
{
    struct rf_sel *sel = arg;
    int score = rf_sel_score(svc);

    (void)op;
    if (score > sel->score &&
        rfp_copy_path(rfp_string(svc, "@odata.id"), sel->path,
                      sizeof(sel->path)) == 0) {
        json_object_put(sel->service);
        sel->service = json_object_get(svc);
        sel->score = score;
    }
    return sel->score < 2;
}

/* The LogServices of resource DOC, into SEL. 0 or -1. */
static int rf_scan_services(struct rf_op *op, json_object *doc,
                            struct rf_sel *sel)
{
    char path[RF_PATH_MAX];

    if (rfp_link(doc, "LogServices", path, sizeof(path)))
        return 0;
    return rf_each_member(op, path, 32, rf_on_log_service, sel);
}

static bool rf_on_manager(struct rf_op *op, json_object *mgr, void *arg)
{
    return rf_scan_services(op, mgr, arg) == 0 &&
           ((struct rf_sel *)arg)->score < 2;
}

/* Find the SEL of the call's system and its managers. 0 or -1. */
static int rf_find_sel(struct rf_op *op, struct rf_sel *sel)
{
    char path[RF_PATH_MAX];

    memset(sel, 0, sizeof(*sel));
    if (rf_find_system(op) || rf_scan_services(op, op->system, sel))
        return -1;
    if (sel->score < 2 &&
        rfp_link(op->root, "Managers", path, sizeof(path)) == 0 &&
        rf_each_member(op, path, RF_MANAGERS_MAX, rf_on_manager, sel))
        return -1;
    if (op->out->code)
        return -1;
    if (!sel->service) {
        outcome_fail(op->out, BMC_ERR_EXECUTION_FAILED,
                     "No system event log among the LogServices of the "
                     "system and its managers");
        return -1;
    }
    return 0;
}

/* What get_event_log collects. */
struct rf_entries {
    json_object *list;
    int limit;
};

static bool rf_on_entry(struct rf_op *op, json_object *e, void *arg)
{
    struct rf_entries *re = arg;
    const char *sensor = rfp_string(e, "SensorType");

    (void)op;
    json_object_array_add(
        re->list,
        health_log_entry_new(rfp_string(e, "Id"), rfp_string(e, "Created"),
                             health_severity(rfp_string(e, "Severity")),
                             rfp_string(e, "Message"), sensor));
    return (int)json_object_array_length(re->list) < re->limit;
}

/* The first Entries page: its Members@odata.count (or -1) and whether its
 * entries run oldest first (their Created times rise; -1 unknown). */
static int rf_entries_first_page(struct rf_op *op, const char *path,
                                 long *total, int *ascending)
{
    json_object *page = NULL, *v, *members;
    size_t n;

    *total = -1;
    *ascending = -1;
    if (rf_get(op, path, &page, NULL, 0))
        return -1;
    if (json_object_object_get_ex(page, "Members@odata.count", &v) &&
        json_object_is_type(v, json_type_int))
        *total = (long)json_object_get_int64(v);
    if (json_object_object_get_ex(page, "Members", &members) &&
        json_object_is_type(members, json_type_array) &&
        (n = json_object_array_length(members)) > 1) {
        const char *a = rfp_string(json_object_array_get_idx(members, 0),
                                   "Created"),
                   *b = rfp_string(json_object_array_get_idx(members, n - 1),
                                   "Created");
        if (a && b && strcmp(a, b))
            *ascending = strcmp(a, b) < 0;
    }
    json_object_put(page);
    return 0;
}

/* Read the newest LIMIT entries of the log at PATH into RE. Most services
 * list oldest first: then the read starts at $skip = total - limit (OData
 * paging every service we know honours); one that ignores $skip, or gives
 * no count or order, is read whole (bounded by HEALTH_LOG_MAX) and sorted. */
static int rf_read_newest(struct rf_op *op, const char *path,
                          struct rf_entries *re, long *total)
{
    char from[RF_PATH_MAX];
    int ascending;

    if (rf_entries_first_page(op, path, total, &ascending))
        return -1;
    if (*total >= 0 && *total <= re->limit)
        return rf_each_member(op, path, (size_t)re->limit, rf_on_entry, re);
    if (ascending == 0)
        return rf_each_member(op, path, (size_t)re->limit, rf_on_entry, re);
    if (ascending == 1 && *total > 0 &&
        snprintf(from, sizeof(from), "%s%s$skip=%ld", path,
                 strchr(path, '?') ? "&" : "?",
                 *total - re->limit) < (int)sizeof(from)) {
        if (rf_each_member(op, from, (size_t)re->limit, rf_on_entry, re))
            return -1;
        if ((long)json_object_array_length(re->list) == re->limit)
            return 0; /* else $skip was not honoured: read it whole */
        while (json_object_array_length(re->list))
            json_object_array_del_idx(re->list, 0, 1);
    }
    int limit = re->limit;
    re->limit = HEALTH_LOG_MAX;
    int rc = rf_each_member(op, path, HEALTH_LOG_MAX, rf_on_entry, re);
    re->limit = limit;
    return rc;
}

void redfish_get_event_log(const struct bmc_call *call,
                           struct bmc_outcome *out)
{
    struct rf_op op;
    struct rf_sel sel;
    struct rf_entries re = {json_object_new_array(), 0};
    char path[RF_PATH_MAX];
    long total = -1;

    re.limit = health_param_int(call, "limit", HEALTH_LOG_DEFAULT);
    rf_op_begin(&op, "get_event_log", call, out);
    if (rf_find_sel(&op, &sel))
        goto out;
    if (rfp_link(sel.service, "Entries", path, sizeof(path))) {
        outcome_fail(out, BMC_ERR_EXECUTION_FAILED, "%s has no Entries",
                     sel.path);
        goto out;
    }
    if (re.limit > 0 && rf_read_newest(&op, path, &re, &total))
        goto out;
    if (!out->code) {
        json_object *data = health_log_data(re.list, re.limit, total);
        re.list = NULL;
        json_object_object_add(data, "log", json_object_new_string(sel.path));
        outcome_done(out, true, NULL, data);
    }
out:
    json_object_put(re.list);
    json_object_put(sel.service);
    rf_op_end(&op);
}

void redfish_clear_event_log(const struct bmc_call *call,
                             struct bmc_outcome *out)
{
    struct rf_op op;
    struct rf_sel sel;
    struct rf_response resp;
    char target[RF_PATH_MAX], monitor[RF_PATH_MAX], state[64];
    json_object *actions, *clear, *data;
    bool bad;

    rf_op_begin(&op, "clear_event_log", call, out);
    if (rf_find_sel(&op, &sel))
        goto out;
    if (!(actions = rf_member(sel.service, "Actions")) ||
        !(clear = rf_member(actions, "#LogService.ClearLog")) ||
        rfp_copy_path(rfp_string(clear, "target"), target, sizeof(target))) {
        outcome_fail(out, BMC_ERR_EXECUTION_FAILED,
                     "%s offers no #LogService.ClearLog", sel.path);
        goto out;
    }
    if (rf_write(&op, "POST", target, "{}", sel.path, NULL, &resp))
        goto out;
    if (!rf_status_ok(resp.status)) {
        rf_fail_status(&op, "POST", target, &resp);
    } else if (resp.status == 202 &&
               !rfp_location_path(resp.location, monitor, sizeof(monitor)) &&
               rf_follow_task(&op, monitor, state, sizeof(state), &bad) < 0) {
        if (bad)
            outcome_fail(out, BMC_ERR_EXECUTION_FAILED,
                         "ClearLog task ended in state %s", state);
    } else {
        data = json_object_new_object();
        json_object_object_add(data, "cleared", json_object_new_boolean(1));
        json_object_object_add(data, "log", json_object_new_string(sel.path));
        outcome_done(out, true, NULL, data);
    }
    rf_response_free(&resp);
out:
    json_object_put(sel.service);
    rf_op_end(&op);
}
