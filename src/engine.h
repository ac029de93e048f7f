/* engine.h - the one code path for BMC work, used by sync workers and
 * async executor threads alike (doc/architecture.md, "The request path"):
 * auto-validation, retry_times attempts with a delay floor, the
 * BMC_TIMEOUT deadline over the whole call, then the wait_for_state phase.
 * Owns: engine_result.data (freed by engine_result_clear). */
#ifndef BMC_ENGINE_H
#define BMC_ENGINE_H

#include "backend.h"
#include "methods.h"

struct engine_request {
    const struct method_def *method;
    const struct bmc_conn *conn;
    json_object *params;           /* borrowed; an object */
    int retry_times;               /* attempts, >= 1 */
    double delay;                  /* between attempts (floored) */
    double wait_for_state_seconds; /* > 0: poll power state after an action */
    const char *request_id;
};

/* code == 0: the method ran; `success` is what the BMC did, `message` its
 * own message when it said no, `data` the payload. code != 0: a service-
 * level failure with the envelope's `message` and `details`. */
struct engine_result {
    enum bmc_err code;
    bool success;
    char message[256];
    char details[1024];
    json_object *data;
    int attempts;
    bool maybe_delivered; /* a mutating exchange may have reached the BMC:
                             never repeated (DESIGN.md "At most once") */
};

/* Run REQ to the end (never longer than BMC_TIMEOUT plus the wait phase). */
void engine_run(const struct engine_request *req, struct engine_result *out);

/* The same with TIMEOUT seconds instead of BMC_TIMEOUT for the deadline
 * of the attempts (the probe's module timeout and scrape timeout). */
void engine_run_within(const struct engine_request *req, double timeout,
                       struct engine_result *out);

/* Free OUT's data. */
void engine_result_clear(struct engine_result *out);

/* The normalized {success, message, data} a task stores, as a new object. */
json_object *engine_result_normalized(const struct engine_result *res);

/* The backend serving PROTOCOL. */
const struct bmc_backend *engine_backend(enum bmc_protocol protocol);

/* Whether PROTOCOL's backend can work on this host (its `available`
 * operation), with where its tool is in WHERE ("" when it has none). */
bool engine_backend_available(enum bmc_protocol protocol, char *where,
                              size_t len);

#endif
