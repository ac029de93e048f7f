/* methods.c - the registry table (see methods.h). Adding a method: one
 * entry here (and the operation in each backend). */
#include "autoconfig.h"
#include "methods.h"

#include "errors.h"
#include "jsonutil.h"

#include <stdio.h>
#include <string.h>

#define OP(field) offsetof(struct bmc_backend, field)

#define END_PARAMS                                                            \
    {                                                                         \
        .name = NULL                                                          \
    }

static const struct method_param no_params[] = {END_PARAMS};

#define SYSTEM_ID_PARAM                                                       \
    {                                                                         \
        .name = "system_id", .type = PARAM_STRING, .max_len = 256,            \
        .doc = "Redfish: the Systems member to use when the BMC has several"  \
    }

static const struct method_param system_params[] = {SYSTEM_ID_PARAM,
                                                    END_PARAMS};

static const struct method_param action_params[] = {
    {.name = "action_name",
     .type = PARAM_STRING,
     .required = true,
     .max_len = 64,
     .doc = "on, off, soft, reset, cycle (IPMI also status), or a Redfish "
            "ResetType"},
    SYSTEM_ID_PARAM,
    END_PARAMS};

/* ---- provisioning parameters ---- */
static const char *const boot_devices[] = {"pxe",  "disk", "cd",   "usb",
                                           "bios", "http", "none", NULL};
static const char *const boot_modes[] = {"uefi", "legacy", NULL};
static const char *const media_kinds[] = {"cd", "usb", NULL};

#define MEDIA_PARAM                                                           \
    {                                                                         \
        .name = "media", .type = PARAM_STRING, .choices = media_kinds,        \
        .doc = "the kind of virtual media slot: cd (default) or usb"          \
    }

#define IMAGE_PARAM                                                           \
    {                                                                         \
        .name = "image", .type = PARAM_STRING, .required = true,              \
        .max_len = 1024,                                                      \
        .doc = "http:// or https:// URL of the image the BMC fetches"         \
    }

static const struct method_param set_boot_params[] = {
    {.name = "device",
     .type = PARAM_STRING,
     .required = true,
     .choices = boot_devices,
     .doc = "the next boot device (none: clear the override)"},
    {.name = "persistent",
     .type = PARAM_BOOLEAN,
     .doc = "every boot instead of the next one only (default false)"},
    {.name = "mode",
     .type = PARAM_STRING,
     .choices = boot_modes,
     .doc = "boot mode to set with it (default: leave as the BMC has it)"},
    SYSTEM_ID_PARAM,
    END_PARAMS};

static const struct method_param insert_media_params[] = {
    IMAGE_PARAM,
    MEDIA_PARAM,
    {.name = "write_protected",
     .type = PARAM_BOOLEAN,
     .doc = "mount read-only (default true; sent where the BMC takes it)"},
    SYSTEM_ID_PARAM,
    END_PARAMS};

static const struct method_param eject_media_params[] = {
    MEDIA_PARAM, SYSTEM_ID_PARAM, END_PARAMS};

static const struct method_param boot_media_params[] = {
    IMAGE_PARAM,
    MEDIA_PARAM,
    {.name = "wait_for_state_seconds",
     .type = PARAM_NUMBER,
     .bounded = true,
     .min = 0,
     .max = 3600,
     .doc = "after powering on, wait up to this long for On (at most "
            "BMC_MAX_WAIT_FOR_STATE_SECONDS)"},
    SYSTEM_ID_PARAM,
    END_PARAMS};

static const struct method_param user_params[] = {
    {.name = "channel",
     .type = PARAM_INTEGER,
     .bounded = true,
     .min = 0,
     .max = 15,
     .doc = "IPMI: the LAN channel whose users are listed (default 1)"},
    END_PARAMS};

static const char *const account_roles[] = {"administrator", "operator",
                                            "readonly", NULL};

#define ACCOUNT_USER_PARAM(what)                                              \
    {                                                                         \
        .name = "user", .type = PARAM_STRING, .required = true,               \
        .max_len = 64, .doc = what                                            \
    }
#define ACCOUNT_PASSWORD_PARAM(req)                                           \
    {                                                                         \
        .name = "new_password", .type = PARAM_STRING, .required = req,        \
        .max_len = 256, .secret = true,                                       \
        .doc =                                                                \
            "the account's password (IPMI: at most 20 bytes); never stored, " \
            "logged or echoed"                                                \
    }
#define ACCOUNT_ROLE_PARAM(req)                                               \
    {                                                                         \
        .name = "role", .type = PARAM_STRING, .required = req,                \
        .choices = account_roles,                                             \
        .doc = "Redfish RoleId Administrator, Operator or ReadOnly; IPMI "    \
               "privilege ADMINISTRATOR, OPERATOR or USER"                    \
    }
#define ACCOUNT_CHANNEL_PARAM                                                 \
    {                                                                         \
        .name = "channel", .type = PARAM_INTEGER, .bounded = true, .min = 0,  \
        .max = 15,                                                            \
        .doc = "IPMI: the LAN channel whose access is set (default 1)"        \
    }

static const struct method_param create_user_params[] = {
    ACCOUNT_USER_PARAM("the new account's name (IPMI: at most 16 bytes)"),
    ACCOUNT_PASSWORD_PARAM(true),
    ACCOUNT_ROLE_PARAM(true),
    {.name = "enabled",
     .type = PARAM_BOOLEAN,
     .doc = "whether the account may log in (default true)"},
    ACCOUNT_CHANNEL_PARAM,
    END_PARAMS};

static const struct method_param modify_user_params[] = {
    ACCOUNT_USER_PARAM("the account: its name, or its id as list_users "
                       "gives it"),
    ACCOUNT_PASSWORD_PARAM(false),
    ACCOUNT_ROLE_PARAM(false),
    {.name = "enabled",
     .type = PARAM_BOOLEAN,
     .doc = "whether the account may log in"},
    ACCOUNT_CHANNEL_PARAM,
    END_PARAMS};

static const struct method_param delete_user_params[] = {
    ACCOUNT_USER_PARAM("the account: its name, or its id as list_users "
                       "gives it"),
    ACCOUNT_CHANNEL_PARAM, END_PARAMS};

static const char *const sensor_types[] = {"temperature", "fan",   "voltage",
                                           "current",     "power", NULL};
static const char *const on_off[] = {"on", "off", NULL};
static const char *const reset_kinds[] = {"warm", "cold", NULL};

static const struct method_param sensors_params[] = {
    {.name = "type",
     .type = PARAM_STRING,
     .choices = sensor_types,
     .doc = "only sensors of this type"},
    END_PARAMS};

static const struct method_param event_log_params[] = {
    {.name = "limit",
     .type = PARAM_INTEGER,
     .bounded = true,
     .min = 1,
     .max = 10000,
     .doc = "at most this many entries, newest first (default 100)"},
    SYSTEM_ID_PARAM,
    END_PARAMS};

static const struct method_param identify_params[] = {
    {.name = "state",
     .type = PARAM_STRING,
     .required = true,
     .choices = on_off,
     .doc = "the identify LED on or off"},
    {.name = "seconds",
     .type = PARAM_INTEGER,
     .bounded = true,
     .min = 1,
     .max = 255,
     .doc = "IPMI: how long the LED stays on (default 15)"},
    SYSTEM_ID_PARAM,
    END_PARAMS};

static const struct method_param reset_bmc_params[] = {
    {.name = "kind",
     .type = PARAM_STRING,
     .choices = reset_kinds,
     .doc = "warm (default) or cold; Redfish: GracefulRestart or "
            "ForceRestart, whichever the manager offers"},
    {.name = "wait_seconds",
     .type = PARAM_INTEGER,
     .bounded = true,
     .min = 0,
     .max = 3600,
     .doc = "wait until the BMC answers again, at most this long (default "
            "120, capped at BMC_MAX_WAIT_FOR_STATE_SECONDS)"},
    END_PARAMS};

/* Each section is one area of work; new methods go into theirs. */
static const struct method_def registry[] = {
    /* ---- connection and power ---- */
    {.name = "validate_connection",
     .op_offset = OP(validate_connection),
     .params = no_params,
     .flags = METHOD_CALLABLE | METHOD_SKIP_VALIDATE,
     .summary = "Open a session with the BMC",
     .role = ROLE_VIEWER,
     .endpoint = "/validate"},
    {.name = "get_power_state",
     .op_offset = OP(get_power_state),
     .params = system_params,
     .flags = METHOD_CALLABLE,
     .summary = "Current chassis power state",
     .role = ROLE_VIEWER,
     .endpoint = "/power-state"},
    {.name = "list_actions",
     .op_offset = OP(list_actions),
     .params = system_params,
     .flags = METHOD_CALLABLE,
     .summary = "Power actions the BMC accepts",
     .role = ROLE_VIEWER,
     .endpoint = "/list-actions"},
    {.name = "run_action",
     .op_offset = OP(run_action),
     .params = action_params,
     .flags = METHOD_CALLABLE | METHOD_POWER_ACTION | METHOD_MUTATING,
     .summary = "Run a power action",
     .role = ROLE_OPERATOR,
     .endpoint = "/action"}, /* its body says `action`: api.c maps it */
    {.name = "list_users",
     .op_offset = OP(list_users),
     .params = user_params,
     .flags = METHOD_CALLABLE,
     .summary = "BMC user accounts",
     .role = ROLE_VIEWER,
     .endpoint = "/list-users"},
    {.name = "get_fw_version",
     .op_offset = OP(get_fw_version),
     .params = system_params,
     .flags = METHOD_CALLABLE,
     .summary = "BMC firmware version (and BIOS or manufacturer/product)",
     .role = ROLE_VIEWER},
    /* ---- provisioning: boot device, virtual media ---- */
    {.name = "get_boot_device",
     .op_offset = OP(get_boot_device),
     .params = system_params,
     .flags = METHOD_CALLABLE,
     .summary = "The next boot device, its persistence and mode",
     .role = ROLE_VIEWER,
     .endpoint = "/boot-device"},
    {.name = "set_boot_device",
     .op_offset = OP(set_boot_device),
     .params = set_boot_params,
     .flags = METHOD_CALLABLE | METHOD_MUTATING,
     .summary = "Set the next boot device and read it back",
     .role = ROLE_OPERATOR,
     .endpoint = "/set-boot-device"},
    {.name = "get_virtual_media",
     .op_offset = OP(get_virtual_media),
     .params = system_params,
     .flags = METHOD_CALLABLE,
     .summary = "Virtual media slots and what they hold (Redfish)",
     .role = ROLE_VIEWER,
     .endpoint = "/virtual-media"},
    {.name = "insert_virtual_media",
     .op_offset = OP(insert_virtual_media),
     .params = insert_media_params,
     .flags = METHOD_CALLABLE | METHOD_MUTATING,
     .summary = "Insert an image into a virtual media slot (Redfish)",
     .role = ROLE_OPERATOR,
     .endpoint = "/insert-media"},
    {.name = "eject_virtual_media",
     .op_offset = OP(eject_virtual_media),
     .params = eject_media_params,
     .flags = METHOD_CALLABLE | METHOD_MUTATING,
     .summary = "Eject a virtual media slot (Redfish)",
     .role = ROLE_OPERATOR,
     .endpoint = "/eject-media"},
    {.name = "boot_from_media",
     .op_offset = OP(boot_from_media),
     .params = boot_media_params,
     .flags = METHOD_CALLABLE | METHOD_MUTATING,
     .summary = "Eject, insert, boot once from the image, power on (Redfish)",
     .role = ROLE_OPERATOR,
     .endpoint = "/boot-from-media"},
    /* ---- machine health: sensors, event log, inventory, identify ---- */
    {.name = "get_sensors",
     .op_offset = OP(get_sensors),
     .params = sensors_params,
     .flags = METHOD_CALLABLE,
     .summary = "Sensor readings, units, health and thresholds",
     .role = ROLE_VIEWER,
     .endpoint = "/sensors"},
    {.name = "get_event_log",
     .op_offset = OP(get_event_log),
     .params = event_log_params,
     .flags = METHOD_CALLABLE,
     .summary = "The system event log, newest first",
     .role = ROLE_VIEWER,
     .endpoint = "/event-log"},
    {.name = "clear_event_log",
     .op_offset = OP(clear_event_log),
     .params = system_params,
     .flags = METHOD_CALLABLE | METHOD_MUTATING,
     .summary = "Clear the system event log (and no other log)",
     .role = ROLE_OPERATOR,
     .endpoint = "/clear-event-log"},
    {.name = "get_inventory",
     .op_offset = OP(get_inventory),
     .params = system_params,
     .flags = METHOD_CALLABLE,
     .summary = "What the machine is: vendor, model, serial, firmware, CPUs, "
                "memory",
     .role = ROLE_VIEWER,
     .endpoint = "/inventory"},
    {.name = "set_identify",
     .op_offset = OP(set_identify),
     .params = identify_params,
     .flags = METHOD_CALLABLE | METHOD_MUTATING,
     .summary = "Turn the identify LED on or off",
     .role = ROLE_OPERATOR,
     .endpoint = "/identify"},
    {.name = "reset_bmc",
     .op_offset = OP(reset_bmc),
     .params = reset_bmc_params,
     .flags = METHOD_CALLABLE | METHOD_MUTATING,
     .summary = "Restart the BMC and wait until it answers again",
     .role = ROLE_ADMIN,
     .endpoint = "/reset-bmc"},
    /* ---- BMC accounts ---- */
    {.name = "create_user",
     .op_offset = OP(create_user),
     .params = create_user_params,
     .flags = METHOD_CALLABLE | METHOD_MUTATING,
     .summary = "Create a BMC account and read it back",
     .role = ROLE_ADMIN,
     .endpoint = "/create-user"},
    {.name = "modify_user",
     .op_offset = OP(modify_user),
     .params = modify_user_params,
     .flags = METHOD_CALLABLE | METHOD_MUTATING,
     .summary = "Change a BMC account's password, role or enabled state",
     .role = ROLE_ADMIN,
     .endpoint = "/modify-user"},
    {.name = "delete_user",
     .op_offset = OP(delete_user),
     .params = delete_user_params,
     .flags = METHOD_CALLABLE | METHOD_MUTATING,
     .summary = "Delete a BMC account (never the one in use)",
     .role = ROLE_ADMIN,
     .endpoint = "/delete-user"},
    /* ---- attributes of the connection, as on the Python object: not
     * callable (2003) ---- */
    {.name = "ip", .params = no_params},
    {.name = "username", .params = no_params},
    {.name = "password", .params = no_params},
    {.name = "protocol", .params = no_params},
    {.name = "cipher_suite", .params = no_params},
    {.name = "port", .params = no_params},
};

#define REGISTRY_SIZE (sizeof(registry) / sizeof(registry[0]))

const struct method_def *methods_find(const char *name)
{
    for (size_t i = 0; i < REGISTRY_SIZE; i++)
        if (!strcmp(registry[i].name, name))
            return &registry[i];
    return NULL;
}

static const char *type_name(enum param_type t)
{
    static const char *const names[] = {"string", "integer", "number",
                                        "boolean"};
    return names[t];
}

static bool type_matches(enum param_type t, json_object *v)
{
    switch (t) {
    case PARAM_STRING: return json_object_is_type(v, json_type_string);
    case PARAM_INTEGER: return json_object_is_type(v, json_type_int);
    case PARAM_NUMBER:
        return json_object_is_type(v, json_type_int) ||
               json_object_is_type(v, json_type_double);
    case PARAM_BOOLEAN: return json_object_is_type(v, json_type_boolean);
    }
    return false;
}

static const struct method_param *find_param(const struct method_def *m,
                                             const char *name)
{
    for (const struct method_param *p = m->params; p->name; p++)
        if (!strcmp(p->name, name))
            return p;
    return NULL;
}

/* "a string", "one of a, b, c", "an integer from 0 to 15", ... */
static void describe_param(const struct method_param *p, char *out, size_t len)
{
    size_t n = 0;

    if (p->choices) {
        n += snprintf(out, len, "one of");
        for (const char *const *c = p->choices; *c && n < len; c++)
            n += snprintf(out + n, len - n, "%s %s",
                          c == p->choices ? "" : ",", *c);
    } else if (p->bounded) {
        snprintf(out, len, "%s from %g to %g",
                 p->type == PARAM_INTEGER ? "an integer" : "a number", p->min,
                 p->max);
    } else if (p->type == PARAM_STRING) {
        snprintf(out, len, "a non-empty string of at most %zu bytes",
                 p->max_len ? p->max_len : PARAM_STRING_MAX);
    } else {
        snprintf(out, len, "a%s %s", p->type == PARAM_INTEGER ? "n" : "",
                 type_name(p->type));
    }
}

static bool value_in_range(const struct method_param *p, json_object *v)
{
    if (p->type == PARAM_STRING) {
        size_t n = (size_t)json_object_get_string_len(v);
        if (n == 0 || n > (p->max_len ? p->max_len : PARAM_STRING_MAX))
            return false;
        if (!p->choices)
            return true;
        for (const char *const *c = p->choices; *c; c++)
            if (!strcmp(*c, json_object_get_string(v)))
                return true;
        return false;
    }
    if (p->bounded && (p->type == PARAM_INTEGER || p->type == PARAM_NUMBER)) {
        double d = json_object_get_double(v);
        return d >= p->min && d <= p->max;
    }
    return true;
}

static enum bmc_err check_params(const struct method_def *m,
                                 json_object *params, char *details,
                                 size_t dlen)
{
    char want[256];

    json_object_object_foreach(params, key, val)
    {
        const struct method_param *p = find_param(m, key);
        if (!p) {
            snprintf(details, dlen, "%s() got an unexpected parameter '%.64s'",
                     m->name, key);
            return BMC_ERR_INVALID_PARAMETERS;
        }
        if (!val || !type_matches(p->type, val) || !value_in_range(p, val)) {
            describe_param(p, want, sizeof(want));
            snprintf(details, dlen, "%s() parameter '%s' must be %s", m->name,
                     key, want);
            return BMC_ERR_INVALID_PARAMETERS;
        }
    }
    for (const struct method_param *p = m->params; p->name; p++) {
        json_object *v;
        if (p->required && !json_object_object_get_ex(params, p->name, &v)) {
            snprintf(details, dlen, "%s() missing required parameter '%s'",
                     m->name, p->name);
            return BMC_ERR_INVALID_PARAMETERS;
        }
    }
    return 0;
}

enum bmc_err methods_resolve(const char *name, json_object *params,
                             const struct method_def **out, char *details,
                             size_t dlen)
{
    const struct method_def *m;

    *out = NULL;
    if (name[0] == '_') {
        snprintf(details, dlen, "'%.64s' is private", name);
        return BMC_ERR_PRIVATE_METHOD;
    }
    m = methods_find(name);
    if (!m) {
        snprintf(details, dlen, "no method '%.64s'; see /openapi.json", name);
        return BMC_ERR_METHOD_NOT_FOUND;
    }
    if (!(m->flags & METHOD_CALLABLE)) {
        snprintf(details, dlen, "'%s' is an attribute, not a method", name);
        return BMC_ERR_METHOD_NOT_CALLABLE;
    }
    enum bmc_err rc = check_params(m, params, details, dlen);
    if (rc)
        return rc;
    *out = m;
    return 0;
}

bmc_op_fn methods_op(const struct method_def *method,
                     const struct bmc_backend *backend)
{
    bmc_op_fn fn;
    memcpy(&fn, (const char *)backend + method->op_offset, sizeof(fn));
    return fn;
}

enum bmc_err methods_check_supported(const struct method_def *method,
                                     const struct bmc_backend *backend,
                                     char *details, size_t dlen)
{
    if (methods_op(method, backend))
        return 0;
    snprintf(details, dlen, "'%s' is not supported over %s", method->name,
             backend->name);
    return BMC_ERR_INVALID_PARAMETERS;
}

const struct method_def *methods_by_endpoint(const char *path)
{
    for (size_t i = 0; i < REGISTRY_SIZE; i++)
        if (registry[i].endpoint && (registry[i].flags & METHOD_CALLABLE) &&
            !strcmp(registry[i].endpoint, path))
            return &registry[i];
    return NULL;
}

void methods_params_from_body(const struct method_def *method,
                              json_object *body, json_object *params)
{
    json_object *v;

    for (const struct method_param *p = method->params; p->name; p++)
        if (json_object_object_get_ex(body, p->name, &v))
            json_object_object_add(params, p->name, json_object_get(v));
}

json_object *methods_params_redact(const struct method_def *method,
                                   json_object *params)
{
    json_object *copy = json_object_new_object();

    json_object_object_foreach(params, key, val)
    {
        const struct method_param *p = find_param(method, key);
        json_object_object_add(copy, key,
                               p && p->secret ? json_object_new_string("***")
                                              : json_object_get(val));
    }
    return copy;
}

void methods_params_wipe(const struct method_def *method, json_object *params)
{
    json_object *v;

    for (const struct method_param *p = method->params; p->name; p++)
        if (p->secret && json_object_object_get_ex(params, p->name, &v) &&
            json_object_is_type(v, json_type_string))
            explicit_bzero((char *)json_object_get_string(v),
                           (size_t)json_object_get_string_len(v));
}

const char *methods_role_name(enum method_role role)
{
    static const char *const names[] = {"viewer", "operator", "admin"};
    return names[role];
}

static json_object *param_json(const struct method_param *p)
{
    json_object *po = json_object_new_object();

    json_object_object_add(po, "name", json_object_new_string(p->name));
    json_object_object_add(po, "type",
                           json_object_new_string(type_name(p->type)));
    json_object_object_add(po, "required",
                           json_object_new_boolean(p->required));
    json_object_object_add(po, "description", json_object_new_string(p->doc));
    if (p->choices) {
        json_object *c = json_object_new_array();
        for (const char *const *v = p->choices; *v; v++)
            json_object_array_add(c, json_object_new_string(*v));
        json_object_object_add(po, "enum", c);
    }
    if (p->bounded) {
        json_object_object_add(po, "minimum", json_new_number(p->min));
        json_object_object_add(po, "maximum", json_new_number(p->max));
    }
    if (p->type == PARAM_STRING && !p->choices)
        json_object_object_add(
            po, "maxLength",
            json_object_new_int64(
                (int64_t)(p->max_len ? p->max_len : PARAM_STRING_MAX)));
    if (p->secret)
        json_object_object_add(po, "secret", json_object_new_boolean(1));
    return po;
}

void methods_print_json(FILE *out)
{
    json_object *list = json_object_new_array();

    for (size_t i = 0; i < REGISTRY_SIZE; i++) {
        const struct method_def *m = &registry[i];
        if (!(m->flags & METHOD_CALLABLE))
            continue;
        json_object *e = json_object_new_object(),
                    *ps = json_object_new_array();
        json_object_object_add(e, "name", json_object_new_string(m->name));
        json_object_object_add(e, "summary",
                               json_object_new_string(m->summary));
        for (const struct method_param *p = m->params; p->name; p++)
            json_object_array_add(ps, param_json(p));
        json_object_object_add(e, "params", ps);
        json_object_object_add(
            e, "role", json_object_new_string(methods_role_name(m->role)));
        json_object_object_add(
            e, "mutating",
            json_object_new_boolean(m->flags & METHOD_MUTATING));
        json_object_object_add(
            e, "endpoint",
            m->endpoint ? json_object_new_string(m->endpoint) : NULL);
        json_object_array_add(list, e);
    }
    fprintf(
        out, "%s\n",
        json_object_to_json_string_ext(
            list, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(list);
}
