/* backend.c - helpers for struct bmc_outcome and struct bmc_conn. */
#include "autoconfig.h"
#include "backend.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void conn_wipe(struct bmc_conn *conn)
{
    explicit_bzero(conn->password, sizeof(conn->password));
}

void outcome_init(struct bmc_outcome *out)
{
    out->code = 0;
    out->success = false;
    out->message[0] = '\0';
    out->details[0] = '\0';
    out->data = NULL;
    out->maybe_delivered = false;
}

void outcome_clear(struct bmc_outcome *out)
{
    json_object_put(out->data);
    outcome_init(out);
}

void outcome_fail(struct bmc_outcome *out, enum bmc_err code, const char *fmt,
                  ...)
{
    va_list ap;

    json_object_put(out->data);
    out->data = NULL;
    out->code = code;
    out->success = false;
    out->message[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(out->details, sizeof(out->details), fmt, ap);
    va_end(ap);
}

void outcome_done(struct bmc_outcome *out, bool success, const char *message,
                  json_object *data)
{
    json_object_put(out->data);
    out->code = 0;
    out->success = success;
    snprintf(out->message, sizeof(out->message), "%s", message ? message : "");
    out->details[0] = '\0';
    out->data = data ? data : json_object_new_object();
}
