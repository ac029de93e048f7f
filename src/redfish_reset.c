/* redfish_reset.c - ResetType lists (AllowableValues, ActionInfo, the DMTF
 * default) and the alias plans of run_action (see redfish_parse.h). */
#include "autoconfig.h"
#include "redfish_parse.h"

#include "jsonutil.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

struct rf_alias {
    const char *alias;
    const char *types[3];
    const char *noop_state;
};

/* The mapping documented in redfish_parse.h; order is list_actions' order. */
static const struct rf_alias rf_aliases[] = {
    {"on", {"On", "ForceOn", "PowerOn"}, "On"},
    {"off", {"ForceOff", "PowerOffNonGraceful", NULL}, "Off"},
    {"soft", {"GracefulShutdown", "PowerOffGraceful", NULL}, "Off"},
    {"reset", {"ForceRestart", "GracefulRestart", NULL}, NULL},
    {"cycle", {"PowerCycle", NULL, NULL}, NULL},
};
#define RF_ALIAS_COUNT (sizeof(rf_aliases) / sizeof(rf_aliases[0]))

static const char *const rf_dmtf_types[] = {
    "On",  "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart",
    "Nmi", "ForceOn",  "PushPowerButton",  "PowerCycle",
};

/* Whether NAME is a plausible ResetType token (bounded, no controls). */
static bool rfp_type_name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n >= RF_NAME_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || *p == '\'' || *p == '"' || *p == '\\')
            return false;
    return true;
}

static void rfp_types_add(struct rf_types *out, const char *name)
{
    if (out->n >= RF_TYPES_MAX || !rfp_type_name_ok(name) ||
        rfp_types_has(out, name))
        return;
    memcpy(out->v[out->n++], name, strlen(name) + 1);
}

void rfp_types_from_array(json_object *arr, struct rf_types *out)
{
    out->n = 0;
    if (!arr || !json_object_is_type(arr, json_type_array))
        return;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        if (json_object_is_type(v, json_type_string))
            rfp_types_add(out, json_object_get_string(v));
    }
}

void rfp_types_from_action_info(json_object *info, struct rf_types *out)
{
    json_object *params, *vals;

    out->n = 0;
    if (!info || !json_object_is_type(info, json_type_object) ||
        !json_object_object_get_ex(info, "Parameters", &params) ||
        !json_object_is_type(params, json_type_array))
        return;
    for (size_t i = 0; i < json_object_array_length(params); i++) {
        json_object *p = json_object_array_get_idx(params, i);
        const char *name = rfp_string(p, "Name");
        if (name && !strcmp(name, "ResetType") &&
            json_object_object_get_ex(p, "AllowableValues", &vals)) {
            rfp_types_from_array(vals, out);
            return;
        }
    }
}

void rfp_types_default(struct rf_types *out)
{
    out->n = 0;
    for (size_t i = 0; i < sizeof(rf_dmtf_types) / sizeof(rf_dmtf_types[0]);
         i++)
        rfp_types_add(out, rf_dmtf_types[i]);
}

bool rfp_types_has(const struct rf_types *types, const char *name)
{
    for (size_t i = 0; i < types->n; i++)
        if (!strcmp(types->v[i], name))
            return true;
    return false;
}

void rfp_types_remove(struct rf_types *types, const char *name)
{
    for (size_t i = 0; i < types->n; i++) {
        if (strcmp(types->v[i], name))
            continue;
        memmove(types->v[i], types->v[i + 1],
                (types->n - i - 1) * sizeof(types->v[0]));
        types->n--;
        return;
    }
}

int rfp_reset_action(json_object *system, struct rf_reset *out)
{
    json_object *actions, *reset, *vals;
    const char *info;

    memset(out, 0, sizeof(*out));
    if (!system || !json_object_object_get_ex(system, "Actions", &actions) ||
        !json_object_is_type(actions, json_type_object) ||
        !json_object_object_get_ex(actions, "#ComputerSystem.Reset", &reset) ||
        !json_object_is_type(reset, json_type_object))
        return -1;
    if (rfp_copy_path(rfp_string(reset, "target"), out->target,
                      sizeof(out->target)))
        return -1;
    if (json_object_object_get_ex(reset, "ResetType@Redfish.AllowableValues",
                                  &vals))
        rfp_types_from_array(vals, &out->types);
    info = rfp_string(reset, "@Redfish.ActionInfo");
    if (rfp_copy_path(info, out->action_info, sizeof(out->action_info)))
        out->action_info[0] = '\0';
    return 0;
}

/* The first of ALIAS's ResetTypes that TYPES offers, or NULL. */
static const char *rfp_alias_type(const struct rf_alias *alias,
                                  const struct rf_types *types)
{
    for (size_t i = 0; i < 3 && alias->types[i]; i++)
        if (rfp_types_has(types, alias->types[i]))
            return alias->types[i];
    return NULL;
}

static const struct rf_alias *rfp_alias_find(const char *name)
{
    for (size_t i = 0; i < RF_ALIAS_COUNT; i++)
        if (!strcmp(rf_aliases[i].alias, name))
            return &rf_aliases[i];
    return NULL;
}

/* The state in which ResetType TYPE changes nothing, or NULL. */
static const char *rfp_type_noop_state(const char *type)
{
    for (size_t i = 0; i < RF_ALIAS_COUNT; i++)
        for (size_t j = 0; j < 3 && rf_aliases[i].types[j]; j++)
            if (!strcmp(rf_aliases[i].types[j], type))
                return rf_aliases[i].noop_state;
    return NULL;
}

/* Fill PLAN for the cycle alias when the BMC has no PowerCycle. */
static void rfp_plan_cycle_sequence(const struct rf_types *types,
                                    struct rf_plan *plan)
{
    const char *off = rfp_alias_type(rfp_alias_find("off"), types);
    const char *on = rfp_alias_type(rfp_alias_find("on"), types);

    if (!off || !on)
        return;
    plan->kind = RF_PLAN_CYCLE_SEQUENCE;
    snprintf(plan->off_type, sizeof(plan->off_type), "%s", off);
    snprintf(plan->on_type, sizeof(plan->on_type), "%s", on);
}

bool rfp_is_alias(const char *name)
{
    return name && rfp_alias_find(name) != NULL;
}

void rfp_plan_action(const char *name, const struct rf_types *types,
                     struct rf_plan *plan)
{
    const struct rf_alias *alias = name ? rfp_alias_find(name) : NULL;
    const char *type = NULL;

    memset(plan, 0, sizeof(*plan));
    if (!name)
        return;
    if (alias) {
        type = rfp_alias_type(alias, types);
        if (!type && !strcmp(alias->alias, "cycle"))
            rfp_plan_cycle_sequence(types, plan);
    } else {
        for (size_t i = 0; i < types->n && !type; i++)
            if (!strcmp(types->v[i], name))
                type = types->v[i];
        for (size_t i = 0; i < types->n && !type; i++)
            if (!strcasecmp(types->v[i], name))
                type = types->v[i];
    }
    if (type) {
        plan->kind = RF_PLAN_RESET;
        snprintf(plan->reset_type, sizeof(plan->reset_type), "%s", type);
        plan->noop_state =
            alias ? alias->noop_state : rfp_type_noop_state(type);
    }
}

json_object *rfp_actions_json(const struct rf_types *types)
{
    json_object *arr = json_object_new_array();
    struct rf_plan plan;

    for (size_t i = 0; i < RF_ALIAS_COUNT; i++) {
        rfp_plan_action(rf_aliases[i].alias, types, &plan);
        if (plan.kind != RF_PLAN_UNSUPPORTED)
            json_object_array_add(arr,
                                  json_object_new_string(rf_aliases[i].alias));
    }
    for (size_t i = 0; i < types->n; i++)
        json_object_array_add(arr, json_object_new_string(types->v[i]));
    return arr;
}
