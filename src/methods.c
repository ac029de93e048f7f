/* methods.c - the registry table (see methods.h). Adding a method: one
 * entry here (and the operation in each backend). */
#include "autoconfig.h"
#include "methods.h"

#include "errors.h"
#include "jsonutil.h"

#include <stdio.h>
#include <string.h>

#define OP(field) offsetof(struct bmc_backend, field)

static const struct method_param no_params[] = {{NULL, 0, false, NULL}};

static const struct method_param system_params[] = {
    {"system_id", PARAM_STRING, false,
     "Redfish: the Systems member to use when the BMC has several"},
    {NULL, 0, false, NULL}};

static const struct method_param action_params[] = {
    {"action_name", PARAM_STRING, true,
     "on, off, soft, reset, cycle (IPMI also status), or a Redfish ResetType"},
    {"system_id", PARAM_STRING, false,
     "Redfish: the Systems member to use when the BMC has several"},
    {NULL, 0, false, NULL}};

static const struct method_param user_params[] = {
    {"channel", PARAM_INTEGER, false,
     "IPMI: the LAN channel whose users are listed (default 1)"},
    {NULL, 0, false, NULL}};

static const struct method_def registry[] = {
    {"validate_connection", OP(validate_connection), no_params,
     METHOD_CALLABLE | METHOD_SKIP_VALIDATE, "Open a session with the BMC"},
    {"get_power_state", OP(get_power_state), system_params, METHOD_CALLABLE,
     "Current chassis power state"},
    {"list_actions", OP(list_actions), system_params, METHOD_CALLABLE,
     "Power actions the BMC accepts"},
    {"run_action", OP(run_action), action_params,
     METHOD_CALLABLE | METHOD_POWER_ACTION, "Run a power action"},
    {"list_users", OP(list_users), user_params, METHOD_CALLABLE,
     "BMC user accounts"},
    {"get_fw_version", OP(get_fw_version), system_params, METHOD_CALLABLE,
     "BMC firmware version (and BIOS or manufacturer/product)"},
    /* Attributes of the connection, as on the Python object: not callable. */
    {"ip", 0, no_params, 0, NULL},
    {"username", 0, no_params, 0, NULL},
    {"password", 0, no_params, 0, NULL},
    {"protocol", 0, no_params, 0, NULL},
    {"cipher_suite", 0, no_params, 0, NULL},
    {"port", 0, no_params, 0, NULL},
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

static enum bmc_err check_params(const struct method_def *m,
                                 json_object *params, char *details,
                                 size_t dlen)
{
    json_object_object_foreach(params, key, val)
    {
        const struct method_param *p = find_param(m, key);
        if (!p) {
            snprintf(details, dlen, "%s() got an unexpected parameter '%.64s'",
                     m->name, key);
            return BMC_ERR_INVALID_PARAMETERS;
        }
        if (!val || !type_matches(p->type, val)) {
            snprintf(details, dlen, "%s() parameter '%s' must be a %s",
                     m->name, key, type_name(p->type));
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
        for (const struct method_param *p = m->params; p->name; p++) {
            json_object *po = json_object_new_object();
            json_object_object_add(po, "name",
                                   json_object_new_string(p->name));
            json_object_object_add(po, "type",
                                   json_object_new_string(type_name(p->type)));
            json_object_object_add(po, "required",
                                   json_object_new_boolean(p->required));
            json_object_object_add(po, "description",
                                   json_object_new_string(p->doc));
            json_object_array_add(ps, po);
        }
        json_object_object_add(e, "params", ps);
        json_object_array_add(list, e);
    }
    fprintf(out, "%s\n",
            json_object_to_json_string_ext(list, JSON_C_TO_STRING_PRETTY));
    json_object_put(list);
}
