/* redfish_discovery.c - the way to the resources: service root, the
 * Systems collection and the system a call names, the system's manager,
 * and validate_connection, whose root and Systems page the rest of the
 * engine call reuses (see redfish_private.h). */
#include "autoconfig.h"
#include "redfish_private.h"

#include "errors.h"

#include <stdio.h>
#include <string.h>

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

void rf_cache_clear(void)
{
    json_object_put(rf_cache.root);
    json_object_put(rf_cache.systems);
    memset(&rf_cache, 0, sizeof(rf_cache));
}

static bool rf_cache_serves(const struct bmc_call *call)
{
    return rf_cache.conn == call->conn && rf_cache.root != NULL;
}

int rf_get_root(struct rf_op *op)
{
    if (!op->root && rf_cache_serves(op->call))
        op->root = json_object_get(rf_cache.root);
    return op->root ? 0 : rf_get(op, RF_ROOT, &op->root, NULL, 0);
}

/* A page of a collection at PATH: the cached Systems page when it is that
 * one, else a GET. */
int rf_get_page(struct rf_op *op, const char *path, json_object **page)
{
    if (rf_cache_serves(op->call) && rf_cache.systems &&
        !strcmp(path, rf_cache.systems_path)) {
        *page = json_object_get(rf_cache.systems);
        return 0;
    }
    return rf_get(op, path, page, NULL, 0);
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
int rf_find_system(struct rf_op *op)
{
    const char *want;

    if (rf_param_string(op, "system_id", &want) ||
        rf_find_system_path(op, want))
        return -1;
    return rf_get(op, op->system_path, &op->system, NULL, 0);
}

void redfish_validate_connection(const struct bmc_call *call,
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

/* The path of the manager of the system: Links.ManagedBy[0], else the
 * first member of the root's Managers collection. 0 or -1. */
int rf_manager_path(struct rf_op *op, char *path, size_t pathlen)
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

int rf_chassis_path(struct rf_op *op, char *path, size_t pathlen)
{
    json_object *links, *list, *coll = NULL;
    const char *first = NULL;
    int rc = -1;

    if ((links = rf_member(op->system, "Links")) &&
        json_object_object_get_ex(links, "Chassis", &list) &&
        json_object_is_type(list, json_type_array) &&
        json_object_array_length(list) > 0)
        first = rfp_string(json_object_array_get_idx(list, 0), "@odata.id");
    if (first && rfp_copy_path(first, path, pathlen) == 0)
        return 0;
    if (rf_get_root(op))
        return -1;
    if (rfp_link(op->root, "Chassis", path, pathlen)) {
        outcome_fail(op->out, BMC_ERR_EXECUTION_FAILED,
                     "No Chassis in the Redfish service root");
        return -1;
    }
    if (rf_get(op, path, &coll, NULL, 0))
        return -1;
    if (rfp_member_path(coll, 0, path, pathlen))
        outcome_fail(op->out, BMC_ERR_EXECUTION_FAILED,
                     "No Chassis found in Redfish collection");
    else
        rc = 0;
    json_object_put(coll);
    return rc;
}
