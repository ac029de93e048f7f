/* request.h - parse and validate an endpoint's JSON body into a request:
 * the base fields (ip, username, password, protocol, cipher_suite, port)
 * then the endpoint's own fields, checked in this documented order:
 *   ip 4001 (then the target policy, 4008; then `credential`, 4011,
 *   whose username, password and defaults the checks below see),
 *   username 4002, password 4003, protocol 4004,
 *   cipher_suite 4005, port 4001, then action, method, params, delay,
 *   retry_times, wait_for_state_seconds, callback_url (each 2002 naming
 *   the field).
 * Unknown fields are ignored, as the FastAPI service did.
 * Owns: the params and body objects and the password inside api_request
 * until request_free (which wipes the password, in the body too). */
#ifndef BMC_REQUEST_H
#define BMC_REQUEST_H

#include "backend.h"

#include <json-c/json.h>
#include <stddef.h>

/* Endpoint fields a body may carry (bit set). */
enum request_field {
    REQ_ACTION = 1 << 0,   /* required string */
    REQ_METHOD = 1 << 1,   /* required string */
    REQ_PARAMS = 1 << 2,   /* optional object, default {} */
    REQ_DELAY = 1 << 3,    /* optional number >= 0 */
    REQ_RETRY = 1 << 4,    /* optional integer >= 1, default 1 */
    REQ_WAIT = 1 << 5,     /* optional number 0..max_wait_for_state */
    REQ_CALLBACK = 1 << 6, /* optional callback_url (webhook_check_url);
                              without this bit a callback_url is 2002 */
};

#define REQUEST_ACTION_MAX 64
#define REQUEST_METHOD_MAX 128
#define REQUEST_RETRY_MAX  100
#define REQUEST_DELAY_MAX  3600.0
#define REQUEST_JSON_DEPTH 8

struct api_request {
    struct bmc_conn conn;
    char action[REQUEST_ACTION_MAX + 1];
    char method[REQUEST_METHOD_MAX + 1];
    json_object *params; /* always an object after a successful parse */
    json_object *body;   /* the whole parsed body (request_parse only; NULL
                            from request_from_object), for a convenience
                            endpoint's method parameters */
    double delay;
    int retry_times;
    double wait_for_state_seconds;
    char requested_by[65];    /* the caller's token name; "" with BMC_AUTH=none
                              (set by the endpoint, not from the body) */
    const char *callback_url; /* REQ_CALLBACK: the checked URL, borrowed
                                 from the parsed body; NULL: none */
};

/* Parse BODY (LEN bytes) as the body of an endpoint taking FIELDS. Returns
 * 0, or the error code with a reason in DETAILS (never the password). */
enum bmc_err request_parse(const char *body, size_t len, unsigned fields,
                           struct api_request *out, char *details,
                           size_t dlen);

/* As request_parse, for a body already parsed: OBJ stays the caller's
 * (OUT->body is NULL; OUT->params is a reference to OBJ's). */
enum bmc_err request_from_object(json_object *obj, unsigned fields,
                                 struct api_request *out, char *details,
                                 size_t dlen);

/* Only the endpoint's own FIELDS of OBJ (action, method, params, delay,
 * retry_times, wait_for_state_seconds) into OUT, as request_parse checks
 * them: the call of a bulk submission, before any target is looked at.
 * OUT must be zeroed (retry_times set to its default 1) by the caller. */
enum bmc_err request_check_call(json_object *obj, unsigned fields,
                                struct api_request *out, char *details,
                                size_t dlen);

/* Wipe the password and free what the request owns. */
void request_free(struct api_request *req);

#endif
