/* ipmi.c - see ipmi.h. One ipmitool process per operation:
 *   ipmitool -I lanplus -H IP -p PORT -U USER -E -C SUITE -R R -N N -v [-c]
 * CMD... -v makes ipmitool explain session failures on stderr (RAKP errors,
 * missing answers) without changing what it prints on stdout. */
#include "autoconfig.h"
#include "ipmi.h"
#include "ipmi_private.h"

#include "clock.h"
#include "config.h"
#include "errors.h"
#include "gate.h"
#include "ipmi_parse.h"
#include "log.h"
#include "subprocess.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHILD_PATH                                                            \
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define NOT_INSTALLED "ipmitool is not installed"

static const char *const ipmi_actions[] = {"status", "on",   "off", "cycle",
                                           "reset",  "soft", NULL};

/* ---- finding ipmitool -------------------------------------------------- */

static bool is_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
           access(path, X_OK) == 0;
}

static bool search_path(const char *name, char *out, size_t len)
{
    const char *path = getenv("PATH");
    const char *p;

    if (!path || !*path)
        path = &CHILD_PATH[5]; /* after "PATH=" */
    for (p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        int w = n ? snprintf(out, len, "%.*s/%s", (int)n, p, name)
                  : snprintf(out, len, "./%s", name);
        if (w > 0 && (size_t)w < len && is_executable(out))
            return true;
        if (!end)
            break;
        p = end;
    }
    snprintf(out, len, "%s", name);
    return false;
}

bool ipmi_tool_available(char *path_out, size_t len)
{
    const char *cfg = bmc_cfg.ipmitool && bmc_cfg.ipmitool[0]
                          ? bmc_cfg.ipmitool
                          : "ipmitool";

    if (strchr(cfg, '/')) {
        snprintf(path_out, len, "%s", cfg);
        return is_executable(cfg);
    }
    return search_path(cfg, path_out, len);
}

/* ---- running one command ---------------------------------------------- */

void run_clear(struct run *r)
{
    explicit_bzero(r->pwenv, sizeof(r->pwenv));
    subproc_result_free(&r->res);
}

/* Refuse what ipmitool cannot take (the HTTP layer checks these first). */
static bool conn_usable(const struct bmc_conn *conn, struct bmc_outcome *out)
{
    if (strlen(conn->username) > IPMI_USERNAME_MAX) {
        outcome_fail(out, BMC_ERR_UNEXPECTED_ERROR,
                     "username is longer than %d bytes, the IPMI limit",
                     IPMI_USERNAME_MAX);
        return false;
    }
    if (strlen(conn->password) > IPMI_PASSWORD_MAX) {
        outcome_fail(out, BMC_ERR_UNEXPECTED_ERROR,
                     "password is longer than %d bytes, the IPMI limit",
                     IPMI_PASSWORD_MAX);
        return false;
    }
    if (!conn->ip[0] || conn->port <= 0 || conn->port > 65535) {
        outcome_fail(out, BMC_ERR_UNEXPECTED_ERROR, "no BMC address or port");
        return false;
    }
    return true;
}

static void run_build(struct run *r, const struct bmc_call *call,
                      const char *const *cmd, bool csv)
{
    const struct bmc_conn *c = call->conn;
    int n = 0;

    snprintf(r->port, sizeof(r->port), "%d", c->port);
    snprintf(r->suite, sizeof(r->suite), "%d", c->cipher_suite);
    snprintf(r->retries, sizeof(r->retries), "%d", r->timing.retries);
    snprintf(r->timeout, sizeof(r->timeout), "%d", r->timing.timeout);
    const char *fixed[] = {"ipmitool", "-I",     "lanplus", "-H",        c->ip,
                           "-p",       r->port,  "-U",      c->username, "-E",
                           "-C",       r->suite, "-R",      r->retries,  "-N",
                           r->timeout, "-v"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (!(r->no_verbose && !strcmp(fixed[i], "-v")))
            r->argv[n++] = fixed[i];
    if (csv)
        r->argv[n++] = "-c";
    for (size_t i = 0; cmd[i] && n < ARGV_MAX - 1; i++)
        r->argv[n++] = cmd[i];
    r->argv[n] = NULL;
    snprintf(r->pwenv, sizeof(r->pwenv), "IPMI_PASSWORD=%s", c->password);
    r->envp[0] = r->pwenv;
    r->envp[1] = (char *)CHILD_PATH;
    r->envp[2] = (char *)"LC_ALL=C";
    r->envp[3] = NULL;
}

static void log_cmd(const struct run *r, const struct bmc_call *call)
{
    char cmd[256] = "", q[300];
    size_t o = 0;

    for (int i = 1; r->argv[i] && o < sizeof(cmd) - 1; i++)
        o += (size_t)snprintf(cmd + o, sizeof(cmd) - o, "%s%s",
                              i > 1 ? " " : "", r->argv[i]);
    log_debug("ipmi_run", "tool=%s args=%s remaining=%.3f", r->tool,
              log_quote(cmd, q, sizeof(q)), clock_remaining(call->deadline));
}

/* Turn a failed run into OUT. REFUSAL_ANSWERS: the BMC's own "... failed:
 * <reason>" is the operation's answer (run_action), not a service error. */
static void run_judge(const struct run *r, const struct bmc_call *call,
                      bool refusal_answers, struct bmc_outcome *out)
{
    const struct subproc_result *res = &r->res;
    const struct bmc_conn *c = call->conn;
    char details[512], line[512];
    int code;

    if (res->status == SUBPROC_SPAWN_FAILED) {
        if (res->spawn_errno == ENOENT)
            outcome_fail(out, BMC_ERR_UNEXPECTED_ERROR, NOT_INSTALLED);
        else
            outcome_fail(out, BMC_ERR_UNEXPECTED_ERROR, "could not run %s: %s",
                         r->tool, strerror(res->spawn_errno));
        return;
    }
    if (res->status == SUBPROC_TIMED_OUT) {
        outcome_fail(
            out, BMC_ERR_TIMEOUT,
            "ipmitool did not finish before the deadline and was stopped "
            "(BMC %s port %d, %.1f s)",
            c->ip, c->port, res->elapsed);
        return;
    }
    code = ipmi_classify_stderr(res->err, c->cipher_suite, details,
                                sizeof(details));
    if (code == BMC_ERR_CONNECTION_TIMEOUT)
        outcome_fail(out, code, "%.400s; BMC %s port %d", details, c->ip,
                     c->port);
    else if (code)
        outcome_fail(out, code, "%s", details);
    else if (res->status == SUBPROC_SIGNALED)
        outcome_fail(out, BMC_ERR_UNEXPECTED_ERROR,
                     "ipmitool was killed by %s (%.400s)",
                     subproc_signal_name(res->term_signal),
                     ipmi_last_line(res->err, line, sizeof(line)));
    else if (ipmi_find_refusal(res->err, line, sizeof(line)) &&
             refusal_answers)
        outcome_done(out, false, line, NULL);
    else if (ipmi_find_refusal(res->err, line, sizeof(line)))
        outcome_fail(out, BMC_ERR_EXECUTION_FAILED, "the BMC refused: %.480s",
                     line);
    else if (*ipmi_last_line(res->err, line, sizeof(line)))
        outcome_fail(out, BMC_ERR_UNEXPECTED_ERROR, "ipmitool failed: %.480s",
                     line);
    else
        outcome_fail(out, BMC_ERR_UNEXPECTED_ERROR,
                     "ipmitool exited with status %d", res->exit_code);
}

/* Common checks before any ipmitool run; false with OUT set on refusal. */
static bool run_prepare(struct run *r, const struct bmc_call *call,
                        struct bmc_outcome *out)
{
    if (!conn_usable(call->conn, out))
        return false;
    if (!ipmi_tool_available(r->tool, sizeof(r->tool))) {
        outcome_fail(out, BMC_ERR_UNEXPECTED_ERROR, NOT_INSTALLED);
        return false;
    }
    return true;
}

/* Run CMD; returns 0 when ipmitool exited 0 (R->res.out holds stdout),
 * otherwise -1 with OUT set (a classified failure, or the BMC's refusal
 * when REFUSAL_ANSWERS). */
int run_cmd(struct run *r, const struct bmc_call *call, const char *const *cmd,
            bool power_change, bool csv, bool refusal_answers,
            struct bmc_outcome *out)
{
    double remaining;
    struct gate_ticket gt;
    char waited[256];

    if (!run_prepare(r, call, out))
        return -1;
    /* one ipmitool run = one exchange; a power change is alone on its BMC */
    if (gate_enter(call->conn->ip, call->conn->port, BMC_PROTO_IPMI,
                   power_change, call->deadline, &gt, waited,
                   sizeof(waited))) {
        outcome_fail(out, BMC_ERR_TIMEOUT, "%s", waited);
        return -1;
    }
    remaining = clock_remaining(call->deadline);
    if (remaining <= 0) {
        gate_leave(&gt);
        outcome_fail(out, BMC_ERR_TIMEOUT,
                     "the deadline passed before ipmitool could run");
        return -1;
    }
    ipmi_timing_for(remaining, power_change, &r->timing);
    run_build(r, call, cmd, csv);
    log_cmd(r, call);
    struct subproc_spec spec = {
        .path = r->tool,
        .argv = (char *const *)r->argv,
        .envp = r->envp,
        /* stop it early enough that the answer still meets the deadline */
        .deadline = call->deadline - SUBPROC_GRACE_DEFAULT - 0.05,
        .stdin_data = r->stdin_data,
        .stdin_len = r->stdin_len,
    };
    subproc_run(&spec, &r->res);
    gate_leave(&gt);
    explicit_bzero(r->pwenv, sizeof(r->pwenv));
    log_debug(
        "ipmi_done",
        "status=%d exit=%d signal=%d elapsed=%.3f out_bytes=%zu err_bytes=%zu",
        (int)r->res.status, r->res.exit_code, r->res.term_signal,
        r->res.elapsed, r->res.out_len, r->res.err_len);
    if (r->res.status == SUBPROC_EXITED && r->res.exit_code == 0)
        return 0;
    run_judge(r, call, refusal_answers, out);
    char q[600];
    log_info("ipmi_failed", "ip=%s port=%d code=%d details=%s", call->conn->ip,
             call->conn->port, out->code,
             log_quote(out->code ? out->details : out->message, q, sizeof(q)));
    return -1;
}

void fail_output(struct bmc_outcome *out, const char *what,
                 const char *stdout_text)
{
    char first[128];
    const char *nl = strchr(stdout_text, '\n');
    size_t n = nl ? (size_t)(nl - stdout_text) : strlen(stdout_text);

    snprintf(first, sizeof(first), "%.*s", (int)(n < 120 ? n : 120),
             stdout_text);
    outcome_fail(out, BMC_ERR_EXECUTION_FAILED,
                 "unexpected ipmitool output for %s: '%s'", what, first);
}

/* Run read-only command CMD (CSV output when CSV) and turn its output into
 * the outcome's data with PARSE; WHAT names the command in errors. */
void run_parsed(const struct bmc_call *call, const char *const *cmd, bool csv,
                json_object *(*parse)(const char *), const char *what,
                struct bmc_outcome *out)
{
    struct run r = {0};

    if (run_cmd(&r, call, cmd, false, csv, false, out) == 0) {
        json_object *data = parse(r.res.out);
        if (data)
            outcome_done(out, true, NULL, data);
        else
            fail_output(out, what, r.res.out);
    }
    run_clear(&r);
}

/* ---- operations -------------------------------------------------------- */

static const char *const cmd_status[] = {"chassis", "power", "status", NULL};

static void ipmi_validate_connection(const struct bmc_call *call,
                                     struct bmc_outcome *out)
{
    struct run r = {0};
    json_object *data;

    if (run_cmd(&r, call, cmd_status, false, false, false, out) == 0) {
        data = json_object_new_object();
        json_object_object_add(data, "ok", json_object_new_boolean(1));
        outcome_done(out, true, NULL, data);
    }
    run_clear(&r);
}

/* Run `chassis power status` and fill STATE and LINE; 0 or -1 (OUT set). */
static int power_status(const struct bmc_call *call, const char **state,
                        char *line, size_t len, struct bmc_outcome *out)
{
    struct run r = {0};
    int rc = run_cmd(&r, call, cmd_status, false, false, false, out);

    if (rc == 0 && ipmi_parse_power_status(r.res.out, state, line, len) != 0) {
        fail_output(out, "chassis power status", r.res.out);
        rc = -1;
    }
    run_clear(&r);
    return rc;
}

static void ipmi_get_power_state(const struct bmc_call *call,
                                 struct bmc_outcome *out)
{
    const char *state;
    char line[128];

    if (power_status(call, &state, line, sizeof(line), out) == 0) {
        json_object *data = json_object_new_object();
        json_object_object_add(data, "power_state",
                               json_object_new_string(state));
        outcome_done(out, true, NULL, data);
    }
}

static json_object *actions_array(void)
{
    json_object *a = json_object_new_array();
    for (int i = 0; ipmi_actions[i]; i++)
        json_object_array_add(a, json_object_new_string(ipmi_actions[i]));
    return a;
}

/* Operations that need no BMC data still open a session first, so that
 * every operation authenticates (ipmi_backend.ops_authenticate). */
static bool session_opens(const struct bmc_call *call, struct bmc_outcome *out)
{
    ipmi_validate_connection(call, out);
    if (out->code || !out->success)
        return false;
    outcome_clear(out);
    return true;
}

static void ipmi_list_actions(const struct bmc_call *call,
                              struct bmc_outcome *out)
{
    struct run r = {0};

    if (session_opens(call, out) && run_prepare(&r, call, out)) {
        json_object *data = json_object_new_object();
        json_object_object_add(data, "actions", actions_array());
        outcome_done(out, true, NULL, data);
    }
}

const char *param_string(const struct bmc_call *call, const char *key)
{
    json_object *v;

    if (call->params && json_object_object_get_ex(call->params, key, &v) &&
        json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

static bool action_known(const char *name)
{
    for (int i = 0; ipmi_actions[i]; i++)
        if (strcmp(name, ipmi_actions[i]) == 0)
            return true;
    return false;
}

static void action_status(const struct bmc_call *call, struct bmc_outcome *out)
{
    const char *state;
    char line[128];

    if (power_status(call, &state, line, sizeof(line), out) == 0) {
        json_object *data = json_object_new_object();
        json_object_object_add(data, "power_state",
                               json_object_new_string(state));
        json_object_object_add(data, "message", json_object_new_string(line));
        json_object_object_add(data, "action",
                               json_object_new_string("status"));
        outcome_done(out, true, NULL, data);
    }
}

static void action_power(const struct bmc_call *call, const char *name,
                         struct bmc_outcome *out)
{
    const char *const cmd[] = {"chassis", "power", name, NULL};
    struct run r = {0};
    char line[256];
    json_object *data;

    if (run_cmd(&r, call, cmd, true, false, true, out) == 0) {
        if (ipmi_parse_control_line(r.res.out, line, sizeof(line)) == 0) {
            data = json_object_new_object();
            json_object_object_add(data, "message",
                                   json_object_new_string(line));
            json_object_object_add(data, "action",
                                   json_object_new_string(name));
            outcome_done(out, true, NULL, data);
        } else {
            fail_output(out, "chassis power", r.res.out);
        }
    } else if (out->code == 0) { /* the BMC said no: keep its line */
        data = json_object_new_object();
        json_object_object_add(data, "message",
                               json_object_new_string(out->message));
        json_object_object_add(data, "action", json_object_new_string(name));
        json_object_put(out->data);
        out->data = data;
    }
    run_clear(&r);
}

static void ipmi_run_action(const struct bmc_call *call,
                            struct bmc_outcome *out)
{
    const char *name = param_string(call, "action_name");
    char msg[160];
    struct run r = {0};

    if (!name || !action_known(name)) {
        if (!session_opens(call, out) || !run_prepare(&r, call, out))
            return;
        snprintf(msg, sizeof(msg), "Action '%.100s' is not supported",
                 name ? name : "");
        json_object *data = json_object_new_object();
        json_object_object_add(data, "actions", actions_array());
        outcome_done(out, false, msg, data);
        return;
    }
    if (strcmp(name, "status") == 0)
        action_status(call, out);
    else
        action_power(call, name, out);
}

static void ipmi_list_users(const struct bmc_call *call,
                            struct bmc_outcome *out)
{
    json_object *v;
    int channel = 1;
    char chan[8];

    if (call->params &&
        json_object_object_get_ex(call->params, "channel", &v) &&
        json_object_is_type(v, json_type_int) && json_object_get_int(v) >= 0 &&
        json_object_get_int(v) <= 15)
        channel = json_object_get_int(v);
    snprintf(chan, sizeof(chan), "%d", channel);
    const char *const cmd[] = {"user", "list", chan, NULL};
    run_parsed(call, cmd, true, ipmi_parse_user_list, "user list", out);
}

static void ipmi_get_fw_version(const struct bmc_call *call,
                                struct bmc_outcome *out)
{
    static const char *const cmd[] = {"mc", "info", NULL};

    run_parsed(call, cmd, false, ipmi_parse_mc_info, "mc info", out);
}

/* ---- provisioning: boot device ------------------------------------------
 * Set with `chassis bootdev` (legacy) or, for UEFI, the raw Set System Boot
 * Options parameter 5 (flags 0xa0 one-time / 0xe0 persistent: ipmitool
 * cannot say efiboot and persistent together everywhere) after clearing the
 * 60-second boot flag expiry with parameter 3 (`raw 0x00 0x08 0x03 0x08`),
 * as Ironic does; then read back with `chassis bootparam get 5`. Each set
 * is a mutating run: alone on its BMC, never retransmitted. */

static const char *const cmd_bootparam[] = {"chassis", "bootparam", "get", "5",
                                            NULL};

static void ipmi_get_boot_device(const struct bmc_call *call,
                                 struct bmc_outcome *out)
{
    run_parsed(call, cmd_bootparam, false, ipmi_parse_boot_flags,
               "chassis bootparam get 5", out);
}

/* Run mutating CMD; false with OUT set (the BMC's refusal as its answer).
 * ipmitool 1.8.19's `chassis bootdev` exits 0 and prints nothing when the
 * BMC refuses parameter 5: only its "Set Boot Device to" line says yes. */
static bool boot_write(const struct bmc_call *call, const char *const *cmd,
                       struct bmc_outcome *out)
{
    struct run r = {0};
    int rc = run_cmd(&r, call, cmd, true, false, true, out);

    char line[256];

    if (rc == 0 && !strcmp(cmd[1], "bootdev") &&
        !strstr(r.res.out, "Set Boot Device to")) {
        outcome_done(out, false,
                     ipmi_find_refusal(r.res.err, line, sizeof(line))
                         ? line
                         : "The BMC refused the boot device (ipmitool "
                           "printed no 'Set Boot Device to' line)",
                     NULL);
        rc = -1;
    } else if (rc && out->code && r.res.err &&
               strstr(r.res.err, "Unable to send RAW command") &&
               strstr(r.res.err, " rsp=0x")) {
        /* the BMC answered with a completion code: a refusal, not a
         * connection failure (nothing was applied) */
        outcome_done(out, false, ipmi_last_line(r.res.err, line, sizeof(line)),
                     NULL);
    }
    run_clear(&r);
    return rc == 0;
}

/* Write DEVICE (parameter 5 byte DEV) with PERSISTENT and UEFI. */
static bool boot_set(const struct bmc_call *call, const char *device, int dev,
                     bool persistent, bool uefi, struct bmc_outcome *out)
{
    static const char *const clear_expiry[] = {"raw",  "0x00", "0x08",
                                               "0x03", "0x08", NULL};
    char flags[16], code[16];
    const char *tool_name = !strcmp(device, "cd") ? "cdrom" : device;

    if (!uefi || dev == 0) {
        const char *cmd[] = {"chassis", "bootdev", tool_name,
                             persistent && dev ? "options=persistent" : NULL,
                             NULL};
        return boot_write(call, cmd, out);
    }
    snprintf(flags, sizeof(flags), "0x%02x", persistent ? 0xe0 : 0xa0);
    snprintf(code, sizeof(code), "0x%02x", dev);
    const char *raw[] = {"raw", "0x00", "0x08", "0x05", flags,
                         code,  "0x00", "0x00", "0x00", NULL};
    return boot_write(call, clear_expiry, out) && boot_write(call, raw, out);
}

static bool boot_matches(json_object *state, const char *device,
                         bool persistent, bool uefi)
{
    json_object *v;

    if (!json_object_object_get_ex(state, "boot_device", &v) ||
        strcmp(json_object_get_string(v), device))
        return false;
    if (!strcmp(device, "none"))
        return true;
    return json_object_object_get_ex(state, "persistent", &v) && v &&
           json_object_get_boolean(v) == persistent &&
           json_object_object_get_ex(state, "mode", &v) &&
           !strcmp(json_object_get_string(v), uefi ? "uefi" : "legacy");
}

static void ipmi_set_boot_device(const struct bmc_call *call,
                                 struct bmc_outcome *out)
{
    const char *device = param_string(call, "device");
    const char *mode = param_string(call, "mode");
    json_object *v, *now = NULL;
    bool persistent =
        call->params &&
        json_object_object_get_ex(call->params, "persistent", &v) &&
        json_object_get_boolean(v);
    int dev = device ? ipmi_boot_device_byte(device) : -1;

    if (dev < 0) {
        outcome_fail(out, BMC_ERR_INVALID_PARAMETERS,
                     "boot device '%.32s' is not supported over ipmitool "
                     "(pxe, disk, cd, bios, none)",
                     device ? device : "");
        return;
    }
    ipmi_get_boot_device(call, out); /* the mode to keep when none asked */
    if (out->code)
        return;
    bool uefi = mode ? !strcmp(mode, "uefi")
                     : json_object_object_get_ex(out->data, "mode", &v) &&
                           !strcmp(json_object_get_string(v), "uefi");
    outcome_clear(out);
    if (!boot_set(call, device, dev, persistent, uefi, out))
        return;
    ipmi_get_boot_device(call, out);
    if (out->code || !out->data)
        return;
    now = out->data;
    bool ok = boot_matches(now, device, persistent, uefi);
    json_object_object_add(now, "verified", json_object_new_boolean(ok));
    json_object_object_add(
        now, "method",
        json_object_new_string(uefi && dev ? "raw" : "bootdev"));
    out->data = NULL;
    outcome_done(out, ok,
                 ok ? NULL
                    : "The BMC accepted the boot device but reading it "
                      "back does not show what was asked",
                 now);
}

const struct bmc_backend ipmi_backend = {
    .name = "ipmitool", /* bmc_protocol_name(BMC_PROTO_IPMI) */
    .validate_connection = ipmi_validate_connection,
    .get_power_state = ipmi_get_power_state,
    .list_actions = ipmi_list_actions,
    .run_action = ipmi_run_action,
    .list_users = ipmi_list_users,
    .get_sensors = ipmi_get_sensors,
    .get_event_log = ipmi_get_event_log,
    .clear_event_log = ipmi_clear_event_log,
    .get_inventory = ipmi_get_inventory,
    .set_identify = ipmi_set_identify,
    .reset_bmc = ipmi_reset_bmc,
    .create_user = ipmi_create_user,
    .modify_user = ipmi_modify_user,
    .delete_user = ipmi_delete_user,
    .get_fw_version = ipmi_get_fw_version,
    /* provisioning: no standard virtual media over IPMI (NULL: 2002) */
    .get_boot_device = ipmi_get_boot_device,
    .set_boot_device = ipmi_set_boot_device,
    .ops_authenticate = true,
    .available = ipmi_tool_available,
};
