/* errors.c - code → message / HTTP status table (see errors.h). */
#include "autoconfig.h"
#include "errors.h"

#include <stddef.h>

struct err_entry {
    enum bmc_err code;
    int http_status;
    const char *message;
};

static const struct err_entry err_table[] = {
    {BMC_ERR_AUTH_FAILED, 401, "Authentication failed"},
    {BMC_ERR_CONNECTION_TIMEOUT, 500, "Connection Timeout"},
    {BMC_ERR_PROTOCOL_ERROR, 500, "Protocol Error"},
    {BMC_ERR_HTTP_UNAUTHORIZED, 401, "HTTP Unauthorized"},
    {BMC_ERR_UNEXPECTED_ERROR, 500, "Connection Error"},
    {BMC_ERR_METHOD_NOT_FOUND, 400, "Method not found"},
    {BMC_ERR_INVALID_PARAMETERS, 400, "Invalid Parameters"},
    {BMC_ERR_METHOD_NOT_CALLABLE, 400, "Method not callable"},
    {BMC_ERR_PRIVATE_METHOD, 400, "Private method"},
    {BMC_ERR_EXECUTION_FAILED, 500, "Method execution failed"},
    {BMC_ERR_TIMEOUT, 500, "Method execution timed out"},
    {BMC_ERR_RETRY_EXHAUSTED, 500, "All retry attempts failed"},
    {BMC_ERR_SERVICE_UNAVAILABLE, 503, "Service unavailable"},
    {BMC_ERR_TASK_NOT_FOUND, 404, "Task not found"},
    {BMC_ERR_BAD_HTTP_REQUEST, 400, "Invalid HTTP request"},
    {BMC_ERR_INVALID_IP, 400, "Invalid IP address"},
    {BMC_ERR_INVALID_USERNAME, 400, "Invalid username"},
    {BMC_ERR_INVALID_PASSWORD, 400, "Invalid password"},
    {BMC_ERR_INVALID_PROTOCOL, 400, "Invalid protocol"},
    {BMC_ERR_INVALID_CIPHER_SUITE, 400, "Invalid cipher suite"},
    {BMC_ERR_INVALID_REQUEST, 400, "Invalid request body"},
    {BMC_ERR_UNSUPPORTED_MEDIA, 415, "Unsupported media type"},
    {BMC_ERR_TARGET_NOT_ALLOWED, 403, "Target not allowed"},
    {BMC_ERR_AUTH_REQUIRED, 401, "Authentication required"},
    {BMC_ERR_FORBIDDEN, 403, "Forbidden"},
    {BMC_ERR_UNKNOWN_CREDENTIAL, 400, "Unknown credential"},
    {BMC_ERR_NOT_FOUND, 404, "Not found"},
    {BMC_ERR_METHOD_NOT_ALLOWED, 405, "Method not allowed"},
    {BMC_ERR_BODY_TOO_LARGE, 413, "Request body too large"},
    {BMC_ERR_MISDIRECTED, 421, "Misdirected request"},
};

static const struct err_entry *err_lookup(enum bmc_err code)
{
    for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
        if (err_table[i].code == code)
            return &err_table[i];
    return NULL;
}

const char *bmc_err_message(enum bmc_err code)
{
    const struct err_entry *e = err_lookup(code);
    return e ? e->message : "Internal error";
}

int bmc_err_http_status(enum bmc_err code)
{
    const struct err_entry *e = err_lookup(code);
    return e ? e->http_status : 500;
}

bool bmc_err_is_transient(enum bmc_err code)
{
    return code == BMC_ERR_CONNECTION_TIMEOUT ||
           code == BMC_ERR_PROTOCOL_ERROR ||
           code == BMC_ERR_UNEXPECTED_ERROR ||
           code == BMC_ERR_EXECUTION_FAILED;
}
