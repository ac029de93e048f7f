/* backend.c - helpers for struct bmc_outcome and struct bmc_conn. */
#include "autoconfig.h"
#include "backend.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const protocol_names[] = {
    [BMC_PROTO_REDFISH] = "redfish",
    [BMC_PROTO_IPMI] = "ipmitool",
};

const char *bmc_protocol_name(enum bmc_protocol protocol)
{
    switch (protocol) {
    case BMC_PROTO_REDFISH:
    case BMC_PROTO_IPMI: return protocol_names[protocol];
    }
    return "unknown"; /* not a protocol: a damaged job or gate entry */
}

int bmc_protocol_parse(const char *name, enum bmc_protocol *out)
{
    for (size_t i = 0;
         name && i < sizeof(protocol_names) / sizeof(*protocol_names); i++)
        if (!strcmp(name, protocol_names[i])) {
            *out = (enum bmc_protocol)i;
            return 0;
        }
    return -1;
}

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
