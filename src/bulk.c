/* bulk.c - fleet operations (see bulk.h). */
#include "autoconfig.h"
#include "bulk.h"

#include "api.h"
#include "auth.h"
#include "engine.h"
#include "errors.h"
#include "executor.h"
#include "jsonutil.h"
#include "log.h"
#include "methods.h"
#include "probe.h"
#include "request.h"
#include "response.h"
#include "taskstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BULK_FIELDS_ACTION  (REQ_ACTION | REQ_DELAY | REQ_RETRY | REQ_WAIT)
#define BULK_FIELDS_EXECUTE (REQ_METHOD | REQ_PARAMS | REQ_DELAY | REQ_RETRY)
#define BULK_JSON_DEPTH     (REQUEST_JSON_DEPTH + 2) /* targets[i].x */
#define CANCEL_DETAILS      "cancelled before it started"

/* One target of a submission: its validated request, or why not. */
struct target {
    struct api_request req;
    enum bmc_err code; /* 0: to run */
    char details[256];
    char ip[BMC_IP_MAX]; /* what the target said, for a refused one */
};

/* A submission being built: the body, the call, the targets. */
struct submission {
    json_object *body, *targets, *defaults;
    struct api_request call;
    const struct method_def *method;
    struct target *t;
    size_t n;
};

/* ---- the call: what every target runs ------------------------------------ */

static int targets_ok(json_object *targets)
{
    size_t n;

    if (!targets || !json_object_is_type(targets, json_type_array))
        return 0;
    n = json_object_array_length(targets);
    if (n < 1 || n > TASKSTORE_MAX_CHILDREN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!json_object_is_type(json_object_array_get_idx(targets, i),
                                 json_type_object))
            return 0;
    return 1;
}

/* The body without `targets`: the call and the targets' defaults. */
static json_object *defaults_of(json_object *body)
{
    json_object *d = json_object_new_object();
    struct json_object_iterator it = json_object_iter_begin(body),
                                end = json_object_iter_end(body);

    for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
        if (strcmp(json_object_iter_peek_name(&it), "targets") != 0)
            json_object_object_add(
                d, json_object_iter_peek_name(&it),
                json_object_get(json_object_iter_peek_value(&it)));
    return d;
}

/* The body as JSON, its targets and the call, checked before any target
 * is: 0, or the whole call's refusal in RESP. */
static int parse_call(const struct http_request *req, unsigned fields,
                      const char *name, struct submission *s,
                      struct http_response *resp)
{
    char why[128];
    int rc;

    s->body = json_parse_strict(req->body, req->body_len, BULK_JSON_DEPTH, why,
                                sizeof(why));
    if (!s->body || !json_object_is_type(s->body, json_type_object)) {
        response_error(resp, BMC_ERR_INVALID_REQUEST, name, NULL, "%s%s",
                       s->body ? "the request body must be a JSON object"
                               : "malformed JSON body: ",
                       s->body ? "" : why);
        return -1;
    }
    json_object_object_get_ex(s->body, "targets", &s->targets);
    if (!targets_ok(s->targets)) {
        response_error(resp, BMC_ERR_INVALID_PARAMETERS, name, NULL,
                       "targets must be an array of 1 to %d objects, each "
                       "a BMC's connection fields (ip, username, password "
                       "or credential, ...)",
                       TASKSTORE_MAX_CHILDREN);
        return -1;
    }
    s->defaults = defaults_of(s->body);
    s->call.retry_times = 1;
    rc = request_check_call(s->defaults, fields | REQ_CALLBACK, &s->call, why,
                            sizeof(why));
    if (rc) {
        response_error(resp, rc, name, NULL, "%s", why);
        return -1;
    }
    if (!s->call.params)
        s->call.params = json_object_new_object();
    return 0;
}

/* The caller's role against the method's, then the method and its
 * parameters (as a single call checks them): 0, or the refusal. */
static int resolve_method(const struct http_request *req, const char *fixed,
                          struct submission *s, struct http_response *resp)
{
    char details[256];
    const char *name = fixed ? fixed : s->call.method;
    const struct method_def *want = methods_find(name);
    int rc = want
                 ? auth_require(req->who, want->role, details, sizeof(details))
                 : 0;

    if (!rc && fixed && !strcmp(fixed, "run_action"))
        json_object_object_add(s->call.params, "action_name",
                               json_object_new_string(s->call.action));
    if (!rc)
        rc = methods_resolve(name, s->call.params, &s->method, details,
                             sizeof(details));
    if (rc)
        response_error(resp, rc, name, NULL, "%s", details);
    return rc;
}

/* ---- the targets ------------------------------------------------------- */

/* DEFAULTS with TARGET's fields over them (references, no copies); the
 * callback is the parent's, not a child's. */
static json_object *merged(json_object *defaults, json_object *target)
{
    json_object *m = json_object_new_object();
    json_object *sources[2] = {defaults, target};

    for (int k = 0; k < 2; k++) {
        struct json_object_iterator it = json_object_iter_begin(sources[k]),
                                    end = json_object_iter_end(sources[k]);
        for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
            if (k || strcmp(json_object_iter_peek_name(&it), "callback_url"))
                json_object_object_add(
                    m, json_object_iter_peek_name(&it),
                    json_object_get(json_object_iter_peek_value(&it)));
    }
    return m;
}

/* What a refused target said its ip was (a short printable string), so
 * its failed child names it. */
static void raw_ip(json_object *target, char *out, size_t len)
{
    json_object *v;
    const char *s;

    out[0] = '\0';
    if (!json_object_object_get_ex(target, "ip", &v) ||
        !json_object_is_type(v, json_type_string))
        return;
    s = json_object_get_string(v);
    for (size_t i = 0; s[i]; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || i + 1 >= len)
            return;
    snprintf(out, len, "%s", s);
}

static void check_target(struct submission *s, unsigned fields, size_t i)
{
    struct target *t = &s->t[i];
    json_object *target = json_object_array_get_idx(s->targets, i);
    json_object *view = merged(s->defaults, target);

    t->code = request_from_object(view, fields, &t->req, t->details,
                                  sizeof(t->details));
    json_object_put(view);
    if (!t->code)
        t->code = methods_check_supported(s->method,
                                          engine_backend(t->req.conn.protocol),
                                          t->details, sizeof(t->details));
    if (t->code)
        raw_ip(target, t->ip, sizeof(t->ip));
}

/* ---- creation and hand-off ------------------------------------------- */

static void child_of(const struct submission *s, const struct target *t,
                     const char *request_id, struct task_child *c)
{
    memset(c, 0, sizeof(*c));
    c->t.method = s->method->name;
    c->t.request_id = request_id && *request_id ? request_id : NULL;
    c->t.requested_by = s->call.requested_by[0] ? s->call.requested_by : NULL;
    c->t.owner = getpid();
    if (t->code) {
        c->t.status = TASK_FAILED;
        c->t.ip = t->ip[0] ? t->ip : NULL;
        c->error_code = t->code;
        c->error_message = bmc_err_message(t->code);
        c->details = t->details;
        return;
    }
    c->t.status = TASK_QUEUED;
    c->t.ip = t->req.conn.ip;
    c->t.protocol = bmc_protocol_name(t->req.conn.protocol);
}

static enum ts_rc create_tasks(const struct submission *s,
                               const char *request_id, char *parent,
                               char (*ids)[TASK_ID_LEN + 1])
{
    struct task_child *kids = calloc(s->n, sizeof(*kids));
    struct task_new p = {
        .method = s->method->name,
        .request_id = request_id && *request_id ? request_id : NULL,
        .status = TASK_RUNNING,
        .owner = getpid(),
        .requested_by = s->call.requested_by[0] ? s->call.requested_by : NULL,
        .callback_url = s->call.callback_url,
    };
    enum ts_rc rc = TS_ERROR;
    struct taskstore *store = api_get_store();

    if (kids && store) {
        for (size_t i = 0; i < s->n; i++)
            child_of(s, &s->t[i], request_id, &kids[i]);
        rc = taskstore_create_bulk(store, &p, kids, s->n, parent, ids);
    }
    free(kids);
    return rc;
}

/* The queued children to the executor; on a refusal the bulk is
 * withdrawn first (taskstore_abandon_bulk), so nothing can run after a
 * 503. 0 when the children are the executor's (or no child was queued). */
static int hand_off(const struct submission *s, const char *request_id,
                    const char *parent, char (*ids)[TASK_ID_LEN + 1],
                    char *details, size_t dlen)
{
    struct executor_kid *kids = calloc(s->n, sizeof(*kids));
    size_t k = 0;
    int rc;

    if (!kids) {
        snprintf(details, dlen, "out of memory");
        rc = BMC_ERR_SERVICE_UNAVAILABLE;
    } else {
        for (size_t i = 0; i < s->n; i++)
            if (!s->t[i].code)
                kids[k++] = (struct executor_kid){&s->t[i].req.conn, ids[i]};
        rc = k ? executor_submit_bulk(&s->call, s->method->name, request_id,
                                      parent, kids, k, details, dlen)
               : 0;
    }
    free(kids);
    if (!rc)
        return 0;
    char why[320];
    snprintf(why, sizeof(why), "Not started: %.280s", details);
    int w = taskstore_abandon_bulk(api_get_store(), parent, getpid(), why);
    for (int tries = 0; w == TS_BUSY && tries < 5; tries++)
        w = taskstore_abandon_bulk(api_get_store(), parent, getpid(), why);
    log_warn("bulk_not_taken", "parent=%s code=%d withdrawn=%d", parent, rc,
             w == TS_OK);
    return w == TS_OK ? rc : 0; /* not withdrawn: the executor has it */
}

static void answer_accepted(struct http_response *resp,
                            const struct submission *s, const char *parent,
                            char (*ids)[TASK_ID_LEN + 1])
{
    json_object *env = response_success(
        resp, 202, "Task started in background", s->method->name, NULL);
    json_object *children = json_object_new_array_ext((int)s->n);

    json_object_object_add(env, "task_id", json_object_new_string(parent));
    for (size_t i = 0; i < s->n; i++)
        json_object_array_add(children, json_object_new_string(ids[i]));
    json_object_object_add(env, "children", children);
}

/* Create the parent and children, hand them off, answer. */
static void submit(const struct http_request *req, struct submission *s,
                   struct http_response *resp)
{
    char parent[TASK_ID_LEN + 1], details[256];
    char(*ids)[TASK_ID_LEN + 1] = calloc(s->n, sizeof(*ids));
    enum ts_rc rc =
        ids ? create_tasks(s, req->request_id, parent, ids) : TS_ERROR;

    if (rc != TS_OK) {
        response_error(resp, BMC_ERR_SERVICE_UNAVAILABLE, s->method->name,
                       NULL, "%s (nothing was created)",
                       taskstore_rc_message(rc));
    } else if ((rc = hand_off(s, req->request_id, parent, ids, details,
                              sizeof(details))) != 0) {
        response_error(resp, (enum bmc_err)rc, s->method->name, NULL,
                       "%s (not started)", details);
    } else {
        answer_accepted(resp, s, parent, ids);
    }
    free(ids);
}

/* ---- the endpoints ------------------------------------------------------ */

/* Overwrite every password the body holds (targets included). */
static void wipe_body(json_object *body, json_object *targets)
{
    static const char *const secrets[] = {"password", "new_password"};
    size_t n = json_object_is_type(targets, json_type_array)
                   ? json_object_array_length(targets)
                   : 0;

    for (size_t i = 0; i <= n; i++) {
        json_object *o = i < n ? json_object_array_get_idx(targets, i) : body,
                    *v;
        for (size_t k = 0; o && k < 2; k++)
            if (json_object_object_get_ex(o, secrets[k], &v) &&
                json_object_is_type(v, json_type_string))
                explicit_bzero((char *)json_object_get_string(v),
                               (size_t)json_object_get_string_len(v));
    }
}

static void submission_free(struct submission *s)
{
    for (size_t i = 0; s->t && i < s->n; i++)
        request_free(&s->t[i].req);
    free(s->t);
    if (s->method && s->call.params)
        methods_params_wipe(s->method, s->call.params);
    request_free(&s->call);
    if (s->body)
        wipe_body(s->body, s->targets);
    json_object_put(s->defaults);
    json_object_put(s->body);
}

static void bulk_endpoint(const struct http_request *req,
                          struct http_response *resp, unsigned fields,
                          const char *fixed)
{
    struct submission s = {0};

    if (!api_get_store() || api_is_draining()) {
        response_error(resp, BMC_ERR_SERVICE_UNAVAILABLE, fixed, NULL,
                       "The service is shutting down; the request was not "
                       "started");
        return;
    }
    if (parse_call(req, fields, fixed, &s, resp) == 0 &&
        resolve_method(req, fixed, &s, resp) == 0) {
        snprintf(s.call.requested_by, sizeof(s.call.requested_by), "%s",
                 req->who ? auth_token_name(req->who) : "");
        s.n = json_object_array_length(s.targets);
        s.t = calloc(s.n, sizeof(*s.t));
        if (!s.t) {
            response_error(resp, BMC_ERR_SERVICE_UNAVAILABLE, fixed, NULL,
                           "out of memory");
        } else {
            for (size_t i = 0; i < s.n; i++)
                check_target(&s, fields, i);
            submit(req, &s, resp);
        }
    }
    submission_free(&s);
}

void api_action_bulk(const struct http_request *req,
                     struct http_response *resp)
{
    bulk_endpoint(req, resp, BULK_FIELDS_ACTION, "run_action");
}

void api_execute_bulk(const struct http_request *req,
                      struct http_response *resp)
{
    bulk_endpoint(req, resp, BULK_FIELDS_EXECUTE, NULL);
}

/* ---- POST /tasks/{id}/cancel ---------------------------------------------- */

/* The id between /tasks/ and /cancel, lower-cased (UUIDs compare
 * case-insensitively). */
static void cancel_id(const char *path, char *id, size_t len)
{
    const char *p = path + strlen("/tasks/");
    size_t n = strcspn(p, "/");

    snprintf(id, len, "%.*s", (int)(n < len ? n : len - 1), p);
    for (char *c = id; *c; c++)
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c - 'A' + 'a');
}

void api_task_cancel(const struct http_request *req,
                     struct http_response *resp)
{
    char id[TASK_ID_LEN + 2];
    long cancelled = 0;
    json_object *task = NULL;
    struct taskstore *store = api_get_store();

    cancel_id(req->path, id, sizeof(id));
    int rc = store ? taskstore_cancel(store, id, CANCEL_DETAILS, &cancelled)
                   : TS_ERROR;
    if (rc == TS_OK)
        rc = taskstore_get(store, id, &task);
    if (rc != TS_OK) {
        api_task_lookup_failed(resp, rc, "cancel_task");
        return;
    }
    log_info("task_cancel", "task=%s cancelled=%ld", id, cancelled);
    json_object *env = response_success(
        resp, 200, cancelled ? "Task cancelled" : "Nothing left to cancel",
        "cancel_task", task);
    json_object_object_add(env, "task_id", json_object_new_string(id));
    json_object_object_add(env, "cancelled", json_object_new_int64(cancelled));
}

/* ---- the children page of GET /tasks/{parent} ------------------------- */

/* ?KEY=N within [0, MAX] into *OUT (DEF when absent); -1 if malformed. */
static int query_count(const char *query, const char *key, long def, long max,
                       long *out)
{
    char v[32], *end;

    *out = def;
    if (!strstr(query, key))
        return 0;
    if (probe_query_param(query, key, v, sizeof(v)))
        return -1;
    long n = strtol(v, &end, 10);
    if (end == v || *end || n < 0 || n > max)
        return -1;
    *out = n;
    return 0;
}

static json_object *child_entry(struct taskstore *store, const char *id,
                                bool full)
{
    json_object *task = NULL;

    if (!full || taskstore_get(store, id, &task) != TS_OK)
        return json_object_new_string(id);
    json_object_object_add(task, "task_id", json_object_new_string(id));
    return task;
}

int bulk_children_page(const struct http_request *req, const char *id,
                       json_object *task, struct http_response *resp)
{
    char mode[16] = "";
    long offset, limit;
    size_t n = 0, total = 0;
    struct taskstore *store = api_get_store();

    if (query_count(req->query, "children_offset", 0, TASKSTORE_MAX_CHILDREN,
                    &offset) ||
        query_count(req->query, "children_limit", BULK_CHILDREN_PAGE,
                    BULK_CHILDREN_PAGE_MAX, &limit) ||
        (strstr(req->query, "children=") &&
         (probe_query_param(req->query, "children", mode, sizeof(mode)) ||
          strcmp(mode, "full") != 0))) {
        response_error(resp, BMC_ERR_INVALID_PARAMETERS, "get_task_status",
                       NULL,
                       "children_offset must be 0 to %d, children_limit 0 "
                       "to %d, children only \"full\"",
                       TASKSTORE_MAX_CHILDREN, BULK_CHILDREN_PAGE_MAX);
        return -1;
    }
    char(*ids)[TASK_ID_LEN + 1] = calloc((size_t)limit + 1, sizeof(*ids));
    int rc = ids ? taskstore_children(store, id, (size_t)offset, (size_t)limit,
                                      ids, &n, &total)
                 : TS_ERROR;
    if (rc != TS_OK) {
        free(ids);
        response_error(resp, BMC_ERR_SERVICE_UNAVAILABLE, "get_task_status",
                       NULL, "%s", taskstore_rc_message(rc));
        return -1;
    }
    json_object *page = json_object_new_array_ext((int)n);
    for (size_t i = 0; i < n; i++)
        json_object_array_add(page, child_entry(store, ids[i], mode[0]));
    free(ids);
    json_object_object_add(task, "children", page);
    size_t next = (size_t)offset + n;
    json_object_object_add(task, "children_next",
                           next < total ? json_object_new_int64((int64_t)next)
                                        : NULL);
    return 0;
}
