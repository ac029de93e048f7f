/* commands.c - the command table (see commands.h). Adding a command: one
 * row here, using the endpoint and parameter names of DESIGN.md. */
#include "autoconfig.h"
#include "commands.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <string.h>

#define POWER_COLUMNS                                                         \
    "RESULT=message,STATE=power_state,STABLE=power_state_stable,"             \
    "WAIT ERROR=power_state_error"
#define POWER(sub_, action_, what)                                            \
    {                                                                         \
        .name = "power", .sub = sub_, .method = "run_action",                 \
        .endpoint = "/action", .action = action_,                             \
        .opts = COPT_WAIT | COPT_SYSTEM, .columns = POWER_COLUMNS,            \
        .summary = what                                                       \
    }
#define SLOT_COLUMNS                                                          \
    "SLOT=id|slot.id,INSERTED=inserted|slot.inserted,IMAGE=image|slot.image," \
    "WRITE PROTECTED=write_protected|slot.write_protected"
#define ACCOUNT_COLUMNS                                                       \
    "ID=id|user.id|account.id,NAME=name|user.name|account.name,"              \
    "ROLE=role|user.role|account.role,"                                       \
    "ENABLED=enabled|user.enabled|account.enabled"

static const struct command table[] = {
    /* ---- power ---- */
    POWER("on", "on", "power on"),
    POWER("off", "off", "power off at once"),
    POWER("cycle", "cycle", "power off, then on"),
    POWER("reset", "reset", "hard reset"),
    POWER("soft", "soft", "graceful shutdown"),
    {.name = "power",
     .sub = "status",
     .method = "get_power_state",
     .endpoint = "/power-state",
     .opts = COPT_SYSTEM,
     .columns = "STATE=power_state",
     .summary = "the power state"},
    {.name = "power",
     .sub = "actions",
     .method = "list_actions",
     .endpoint = "/list-actions",
     .opts = COPT_SYSTEM,
     .columns = "ACTIONS=actions",
     .summary = "the power actions the BMC accepts"},
    /* ---- connection, firmware ---- */
    {.name = "validate",
     .method = "validate_connection",
     .endpoint = "/validate",
     .columns = "OK=ok",
     .summary = "open a session with the BMC"},
    {.name = "firmware",
     .method = "get_fw_version",
     .opts = COPT_SYSTEM,
     .columns = "FIRMWARE=fw_version,BIOS=bios_version,"
                "MANUFACTURER=manufacturer,PRODUCT=product",
     .summary = "the BMC's firmware version"},
    /* ---- provisioning ---- */
    {.name = "boot",
     .sub = "get",
     .method = "get_boot_device",
     .endpoint = "/boot-device",
     .opts = COPT_SYSTEM,
     .columns = "DEVICE=boot_device,PERSISTENT=persistent,MODE=mode,"
                "ALLOWED=allowed",
     .summary = "the boot device override"},
    {.name = "boot",
     .sub = "set",
     .method = "set_boot_device",
     .endpoint = "/set-boot-device",
     .arg = "DEVICE",
     .arg_param = "device",
     .opts = COPT_PERSISTENT | COPT_MODE | COPT_SYSTEM,
     .columns = "DEVICE=boot_device,PERSISTENT=persistent,MODE=mode,"
                "VERIFIED=verified",
     .summary = "set the boot device (pxe, disk, cd, usb, bios, http, none)"},
    {.name = "media",
     .sub = "status",
     .method = "get_virtual_media",
     .endpoint = "/virtual-media",
     .rows = "slots",
     .columns = "SLOT=id,TYPES=media_types,INSERTED=inserted,IMAGE=image,"
                "WRITE PROTECTED=write_protected",
     .summary = "virtual media slots (Redfish)"},
    {.name = "media",
     .sub = "insert",
     .method = "insert_virtual_media",
     .endpoint = "/insert-media",
     .arg = "URL",
     .arg_param = "image",
     .opts = COPT_MEDIA | COPT_WRITABLE,
     .columns = SLOT_COLUMNS,
     .summary = "insert an http(s) image as virtual media (Redfish)"},
    {.name = "media",
     .sub = "eject",
     .method = "eject_virtual_media",
     .endpoint = "/eject-media",
     .opts = COPT_MEDIA,
     .columns = SLOT_COLUMNS,
     .summary = "eject virtual media (Redfish)"},
    {.name = "media",
     .sub = "boot",
     .method = "boot_from_media",
     .endpoint = "/boot-from-media",
     .arg = "URL",
     .arg_param = "image",
     .opts = COPT_MEDIA | COPT_WAIT,
     .columns = "STEPS=steps",
     .summary = "insert an image, boot from it once, power on (Redfish)"},
    /* ---- machine health ---- */
    {.name = "sensors",
     .method = "get_sensors",
     .endpoint = "/sensors",
     .opts = COPT_TYPE,
     .rows = "sensors",
     .columns = "SENSOR=name,TYPE=type,READING=reading,UNIT=unit,"
                "HEALTH=health",
     .summary = "sensor readings (temperature, fan, voltage, current, power)"},
    {.name = "log",
     .sub = "show",
     .method = "get_event_log",
     .endpoint = "/event-log",
     .opts = COPT_LIMIT | COPT_SYSTEM,
     .rows = "entries",
     .columns = "ID=id,CREATED=created,SEVERITY=severity,SENSOR=sensor,"
                "MESSAGE=message",
     .summary = "the system event log, newest first"},
    {.name = "log",
     .sub = "clear",
     .method = "clear_event_log",
     .endpoint = "/clear-event-log",
     .opts = COPT_SYSTEM,
     .columns = "CLEARED=cleared",
     .summary = "clear the system event log"},
    {.name = "inventory",
     .method = "get_inventory",
     .endpoint = "/inventory",
     .opts = COPT_SYSTEM,
     .columns = "MANUFACTURER=manufacturer,MODEL=model,SERIAL=serial_number,"
                "BIOS=bios_version,BMC=bmc_firmware,CPUS=processors.count,"
                "CPU=processors.model,MEMORY GIB=memory_gib",
     .summary = "what the machine is"},
    {.name = "identify",
     .sub = "on",
     .method = "set_identify",
     .endpoint = "/identify",
     .fixed_param = "state",
     .fixed_value = "on",
     .opts = COPT_SECONDS | COPT_SYSTEM,
     .columns = "IDENTIFY=state|identify",
     .summary = "light the identify LED"},
    {.name = "identify",
     .sub = "off",
     .method = "set_identify",
     .endpoint = "/identify",
     .fixed_param = "state",
     .fixed_value = "off",
     .opts = COPT_SYSTEM,
     .columns = "IDENTIFY=state|identify",
     .summary = "turn the identify LED off"},
    {.name = "bmc",
     .sub = "reset",
     .method = "reset_bmc",
     .endpoint = "/reset-bmc",
     .opts = COPT_KIND | COPT_BMC_WAIT,
     .columns = "READY=ready,SECONDS=seconds",
     .summary = "restart the BMC (warm, or --cold) and wait for it"},
    /* ---- accounts ---- */
    {.name = "users",
     .sub = "list",
     .method = "list_users",
     .endpoint = "/list-users",
     .opts = COPT_CHANNEL,
     .rows = "users",
     .columns = "ID=id,NAME=name,ROLE=role,ENABLED=enabled",
     .summary = "BMC accounts"},
    {.name = "users",
     .sub = "create",
     .method = "create_user",
     .endpoint = "/create-user",
     .arg = "ACCOUNT",
     .arg_param = "user",
     .opts = COPT_ROLE | COPT_ENABLED | COPT_NEW_PASSWORD | COPT_CHANNEL,
     .columns = ACCOUNT_COLUMNS,
     .summary = "create an account (its password is prompted)"},
    {.name = "users",
     .sub = "modify",
     .method = "modify_user",
     .endpoint = "/modify-user",
     .arg = "ACCOUNT",
     .arg_param = "user",
     .opts = COPT_ROLE | COPT_ENABLED | COPT_NEW_PASSWORD | COPT_CHANNEL,
     .columns = ACCOUNT_COLUMNS,
     .summary = "change an account's role, state or (--new-password) "
                "password"},
    {.name = "users",
     .sub = "delete",
     .method = "delete_user",
     .endpoint = "/delete-user",
     .arg = "ACCOUNT",
     .arg_param = "user",
     .opts = COPT_CHANNEL,
     .columns = "DELETED=deleted",
     .summary = "delete an account"},
    /* ---- the service ---- */
    {.name = "task",
     .kind = CMD_TASK,
     .arg = "ID",
     .opts = COPT_TASK_WAIT,
     .summary = "a task's status (--wait: until it ends)"},
    {.name = "health", .kind = CMD_HEALTH, .summary = "the service's health"},
};

#define TABLE_SIZE (sizeof(table) / sizeof(table[0]))

const struct command *commands_find(const char *name, const char *sub,
                                    int *needs_sub)
{
    *needs_sub = 0;
    for (size_t i = 0; i < TABLE_SIZE; i++) {
        if (strcmp(table[i].name, name) != 0)
            continue;
        if (!table[i].sub)
            return &table[i];
        *needs_sub = 1;
        if (sub && !strcmp(table[i].sub, sub))
            return &table[i];
    }
    return NULL;
}

static const struct {
    enum cmd_opt opt;
    const char *param;
} option_params[] = {
    {COPT_PERSISTENT, "persistent"},
    {COPT_MODE, "mode"},
    {COPT_MEDIA, "media"},
    {COPT_WRITABLE, "write_protected"},
    {COPT_TYPE, "type"},
    {COPT_LIMIT, "limit"},
    {COPT_SECONDS, "seconds"},
    {COPT_ROLE, "role"},
    {COPT_ENABLED, "enabled"},
    {COPT_NEW_PASSWORD, "new_password"},
    {COPT_KIND, "kind"},
    {COPT_SYSTEM, "system_id"},
    {COPT_CHANNEL, "channel"},
    {COPT_BMC_WAIT, "wait_seconds"},
    {COPT_WAIT, "wait_for_state_seconds"},
};

const char *commands_option_param(enum cmd_opt opt)
{
    for (size_t i = 0; i < sizeof(option_params) / sizeof(option_params[0]);
         i++)
        if (option_params[i].opt == opt)
            return option_params[i].param;
    return NULL;
}

static void add_string(json_object *array, const char *s)
{
    json_object_array_add(array, json_object_new_string(s));
}

/* run_action's /action body says `action` and `wait_for_state_seconds`:
 * fields of the endpoint, not parameters of the method. */
static void command_params_json(const struct command *c, json_object *params,
                                json_object *fields)
{
    if (c->action)
        add_string(fields, "action");
    if (c->arg_param)
        add_string(params, c->arg_param);
    if (c->fixed_param)
        add_string(params, c->fixed_param);
    for (size_t i = 0; i < sizeof(option_params) / sizeof(option_params[0]);
         i++) {
        if (!(c->opts & option_params[i].opt))
            continue;
        bool field = c->action && option_params[i].opt == COPT_WAIT;
        add_string(field ? fields : params, option_params[i].param);
    }
}

void commands_print_json(FILE *out)
{
    json_object *list = json_object_new_array();
    char name[64];

    for (size_t i = 0; i < TABLE_SIZE; i++) {
        const struct command *c = &table[i];
        json_object *e = json_object_new_object(),
                    *params = json_object_new_array(),
                    *fields = json_object_new_array();
        snprintf(name, sizeof(name), "%s%s%s", c->name, c->sub ? " " : "",
                 c->sub ? c->sub : "");
        json_object_object_add(e, "command", json_object_new_string(name));
        json_object_object_add(
            e, "method", c->method ? json_object_new_string(c->method) : NULL);
        json_object_object_add(
            e, "endpoint",
            c->endpoint ? json_object_new_string(c->endpoint) : NULL);
        command_params_json(c, params, fields);
        json_object_object_add(e, "params", params);
        json_object_object_add(e, "fields", fields);
        json_object_array_add(list, e);
    }
    fprintf(
        out, "%s\n",
        json_object_to_json_string_ext(
            list, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(list);
}

static void print_usage_line(FILE *out, const struct command *c)
{
    char head[64];

    snprintf(head, sizeof(head), "%s%s%s%s%s", c->name, c->sub ? " " : "",
             c->sub ? c->sub : "", c->arg ? " " : "", c->arg ? c->arg : "");
    fprintf(out, "  %-24s %s %s\n", head,
            c->kind == CMD_BMC ? "HOST..." : "       ", c->summary);
}

void commands_print_usage(FILE *out)
{
    for (size_t i = 0; i < TABLE_SIZE; i++)
        print_usage_line(out, &table[i]);
}

void commands_print_usage_of(FILE *out, const char *name)
{
    for (size_t i = 0; i < TABLE_SIZE; i++)
        if (!strcmp(table[i].name, name))
            print_usage_line(out, &table[i]);
}
