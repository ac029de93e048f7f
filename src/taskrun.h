/* taskrun.h - how one method call becomes a task: record it in the store,
 * run it through the engine and finish it from the result, with the
 * statuses and codes of doc/architecture.md "Tasks and the task store" (a
 * BMC's "no" ends `failed` with 3001, its message as error_message and the
 * normalized result kept). Shared by sync workers and the executor so both
 * run and record tasks the same way.
 * Owns: nothing. */
#ifndef BMC_TASKRUN_H
#define BMC_TASKRUN_H

#include "backend.h"
#include "engine.h"
#include "methods.h"
#include "request.h"
#include "taskstore.h"

/* Create the task for METHOD on CONN (status QUEUED or RUNNING, owned by
 * this process), asked by REQUESTED_BY (a token's name; NULL or "": none),
 * with CALLBACK_URL's callback pending (NULL: none).
 * Returns a taskstore rc; the id goes to ID_OUT. */
enum ts_rc taskrun_create(struct taskstore *store, const char *method,
                          const struct bmc_conn *conn, const char *request_id,
                          const char *requested_by, const char *callback_url,
                          enum task_status status,
                          char id_out[TASK_ID_LEN + 1]);

/* Run task ID: METHOD with REQ's connection, params and options
 * (retry_times, delay, wait_for_state_seconds) through the engine, finish
 * the task from the result and log task_done. The one place the sync
 * path (api.c) and the executor's threads run a task. RES is the
 * caller's (engine_result_clear). */
void taskrun_run(struct taskstore *store, const char *id,
                 const struct method_def *method,
                 const struct api_request *req, const char *request_id,
                 struct engine_result *res);

#endif
