/* response.c - envelope builders (see response.h). */
#include "autoconfig.h"
#include "response.h"

#include "errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void http_response_init(struct http_response *resp)
{
    /* every field, so one added later (www_authenticate) starts known */
    memset(resp, 0, sizeof(*resp));
    resp->status = 500;
}

void http_response_clear(struct http_response *resp)
{
    json_object_put(resp->body);
    free(resp->text);
    http_response_init(resp);
}

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 421: return "Misdirected Request";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

static json_object *string_or_null(const char *s)
{
    return s ? json_object_new_string(s) : json_object_new_null();
}

void response_error_msg(struct http_response *resp, enum bmc_err code,
                        const char *message, const char *method,
                        const char *task_id, const char *details)
{
    json_object *env = json_object_new_object();

    json_object_object_add(env, "success", json_object_new_boolean(0));
    json_object_object_add(env, "message", json_object_new_string(message));
    json_object_object_add(env, "method", string_or_null(method));
    json_object_object_add(env, "error_code", json_object_new_int(code));
    json_object_object_add(env, "details", json_object_new_string(details));
    if (task_id)
        json_object_object_add(env, "task_id",
                               json_object_new_string(task_id));
    json_object_put(resp->body);
    free(resp->text);
    resp->text = NULL;
    resp->body = env;
    resp->status = bmc_err_http_status(code);
    if (resp->status == 503 && resp->retry_after == 0)
        resp->retry_after = 1;
}

void response_error(struct http_response *resp, enum bmc_err code,
                    const char *method, const char *task_id, const char *fmt,
                    ...)
{
    char details[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(details, sizeof(details), fmt, ap);
    va_end(ap);
    response_error_msg(resp, code, bmc_err_message(code), method, task_id,
                       details);
}

json_object *response_success(struct http_response *resp, int status,
                              const char *message, const char *method,
                              json_object *data)
{
    json_object *env = json_object_new_object();

    json_object_object_add(env, "success", json_object_new_boolean(1));
    json_object_object_add(env, "message", json_object_new_string(message));
    json_object_object_add(env, "method", string_or_null(method));
    if (data)
        json_object_object_add(env, "data", data);
    json_object_put(resp->body);
    free(resp->text);
    resp->text = NULL;
    resp->body = env;
    resp->status = status;
    return env;
}

void response_text(struct http_response *resp, int status,
                   const char *content_type, char *text)
{
    json_object_put(resp->body);
    resp->body = NULL;
    free(resp->text);
    resp->text = text;
    resp->content_type = content_type;
    resp->status = status;
}
