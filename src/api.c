/* api.c - endpoint handlers (see api.h). */
#include "autoconfig.h"
#include "api.h"

#include "config.h"
#include "errors.h"
#include "jsonutil.h"
#include "request.h"
#include "response.h"

#include <stdio.h>
#include <string.h>

static struct taskstore *api_store;

void api_set_store(struct taskstore *store) { api_store = store; }

static json_object *health_config(void)
{
    json_object *c = json_object_new_object();

    json_object_object_add(c, "max_workers", json_object_new_int(bmc_cfg.max_workers));
    json_object_object_add(c, "timeout", json_new_number(bmc_cfg.timeout));
    json_object_object_add(c, "log_level",
                           json_object_new_string(config_log_level_name(bmc_cfg.log_level)));
    json_object_object_add(c, "enable_cors", json_object_new_boolean(bmc_cfg.enable_cors));
    json_object_object_add(c, "min_retry_delay_seconds",
                           json_new_number(bmc_cfg.min_retry_delay_seconds));
    json_object_object_add(c, "max_tasks", json_object_new_int64(bmc_cfg.max_tasks));
    json_object_object_add(c, "task_retention_days",
                           json_object_new_int(bmc_cfg.task_retention_days));
    json_object_object_add(c, "redfish_request_timeout",
                           json_new_number(bmc_cfg.redfish_request_timeout));
    json_object_object_add(c, "power_state_poll_interval_seconds",
                           json_new_number(bmc_cfg.power_state_poll_interval));
    json_object_object_add(c, "max_wait_for_state_seconds",
                           json_new_number(bmc_cfg.max_wait_for_state_seconds));
    /* ours, after the guide's ten */
    json_object_object_add(c, "light_workers", json_object_new_int(bmc_cfg.light_workers));
    json_object_object_add(c, "worker_max_requests",
                           json_object_new_int64(bmc_cfg.worker_max_requests));
    json_object_object_add(c, "node_id", json_object_new_int(bmc_cfg.node_id));
    return c;
}

static json_object *health_data(long active_tasks)
{
    json_object *d = json_object_new_object();
    json_object *pool = json_object_new_object();

    json_object_object_add(d, "status", json_object_new_string("healthy"));
    json_object_object_add(d, "service", json_object_new_string("bmc_service"));
    json_object_object_add(d, "version", json_object_new_string(PACKAGE_VERSION));
    json_object_object_add(pool, "max_workers", json_object_new_int(bmc_cfg.max_workers));
    json_object_object_add(pool, "active_tasks", json_object_new_int64(active_tasks));
    json_object_object_add(d, "thread_pool", pool);
    json_object_object_add(d, "config", health_config());
    return d;
}

/* The guide's "Health Check" example reads these at the root. */
static void mirror_keys(json_object *env, json_object *data, const char *const *keys)
{
    json_object *v;

    for (; *keys; keys++)
        if (json_object_object_get_ex(data, *keys, &v))
            json_object_object_add(env, *keys, json_object_get(v));
}

void api_health(const struct http_request *req, struct http_response *resp)
{
    static const char *const mirrored[] = {"status", "service", "version",
                                           "thread_pool", "config", NULL};
    (void)req;
    json_object *data = health_data(0);
    json_object *env = response_success(resp, 200, "Service healthy",
                                        "health_check", data);
    mirror_keys(env, data, mirrored);
}

void api_metrics(const struct http_request *req, struct http_response *resp)
{
    (void)req;
    json_object *data = json_object_new_object();
    json_object_object_add(data, "max_workers", json_object_new_int(bmc_cfg.max_workers));
    response_success(resp, 200, "Metrics retrieved", "metrics", data);
}

void api_task_status(const struct http_request *req, struct http_response *resp)
{
    (void)req;
    response_error_msg(resp, BMC_ERR_TASK_NOT_FOUND, "Task not found",
                       "get_task_status", NULL, "Task not found.");
}

/* Validate the body of a BMC endpoint taking FIELDS; answers the error
 * itself and returns non-zero when the body is not acceptable. */
static int parse_body(const struct http_request *req, struct http_response *resp,
                      unsigned fields, const char *method, struct api_request *out)
{
    char details[256];
    int rc = request_parse(req->body, req->body_len, fields, out, details,
                           sizeof(details));
    if (rc)
        response_error(resp, rc, method, NULL, "%s", details);
    return rc;
}

static void bmc_endpoint(const struct http_request *req, struct http_response *resp,
                         unsigned fields, const char *method)
{
    struct api_request areq;

    if (parse_body(req, resp, fields, method, &areq))
        return;
    response_error_msg(resp, BMC_ERR_EXECUTION_FAILED, "Not implemented yet",
                       method, NULL, "BMC execution lands with the engine");
    resp->status = 501;
    request_free(&areq);
}

#define SYNC_FIELDS (REQ_DELAY | REQ_RETRY)

void api_execute(const struct http_request *req, struct http_response *resp)
{
    bmc_endpoint(req, resp, REQ_METHOD | REQ_PARAMS | SYNC_FIELDS | REQ_WAIT, NULL);
}

void api_execute_async(const struct http_request *req, struct http_response *resp)
{
    bmc_endpoint(req, resp, REQ_METHOD | REQ_PARAMS | SYNC_FIELDS | REQ_WAIT, NULL);
}

void api_validate(const struct http_request *req, struct http_response *resp)
{
    bmc_endpoint(req, resp, 0, "validate_connection");
}

void api_list_users(const struct http_request *req, struct http_response *resp)
{
    bmc_endpoint(req, resp, 0, "list_users");
}

void api_list_actions(const struct http_request *req, struct http_response *resp)
{
    bmc_endpoint(req, resp, 0, "list_actions");
}

void api_power_state(const struct http_request *req, struct http_response *resp)
{
    bmc_endpoint(req, resp, 0, "get_power_state");
}

void api_action(const struct http_request *req, struct http_response *resp)
{
    bmc_endpoint(req, resp, REQ_ACTION | SYNC_FIELDS | REQ_WAIT, "run_action");
}

void api_action_async(const struct http_request *req, struct http_response *resp)
{
    bmc_endpoint(req, resp, REQ_ACTION | SYNC_FIELDS | REQ_WAIT, "run_action");
}
