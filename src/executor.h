/* executor.h - the async executor: a process forked by the master that
 * takes jobs from workers over a local SOCK_SEQPACKET socket (in the 0700
 * state directory), records each as a task and runs it on a job thread,
 * at most BMC_MAX_ASYNC_TASKS at once; beyond that tasks wait `queued`, and
 * beyond BMC_ASYNC_QUEUE_MAX waiting the submission is refused (503). A job
 * thread runs one task at a time and, when none waits, parks for up to 10 s
 * for the next before it ends, so a burst reuses its threads.
 * Credentials exist only in the job message and the thread's memory, and
 * are wiped when the task ends; they are never stored or logged.
 * Owns: its job queue, hand-off list and threads; the worker side owns
 * nothing. */
#ifndef BMC_EXECUTOR_H
#define BMC_EXECUTOR_H

#include "request.h"
#include "taskstore.h"

#include <stddef.h>

/* The socket path under the state directory (static buffer). */
const char *executor_socket_path(void);

/* Master: create the listening socket (before forking anyone). */
int executor_listen(char *err, size_t errlen);

/* Executor process main: serve LISTEN_FD until SIGTERM, then fail what is
 * still queued, let running tasks end, and return the exit status. */
int executor_run(int listen_fd, struct taskstore *store);

/* Worker: hand METHOD with REQ's connection, params and options to the
 * executor, for the task TASK_ID that the worker created QUEUED under its
 * own pid (the two-party commit of taskstore_claim / taskstore_abandon).
 * 0 when the executor took the task; otherwise an error code
 * (BMC_ERR_SERVICE_UNAVAILABLE: queue full, executor down or silent) with
 * DETAILS: the caller must then taskstore_abandon the task before it may
 * answer 503, since a silent executor may have taken it after all. Signals
 * never cut the exchange short. */
enum bmc_err executor_submit(const struct api_request *req, const char *method,
                             const char *request_id, const char *task_id,
                             char *details, size_t dlen);

/* One child of a bulk: its connection and its task (created QUEUED by
 * taskstore_create_bulk under the worker's pid). */
struct executor_kid {
    const struct bmc_conn *conn;
    const char *task_id;
};

/* Worker: hand a bulk to the executor, as executor_submit for one task:
 * CALL's params and options with METHOD for each of the N children KIDS
 * of PARENT_ID (the children still QUEUED: taskstore_claim_bulk /
 * taskstore_abandon_bulk decide). 0 when the executor took them. */
enum bmc_err executor_submit_bulk(const struct api_request *call,
                                  const char *method, const char *request_id,
                                  const char *parent_id,
                                  const struct executor_kid *kids, size_t n,
                                  char *details, size_t dlen);

#endif
