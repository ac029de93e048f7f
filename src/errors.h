/* errors.h - the service's error codes (the guide's families) and the one
 * table that maps each code to its literal message and HTTP status.
 * Owns: nothing allocated; every string returned is static. */
#ifndef BMC_ERRORS_H
#define BMC_ERRORS_H

#include <stdbool.h>

enum bmc_err {
    BMC_OK = 0,
    /* 1xxx: connection validation */
    BMC_ERR_AUTH_FAILED = 1001,
    BMC_ERR_CONNECTION_TIMEOUT = 1002,
    BMC_ERR_PROTOCOL_ERROR = 1003,
    BMC_ERR_HTTP_UNAUTHORIZED = 1004,
    BMC_ERR_UNEXPECTED_ERROR = 1005,
    /* 2xxx: method errors */
    BMC_ERR_METHOD_NOT_FOUND = 2001,
    BMC_ERR_INVALID_PARAMETERS = 2002,
    BMC_ERR_METHOD_NOT_CALLABLE = 2003,
    BMC_ERR_PRIVATE_METHOD = 2004,
    /* 3xxx: execution */
    BMC_ERR_EXECUTION_FAILED = 3001,
    BMC_ERR_TIMEOUT = 3002,
    BMC_ERR_RETRY_EXHAUSTED = 3003,
    BMC_ERR_SERVICE_UNAVAILABLE = 3004, /* queue full, store busy, draining */
    BMC_ERR_TASK_NOT_FOUND = 3005,
    /* 4xxx: input validation */
    BMC_ERR_BAD_HTTP_REQUEST = 4000, /* nginx's own: request unreadable */
    BMC_ERR_INVALID_IP = 4001,
    BMC_ERR_INVALID_USERNAME = 4002,
    BMC_ERR_INVALID_PASSWORD = 4003,
    BMC_ERR_INVALID_PROTOCOL = 4004,
    BMC_ERR_INVALID_CIPHER_SUITE = 4005,
    BMC_ERR_INVALID_REQUEST = 4006,    /* malformed JSON, not an object, ... */
    BMC_ERR_UNSUPPORTED_MEDIA = 4007,  /* a POST that is not JSON */
    BMC_ERR_TARGET_NOT_ALLOWED = 4008, /* BMC_ALLOWED/DENIED_TARGETS */
    BMC_ERR_AUTH_REQUIRED = 4009,      /* BMC_AUTH=token, no valid token */
    BMC_ERR_FORBIDDEN = 4010,          /* the token's role is too low */
    BMC_ERR_UNKNOWN_CREDENTIAL = 4011, /* BMC_CREDENTIALS_FILE */
    BMC_ERR_NOT_FOUND = 4040,          /* unknown path */
    BMC_ERR_METHOD_NOT_ALLOWED = 4050,
    BMC_ERR_BODY_TOO_LARGE = 4130,
    BMC_ERR_MISDIRECTED = 4210, /* Host not in BMC_SERVER_NAMES (nginx) */
};

/* The literal message of CODE, as the guide words it (static string). */
const char *bmc_err_message(enum bmc_err code);

/* The HTTP status the envelope for CODE is sent with. */
int bmc_err_http_status(enum bmc_err code);

/* Whether a failure with CODE may be retried (1002, 1003, 1005, 3001). */
bool bmc_err_is_transient(enum bmc_err code);

#endif
