/* redfish_op.c - one Redfish operation and its exchanges: the begin/end
 * bookkeeping, GETs of JSON documents, mutating writes with the If-Match
 * retry, task monitors, and the classification of HTTP errors (see
 * redfish_private.h). */
#include "autoconfig.h"
#include "redfish_private.h"

#include "clock.h"
#include "config.h"
#include "errors.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

void rf_op_begin(struct rf_op *op, const char *name,
                 const struct bmc_call *call, struct bmc_outcome *out)
{
    memset(op, 0, sizeof(*op));
    op->call = call;
    op->out = out;
    op->name = name;
    op->start = clock_now_mono();
    rf_transport_stats(&op->requests0, &op->connections0);
    outcome_clear(out);
}

void rf_op_end(struct rf_op *op)
{
    long requests, connections;
    char qdetails[300];

    rf_transport_stats(&requests, &connections);
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

int rf_exchange(struct rf_op *op, const char *method, const char *path,
                const char *body, const char *if_match, bool mutating,
                struct rf_response *resp)
{
    char err[300];
    const struct bmc_conn *conn = op->call->conn;
    struct rf_request req = {method,   conn->ip,       conn->port,
                             path,     conn->username, conn->password,
                             body,     if_match,       op->call->deadline,
                             mutating, conn->tls_pin};
    int code = rf_transport_request(&req, resp, err, sizeof(err));

    if (code)
        outcome_fail(op->out, code, "%s", err);
    return code ? -1 : 0;
}

void rf_fail_status(struct rf_op *op, const char *method, const char *path,
                    const struct rf_response *resp)
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

bool rf_status_ok(long status)
{
    return status >= 200 && status < 300;
}

/* See redfish_private.h. */
int rf_get(struct rf_op *op, const char *path, json_object **doc, char *etag,
           size_t etaglen)
{
    struct rf_response resp;
    char err[200];
    int rc = -1;

    *doc = NULL;
    if (rf_exchange(op, "GET", path, NULL, NULL, false, &resp))
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
    snprintf(op->allow, sizeof(op->allow), "%s", resp.allow);
    if (etag) {
        const char *odata = rfp_string(*doc, "@odata.etag");
        snprintf(etag, etaglen, "%s",
                 resp.etag[0] ? resp.etag
                 : odata      ? odata
                              : "");
    }
    rc = 0;
out:
    rf_response_free(&resp);
    return rc;
}

int rf_write(struct rf_op *op, const char *method, const char *path,
             const char *body, const char *etag_source, const char *etag,
             struct rf_response *resp)
{
    char fresh[HTTP_HEADER_VALUE_MAX];
    json_object *doc = NULL;
    const char *if_match = etag && *etag ? etag : NULL;

    if (rf_exchange(op, method, path, body, if_match, true, resp))
        return -1;
    if (resp->status != 412 && resp->status != 428)
        return 0;
    rf_response_free(resp);
    if (rf_get(op, etag_source, &doc, fresh, sizeof(fresh)))
        return -1;
    json_object_put(doc);
    return rf_exchange(op, method, path, body, fresh[0] ? fresh : "*", true,
                       resp);
}

int rf_follow_task(struct rf_op *op, const char *path, char *state,
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
        if (rf_exchange(op, "GET", path, NULL, NULL, false, &resp))
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
        rf_response_free(&resp);
        if (rc)
            return rc;
    }
    return 0;
}

int rf_param_string(struct rf_op *op, const char *key, const char **value)
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

json_object *rf_string_or_null(json_object *obj, const char *key)
{
    const char *s = rfp_string(obj, key);
    return s ? json_object_new_string(s) : NULL;
}

bool rf_number(json_object *obj, const char *key, double *out)
{
    json_object *v;

    if (!obj || !json_object_object_get_ex(obj, key, &v) ||
        !(json_object_is_type(v, json_type_int) ||
          json_object_is_type(v, json_type_double)))
        return false;
    *out = json_object_get_double(v);
    return true;
}

json_object *rf_member(json_object *obj, const char *key)
{
    json_object *v;

    return obj && json_object_object_get_ex(obj, key, &v) &&
                   json_object_is_type(v, json_type_object)
               ? v
               : NULL;
}

/* Whether member I of PAGE was already seen (its path in SEEN); adds it. */
static bool rf_seen_before(json_object *seen, const char *path)
{
    if (json_object_object_get_ex(seen, path, NULL))
        return true;
    json_object_object_add(seen, path, NULL);
    return false;
}

/* One page of rf_each_member: 1 go on, 0 stop (FN, MAX, all seen), -1. */
static int rf_each_on_page(struct rf_op *op, json_object *page,
                           json_object *seen, size_t max, size_t *done,
                           bool (*fn)(struct rf_op *, json_object *, void *),
                           void *arg)
{
    json_object *members, *doc;
    char path[RF_PATH_MAX];
    bool fresh = false;

    if (!json_object_object_get_ex(page, "Members", &members) ||
        !json_object_is_type(members, json_type_array))
        return 0;
    for (size_t i = 0; i < json_object_array_length(members); i++) {
        json_object *m = json_object_array_get_idx(members, i);
        if (*done >= max)
            return 0;
        if (rfp_copy_path(rfp_string(m, "@odata.id"), path, sizeof(path)) ||
            rf_seen_before(seen, path))
            continue;
        fresh = true;
        if (json_object_object_length(m) > 1) {
            doc = json_object_get(m);
        } else if (rf_get(op, path, &doc, NULL, 0)) {
            return -1;
        }
        (*done)++;
        bool go_on = fn(op, doc, arg);
        json_object_put(doc);
        if (!go_on)
            return 0;
    }
    return fresh ? 1 : 0;
}

int rf_each_member(struct rf_op *op, const char *path, size_t max,
                   bool (*fn)(struct rf_op *op, json_object *member,
                              void *arg),
                   void *arg)
{
    char next[RF_PATH_MAX];
    json_object *page = NULL, *seen = json_object_new_object(),
                *links = json_object_new_object();
    size_t done = 0;
    int rc = 0;

    snprintf(next, sizeof(next), "%s", path);
    for (int pages = 0; pages < RF_PAGES_MAX; pages++) {
        json_object_object_add(links, next, NULL);
        if (rf_get(op, next, &page, NULL, 0)) {
            rc = -1;
            break;
        }
        int r = rf_each_on_page(op, page, seen, max, &done, fn, arg);
        if (r <= 0 || rfp_next_link(page, next, sizeof(next)) ||
            json_object_object_get_ex(links, next, NULL)) {
            rc = r < 0 ? -1 : 0;
            break;
        }
        json_object_put(page);
        page = NULL;
    }
    json_object_put(page);
    json_object_put(seen);
    json_object_put(links);
    return rc;
}
