/* response.h - the JSON envelope every answer carries (doc/architecture.md
 * "Errors and the envelope"): success, message, method, data, and for
 * service-level failures error_code, details and task_id.
 * Owns: nothing beyond what it stores into the http_response. */
#ifndef BMC_RESPONSE_H
#define BMC_RESPONSE_H

#include "errors.h"
#include "http.h"

/* A service-level failure: HTTP status from the code's table, message the
 * code's literal, DETAILS (printf format; never a password), METHOD and
 * TASK_ID when known (NULL otherwise). */
void response_error(struct http_response *resp, enum bmc_err code,
                    const char *method, const char *task_id, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));

/* Like response_error but with MESSAGE instead of the code's literal. */
void response_error_msg(struct http_response *resp, enum bmc_err code,
                        const char *message, const char *method,
                        const char *task_id, const char *details);

/* A success envelope {success, message, method, data (ownership taken)};
 * returns the envelope so callers can add keys (task_id, mirrors). */
json_object *response_success(struct http_response *resp, int status,
                              const char *message, const char *method,
                              json_object *data);

/* A non-JSON answer (the Prometheus text format, the probe's plain-text
 * refusals): STATUS, CONTENT_TYPE (static) and TEXT (malloc'd; ownership
 * taken; NULL sends an empty body). Replaces any envelope. */
void response_text(struct http_response *resp, int status,
                   const char *content_type, char *text);

#endif
