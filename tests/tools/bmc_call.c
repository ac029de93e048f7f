/* bmc_call - run one backend operation directly, without the daemon, and
 * print its outcome as JSON. For backend tests and benchmarks.
 *
 *   BMC_PASSWORD=secret bmc_call PROTOCOL IP PORT USER OP [PARAMS_JSON]
 *     [--cipher-suite N] [--timeout SECONDS]
 *
 * PROTOCOL is redfish or ipmitool; OP one of validate_connection,
 * get_power_state, list_actions, run_action, list_users, get_fw_version.
 * The password comes from the environment so it never is on a command line.
 * Output: {"code":N,"success":B,"message":S,"details":S,"data":{...}}.
 * Exit status 0 when code == 0, 1 otherwise, 2 on usage errors. */
#include "autoconfig.h"

#include "backend.h"
#include "clock.h"
#include "config.h"
#include "jsonutil.h"
#include "log.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Weak until both backends have landed, so either can be tested alone. */
extern const struct bmc_backend redfish_backend __attribute__((weak));
extern const struct bmc_backend ipmi_backend __attribute__((weak));

static bmc_op_fn op_by_name(const struct bmc_backend *b, const char *op)
{
    if (!strcmp(op, "validate_connection"))
        return b->validate_connection;
    if (!strcmp(op, "get_power_state"))
        return b->get_power_state;
    if (!strcmp(op, "list_actions"))
        return b->list_actions;
    if (!strcmp(op, "run_action"))
        return b->run_action;
    if (!strcmp(op, "list_users"))
        return b->list_users;
    if (!strcmp(op, "get_fw_version"))
        return b->get_fw_version;
    return NULL;
}

static int usage(void)
{
    fprintf(
        stderr,
        "usage: BMC_PASSWORD=... bmc_call redfish|ipmitool IP PORT USER OP "
        "[PARAMS_JSON] [--cipher-suite N] [--timeout S]\n");
    return 2;
}

int main(int argc, char **argv)
{
    char err[256];
    struct bmc_conn conn = {0};
    const struct bmc_backend *backend;
    json_object *params = NULL;
    double timeout = 30;
    const char *pw = getenv("BMC_PASSWORD");

    if (argc < 6 || !pw)
        return usage();
    if (config_load(err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    log_set_level(bmc_cfg.log_level);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    conn.protocol =
        strcmp(argv[1], "redfish") ? BMC_PROTO_IPMI : BMC_PROTO_REDFISH;
    backend =
        conn.protocol == BMC_PROTO_REDFISH ? &redfish_backend : &ipmi_backend;
    if (!backend) {
        fprintf(stderr, "backend %s is not built in\n", argv[1]);
        return 2;
    }
    snprintf(conn.ip, sizeof(conn.ip), "%s", argv[2]);
    conn.port = atoi(argv[3]);
    snprintf(conn.username, sizeof(conn.username), "%s", argv[4]);
    snprintf(conn.password, sizeof(conn.password), "%s", pw);
    conn.cipher_suite = 17;
    bmc_op_fn fn = op_by_name(backend, argv[5]);
    if (!fn)
        return usage();
    for (int i = 6; i < argc; i++) {
        if (!strcmp(argv[i], "--cipher-suite") && i + 1 < argc)
            conn.cipher_suite = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
            timeout = atof(argv[++i]);
        else if (!params)
            params = json_tokener_parse(argv[i]);
        else
            return usage();
    }
    struct bmc_call call = {&conn, clock_now_mono() + timeout, "bmc_call",
                            params};
    struct bmc_outcome out;
    outcome_init(&out);
    fn(&call, &out);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "code", json_object_new_int(out.code));
    json_object_object_add(o, "success", json_object_new_boolean(out.success));
    json_object_object_add(o, "message", json_object_new_string(out.message));
    json_object_object_add(o, "details", json_object_new_string(out.details));
    json_object_object_add(o, "data", json_object_get(out.data));
    printf("%s\n", json_compact(o));
    int rc = out.code ? 1 : 0;
    json_object_put(o);
    json_object_put(params);
    outcome_clear(&out);
    conn_wipe(&conn);
    curl_global_cleanup();
    config_free();
    return rc;
}
