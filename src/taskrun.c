/* taskrun.c - tasks from engine results (see taskrun.h). */
#include "autoconfig.h"
#include "taskrun.h"

#include "auth.h"
#include "errors.h"
#include "jsonutil.h"
#include "log.h"
#include "metrics.h"

#include <stdio.h>
#include <unistd.h>

enum ts_rc taskrun_create(struct taskstore *store, const char *method,
                          const struct bmc_conn *conn, const char *request_id,
                          const char *requested_by, const char *callback_url,
                          enum task_status status,
                          char id_out[TASK_ID_LEN + 1])
{
    struct task_new t = {
        .method = method,
        .ip = conn->ip,
        .protocol = bmc_protocol_name(conn->protocol),
        .request_id = request_id && *request_id ? request_id : NULL,
        .status = status,
        .owner = getpid(),
        .requested_by = requested_by && *requested_by ? requested_by : NULL,
        .callback_url = callback_url,
    };
    return taskstore_create(store, &t, id_out);
}

/* One attempt at recording RES (with RESULT, its normalized form). */
static enum ts_rc finish_once(struct taskstore *store, const char *id,
                              const struct engine_result *res,
                              json_object *result)
{
    if (res->code)
        return taskstore_finish(store, id, TASK_FAILED, NULL, res->code,
                                res->message, res->details);
    if (res->success)
        return taskstore_finish(store, id, TASK_SUCCESS, json_compact(result),
                                0, NULL, NULL);
    return taskstore_finish(store, id, TASK_FAILED, json_compact(result),
                            BMC_ERR_EXECUTION_FAILED, res->message, NULL);
}

/* The caller answers what the store keeps: RES becomes the recorded
 * failure (a sync caller must not get a result its task says failed). */
static void result_becomes_failure(struct engine_result *res,
                                   const char *details)
{
    engine_result_clear(res);
    res->code = BMC_ERR_EXECUTION_FAILED;
    res->success = false;
    snprintf(res->message, sizeof(res->message), "%s",
             bmc_err_message(BMC_ERR_EXECUTION_FAILED));
    snprintf(res->details, sizeof(res->details), "%s", details);
}

/* Finish task ID from RES. A result too large for the store is recorded
 * as an explicit 3001 failure saying so, and RES becomes that failure, so
 * a sync caller answers exactly what its task says. */
static void taskrun_finish(struct taskstore *store, const char *id,
                           struct engine_result *res)
{
    static const char too_large[] =
        "The result is larger than the task store keeps (1 MiB); "
        "it was not stored";
    json_object *result = res->code ? NULL : engine_result_normalized(res);
    enum ts_rc rc = finish_once(store, id, res, result);

    for (int tries = 0; rc == TS_BUSY && tries < 5; tries++)
        rc = finish_once(store, id, res, result);
    if (rc == TS_TOO_LARGE) {
        result_becomes_failure(res, too_large);
        rc = taskstore_finish(store, id, TASK_FAILED, NULL, res->code,
                              res->message, res->details);
    }
    /* Never leave a task running because its texts did not fit: a failure
     * without texts needs no space. */
    if (rc == TS_FULL || rc == TS_TOO_LARGE) {
        if (!res->code)
            result_becomes_failure(res, "The task store is full; "
                                        "the result was not stored");
        rc = taskstore_finish(store, id, TASK_FAILED, NULL, res->code, NULL,
                              NULL);
    }
    if (rc != TS_OK)
        log_error("task_finish_failed", "task=%s rc=%d reason=\"%s\"", id, rc,
                  taskstore_rc_message(rc));
    json_object_put(result);
}

void taskrun_run(struct taskstore *store, const char *id,
                 const struct method_def *method,
                 const struct api_request *req, const char *request_id,
                 struct engine_result *res)
{
    struct engine_request ereq = {
        .method = method,
        .conn = &req->conn,
        .params = req->params,
        .retry_times = req->retry_times,
        .delay = req->delay,
        .wait_for_state_seconds = req->wait_for_state_seconds,
        .request_id = request_id,
    };

    engine_run(&ereq, res);
    taskrun_finish(store, id, res);
    metrics_count_task(method->name, res->code == 0 && res->success);
    log_info("task_done", "task=%s method=%s code=%d success=%d attempts=%d",
             id, method->name, res->code, res->success, res->attempts);
    auth_audit(req->requested_by, method, &req->conn, id, res->code,
               res->success);
}
