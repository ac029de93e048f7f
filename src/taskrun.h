/* taskrun.h - how one method call becomes a task: record it in the store
 * and finish it from the engine's result, with the statuses and codes of
 * doc/architecture.md "Tasks and the task store" (a BMC's "no" ends `failed` with 3001, its message as
 * error_message and the normalized result kept). Shared by sync workers
 * and the executor so both record tasks the same way.
 * Owns: nothing. */
#ifndef BMC_TASKRUN_H
#define BMC_TASKRUN_H

#include "backend.h"
#include "engine.h"
#include "taskstore.h"

/* Create the task for METHOD on CONN (status QUEUED or RUNNING, owned by
 * this process). Returns a taskstore rc; the id goes to ID_OUT. */
enum ts_rc taskrun_create(struct taskstore *store, const char *method,
                          const struct bmc_conn *conn, const char *request_id,
                          enum task_status status,
                          char id_out[TASK_ID_LEN + 1]);

/* Finish task ID from RES. A result too large for the store is recorded
 * as an explicit 3001 failure saying so, and RES becomes that failure, so
 * a sync caller answers exactly what its task says. */
void taskrun_finish(struct taskstore *store, const char *id,
                    struct engine_result *res);

/* "redfish" or "ipmitool". */
const char *taskrun_protocol_name(enum bmc_protocol protocol);

#endif
