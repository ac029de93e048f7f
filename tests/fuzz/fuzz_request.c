/* fuzz_request - libFuzzer target: the JSON body of every endpoint.
 * Input: a request body. It is validated with each endpoint's fields
 * (src/api.c: /execute, /validate & co, /action, all fields at once), then
 * the method and params are resolved as the handler would. Checked: the
 * documented codes only, a reason always given, a password never echoed
 * in a reason, values within their documented ranges after a success. */
#include "autoconfig.h"

#include "config.h"
#include "errors.h"
#include "jsonutil.h"
#include "log.h"
#include "methods.h"
#include "request.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RETRY_FIELDS (REQ_DELAY | REQ_RETRY | REQ_WAIT)
static const unsigned endpoint_fields[] = {
    REQ_METHOD | REQ_PARAMS | REQ_DELAY | REQ_RETRY, /* /execute(/async) */
    0,                         /* /validate, /list-*, /power-state */
    REQ_ACTION | RETRY_FIELDS, /* /action(/async) */
    REQ_ACTION | REQ_METHOD | REQ_PARAMS | RETRY_FIELDS,
};

static const char *const fixed_methods[] = {
    "validate_connection", "list_users", "list_actions", "get_power_state"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];

    (void)argc;
    (void)argv;
    if (config_load(err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_request: %s\n", err);
        abort();
    }
    log_set_level(BMC_LOG_ERROR);
    return 0;
}

/* With the body's password replaced by a marker of the same length (the
 * same checks then apply), a rejection must not echo the marker. */
static void check_password_not_echoed(const uint8_t *data, size_t size,
                                      unsigned fields)
{
    json_object *obj = json_parse_strict((const char *)data, size,
                                         REQUEST_JSON_DEPTH, NULL, 0);
    json_object *v;
    struct api_request req;
    char details[256], *marker = NULL;

    if (!obj || !json_object_is_type(obj, json_type_object) ||
        !json_object_object_get_ex(obj, "password", &v) ||
        !json_object_is_type(v, json_type_string) ||
        json_object_get_string_len(v) < 4)
        goto out;
    size_t len = (size_t)json_object_get_string_len(v);
    marker = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        marker[i] = "Zq9#"[i % 4];
    marker[len] = '\0';
    json_object_object_add(obj, "password",
                           json_object_new_string_len(marker, (int)len));
    const char *text = json_compact(obj);
    int rc = request_parse(text, strlen(text), fields, &req, details,
                           sizeof(details));
    if (rc == 0)
        request_free(&req);
    else if (strstr(details, "Zq9#")) {
        fprintf(stderr, "password echoed in details: %s\n", details);
        abort();
    }
out:
    free(marker);
    json_object_put(obj);
}

static bool known_code(int rc)
{
    return rc == BMC_ERR_INVALID_REQUEST || rc == BMC_ERR_INVALID_IP ||
           rc == BMC_ERR_INVALID_USERNAME || rc == BMC_ERR_INVALID_PASSWORD ||
           rc == BMC_ERR_INVALID_PROTOCOL ||
           rc == BMC_ERR_INVALID_CIPHER_SUITE ||
           rc == BMC_ERR_INVALID_PARAMETERS ||
           rc == BMC_ERR_UNKNOWN_CREDENTIAL; /* "credential": 4011 */
}

static void check_accepted(const struct api_request *req, unsigned fields)
{
    if (!req->conn.ip[0] || !req->conn.username[0] || !req->conn.password[0] ||
        !json_object_is_type(req->params, json_type_object) ||
        req->conn.port < 1 || req->conn.port > 65535 ||
        req->conn.cipher_suite < 0 || req->conn.cipher_suite > 17 ||
        req->retry_times < 1 || req->retry_times > REQUEST_RETRY_MAX ||
        !(req->delay >= 0 && req->delay <= REQUEST_DELAY_MAX) ||
        !(req->wait_for_state_seconds >= 0 &&
          req->wait_for_state_seconds <= bmc_cfg.max_wait_for_state_seconds) ||
        ((fields & REQ_ACTION) && !req->action[0]) ||
        ((fields & REQ_METHOD) && !req->method[0]))
        abort();
}

/* Resolve the method as the endpoint's handler does (src/api.c resolve). */
static void resolve_methods(struct api_request *req, unsigned fields)
{
    const struct method_def *m;
    char details[256];
    int rc;

    if (fields & REQ_METHOD) {
        rc = methods_resolve(req->method, req->params, &m, details,
                             sizeof(details));
        if (rc == 0 ? m == NULL : !details[0])
            abort();
    }
    if (fields & REQ_ACTION) {
        json_object *p = json_object_new_object();
        json_object_object_add(p, "action_name",
                               json_object_new_string(req->action));
        rc = methods_resolve("run_action", p, &m, details, sizeof(details));
        json_object_put(p);
        if (rc != 0)
            abort(); /* any action name is a string: run_action accepts it */
    }
    if (fields == 0)
        for (size_t i = 0;
             i < sizeof(fixed_methods) / sizeof(fixed_methods[0]); i++)
            if (methods_resolve(fixed_methods[i], req->params, &m, details,
                                sizeof(details)))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) /* nginx's and the worker's bound */
        return 0;
    for (size_t i = 0;
         i < sizeof(endpoint_fields) / sizeof(endpoint_fields[0]); i++) {
        struct api_request req;
        char details[256];
        unsigned fields = endpoint_fields[i];

        details[0] = '\0';
        int rc = request_parse((const char *)data, size, fields, &req, details,
                               sizeof(details));
        if (rc == 0) {
            check_accepted(&req, fields);
            resolve_methods(&req, fields);
            request_free(&req);
            if (req.conn.password[0] || req.params)
                abort(); /* request_free wipes and releases */
            continue;
        }
        if (!known_code(rc) || !details[0] ||
            !memchr(details, '\0', sizeof(details)))
            abort();
        if (fields == endpoint_fields[0]) /* once per input is enough */
            check_password_not_echoed(data, size, fields);
    }
    return 0;
}
