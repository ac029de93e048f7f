/* redfish_manager.c - what the system and its manager say about the
 * machine and the BMC: get_fw_version and get_inventory (one reading of
 * system, chassis and manager, shared), and reset_bmc (#Manager.Reset,
 * then waiting until the BMC answers again; see redfish_private.h). */
#include "autoconfig.h"
#include "redfish_private.h"

#include "clock.h"
#include "config.h"
#include "errors.h"
#include "jsonutil.h"

#include <stdio.h>
#include <string.h>

#define RF_RESET_POLL_SECONDS 1.0
#define RF_RESET_DOWN_WINDOW  15.0 /* seconds a BMC gets to go down */

/* The system (op->system), its manager and (when CHASSIS) its chassis. */
struct rf_machine {
    json_object *manager, *chassis;
};

static int rf_read_machine(struct rf_op *op, bool chassis,
                           struct rf_machine *m)
{
    char path[RF_PATH_MAX];

    memset(m, 0, sizeof(*m));
    if (rf_find_system(op) || rf_manager_path(op, path, sizeof(path)) ||
        rf_get(op, path, &m->manager, NULL, 0))
        return -1;
    if (chassis && (rf_chassis_path(op, path, sizeof(path)) ||
                    rf_get(op, path, &m->chassis, NULL, 0)))
        return -1;
    return 0;
}

static void rf_machine_free(struct rf_machine *m)
{
    json_object_put(m->manager);
    json_object_put(m->chassis);
}

/* A string of the system, else of the chassis; JSON null when neither. */
static json_object *rf_either(struct rf_op *op, struct rf_machine *m,
                              const char *key)
{
    json_object *v = rf_string_or_null(op->system, key);
    return v ? v : rf_string_or_null(m->chassis, key);
}

void redfish_get_fw_version(const struct bmc_call *call,
                            struct bmc_outcome *out)
{
    struct rf_op op;
    struct rf_machine m;
    json_object *data;

    rf_op_begin(&op, "get_fw_version", call, out);
    if (rf_read_machine(&op, false, &m) == 0) {
        data = json_object_new_object();
        json_object_object_add(
            data, "fw_version",
            rf_string_or_null(m.manager, "FirmwareVersion"));
        json_object_object_add(data, "bios_version",
                               rf_string_or_null(op.system, "BiosVersion"));
        outcome_done(out, true, NULL, data);
    }
    rf_machine_free(&m);
    rf_op_end(&op);
}

void redfish_get_inventory(const struct bmc_call *call,
                           struct bmc_outcome *out)
{
    struct rf_op op;
    struct rf_machine m;
    json_object *data, *cpu, *ps, *mem;
    double v;

    rf_op_begin(&op, "get_inventory", call, out);
    if (rf_read_machine(&op, true, &m) == 0) {
        data = json_object_new_object();
        json_object_object_add(data, "manufacturer",
                               rf_either(&op, &m, "Manufacturer"));
        json_object_object_add(data, "model", rf_either(&op, &m, "Model"));
        json_object_object_add(data, "serial_number",
                               rf_either(&op, &m, "SerialNumber"));
        json_object_object_add(data, "part_number",
                               rf_either(&op, &m, "PartNumber"));
        json_object_object_add(data, "uuid",
                               rf_string_or_null(op.system, "UUID"));
        json_object_object_add(data, "bios_version",
                               rf_string_or_null(op.system, "BiosVersion"));
        json_object_object_add(
            data, "bmc_firmware",
            rf_string_or_null(m.manager, "FirmwareVersion"));
        ps = rf_member(op.system, "ProcessorSummary");
        cpu = json_object_new_object();
        json_object_object_add(cpu, "count",
                               rf_number(ps, "Count", &v) ? json_new_number(v)
                                                          : NULL);
        json_object_object_add(cpu, "model", rf_string_or_null(ps, "Model"));
        json_object_object_add(data, "processors", cpu);
        mem = rf_member(op.system, "MemorySummary");
        json_object_object_add(data, "memory_gib",
                               rf_number(mem, "TotalSystemMemoryGiB", &v)
                                   ? json_new_number(v)
                                   : NULL);
        outcome_done(out, true, NULL, data);
    }
    rf_machine_free(&m);
    rf_op_end(&op);
}

/* ---- reset_bmc ---------------------------------------------------------- */

/* The ResetType for KIND ("warm", "cold") among what the manager allows:
 * warm → GracefulRestart, cold → ForceRestart, else the other (iDRAC
 * offers only GracefulRestart). NULL when neither is allowed. */
static const char *rf_manager_reset_type(json_object *reset, const char *kind)
{
    static const char *const prefer[2][2] = {
        {"GracefulRestart", "ForceRestart"},
        {"ForceRestart", "GracefulRestart"}};
    struct rf_types types = {0};
    json_object *allowed;
    int k = strcmp(kind, "cold") == 0;

    if (json_object_object_get_ex(reset, "ResetType@Redfish.AllowableValues",
                                  &allowed))
        rfp_types_from_array(allowed, &types);
    if (types.n == 0)
        return prefer[k][0]; /* nothing published: the DMTF default */
    for (int i = 0; i < 2; i++)
        if (rfp_types_has(&types, prefer[k][i]))
            return prefer[k][i];
    return NULL;
}

/* One GET of the service root with its own short deadline: 1 answered,
 * 0 not answering. */
static int rf_root_answers(const struct bmc_call *call, double end)
{
    struct bmc_call c = *call;
    struct bmc_outcome o;
    struct rf_op op;
    json_object *root = NULL;
    double budget = bmc_cfg.redfish_request_timeout;
    int up;

    c.deadline = clock_now_mono() + budget;
    if (c.deadline > end)
        c.deadline = end;
    outcome_init(&o);
    rf_op_begin(&op, "reset_bmc_poll", &c, &o);
    up = rf_get(&op, RF_ROOT, &root, NULL, 0) == 0;
    json_object_put(root);
    rf_op_end(&op);
    outcome_clear(&o);
    rf_transport_release(); /* a fresh connection for the next poll */
    return up;
}

/* Wait until the BMC has gone down and answers again, or END. */
static void rf_wait_back(const struct bmc_call *call, double start, double end,
                         json_object *data)
{
    bool down = false, up = false;

    while (clock_now_mono() < end) {
        clock_sleep(RF_RESET_POLL_SECONDS, end);
        int answers = rf_root_answers(call, end);
        if (!answers)
            down = true;
        if (answers &&
            (down || clock_now_mono() - start > RF_RESET_DOWN_WINDOW)) {
            up = true;
            break;
        }
    }
    json_object_object_add(data, "ready", json_object_new_boolean(up));
    json_object_object_add(data, "went_down", json_object_new_boolean(down));
    json_object_object_add(
        data, "seconds",
        json_new_number((double)(long)((clock_now_mono() - start) * 10) / 10));
}

void redfish_reset_bmc(const struct bmc_call *call, struct bmc_outcome *out)
{
    struct rf_op op;
    struct rf_machine m = {0};
    struct rf_response resp;
    char target[RF_PATH_MAX], body[64];
    const char *kind = "warm", *type;
    json_object *actions, *reset, *data;
    int wait = 120;

    rf_op_begin(&op, "reset_bmc", call, out);
    if (rf_param_string(&op, "kind", &kind) || rf_read_machine(&op, false, &m))
        goto out;
    if (!kind)
        kind = "warm";
    if (!(actions = rf_member(m.manager, "Actions")) ||
        !(reset = rf_member(actions, "#Manager.Reset")) ||
        rfp_copy_path(rfp_string(reset, "target"), target, sizeof(target))) {
        outcome_fail(out, BMC_ERR_EXECUTION_FAILED,
                     "the manager offers no #Manager.Reset");
        goto out;
    }
    if (!(type = rf_manager_reset_type(reset, kind))) {
        outcome_fail(out, BMC_ERR_INVALID_PARAMETERS,
                     "the manager offers neither GracefulRestart nor "
                     "ForceRestart");
        goto out;
    }
    snprintf(body, sizeof(body), "{\"ResetType\":\"%s\"}", type);
    if (rf_write(&op, "POST", target, body, target, NULL, &resp))
        goto out;
    if (!rf_status_ok(resp.status)) {
        rf_fail_status(&op, "POST", target, &resp);
    } else {
        double start = clock_now_mono();
        json_object *v;
        if (json_object_object_get_ex(call->params, "wait_seconds", &v))
            wait = json_object_get_int(v);
        if (wait > (int)bmc_cfg.max_wait_for_state_seconds)
            wait = (int)bmc_cfg.max_wait_for_state_seconds;
        data = json_object_new_object();
        json_object_object_add(data, "reset_type",
                               json_object_new_string(type));
        rf_transport_release(); /* the BMC drops it anyway */
        if (wait > 0)
            rf_wait_back(call, start, start + wait, data);
        outcome_done(out, true, NULL, data);
    }
    rf_response_free(&resp);
out:
    rf_machine_free(&m);
    rf_op_end(&op);
}
