/* redfish_parse.h - pure functions of the Redfish backend: bounded parsing of
 * BMC JSON, link extraction, the ResetType list, and the mapping of the
 * generic aliases to what a BMC offers. No network: unit tests and fuzzers
 * call these with canned documents.
 *
 * Alias mapping (first ResetType the BMC offers wins):
 *   on    → On, ForceOn, PowerOn                      (no-op when On)
 *   off   → ForceOff, PowerOffNonGraceful             (no-op when Off)
 *   soft  → GracefulShutdown, PowerOffGraceful        (no-op when Off;
 *                                                      never forced)
 *   reset → ForceRestart, GracefulRestart             (reset is a hard reset:
 *           forced first; a BMC with only GracefulRestart gets that, and the
 *           reset_type sent is reported)
 *   cycle → PowerCycle; else the sequence off → wait for Off → on, using
 *           the off and on mappings above (forced off, as a cycle is)
 * Exact ResetType names the BMC publishes are accepted as they are (also
 * case-insensitively); On/ForceOn/PowerOn are no-ops when On and
 * ForceOff/GracefulShutdown/PowerOff* when Off. A graceful request is never
 * turned into a forced one.
 *
 * Owns: returned json objects belong to the caller; the structs are plain
 * values. */
#ifndef BMC_REDFISH_PARSE_H
#define BMC_REDFISH_PARSE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#define RF_JSON_DEPTH 32  /* nesting accepted in BMC documents */
#define RF_PATH_MAX   512 /* bytes of a followed @odata.id, NUL included */
#define RF_NAME_MAX   64  /* bytes of a ResetType name, NUL included */
#define RF_TYPES_MAX  32  /* ResetType values kept */

/* The ResetTypes a system offers. */
struct rf_types {
    size_t n;
    char v[RF_TYPES_MAX][RF_NAME_MAX];
};

/* The system's #ComputerSystem.Reset action. */
struct rf_reset {
    char target[RF_PATH_MAX];      /* POST target */
    char action_info[RF_PATH_MAX]; /* @Redfish.ActionInfo link or "" */
    struct rf_types types;         /* inline AllowableValues (maybe empty) */
};

enum rf_plan_kind {
    /* not offered: answer "Action 'X' is not supported" */
    RF_PLAN_UNSUPPORTED,
    RF_PLAN_RESET,          /* one POST of reset_type */
    RF_PLAN_CYCLE_SEQUENCE, /* off_type, wait for Off, then on_type */
};

/* What run_action does for one action name on one BMC. */
struct rf_plan {
    enum rf_plan_kind kind;
    char reset_type[RF_NAME_MAX]; /* RF_PLAN_RESET */
    char off_type[RF_NAME_MAX];   /* RF_PLAN_CYCLE_SEQUENCE */
    char on_type[RF_NAME_MAX];    /* RF_PLAN_CYCLE_SEQUENCE */
    const char *noop_state; /* "On"/"Off": already there = success; or NULL */
};

/* Parse LEN bytes of BODY as one JSON object (strict, depth-bounded).
 * Returns the object (caller puts it) or NULL with a reason in ERR. */
json_object *rfp_parse_object(const char *body, size_t len, char *err,
                              size_t errlen);

/* Whether S is a safe absolute Redfish path to request: starts with one '/',
 * shorter than RF_PATH_MAX, only URL path characters (no spaces, controls,
 * '#', '\\', quotes, "..", or "//"); a query ("?$skip=") is allowed. */
bool rfp_path_ok(const char *s);

/* Copy S into OUT when it is a safe path (rfp_path_ok) that fits. 0 or -1. */
int rfp_copy_path(const char *s, char *out, size_t outlen);

/* OBJ[KEY] when it is a string, else NULL (borrowed). */
const char *rfp_string(json_object *obj, const char *key);

/* Copy OBJ[KEY]["@odata.id"] into OUT if it is a safe path. 0 or -1. */
int rfp_link(json_object *obj, const char *key, char *out, size_t outlen);

/* Number of entries of the collection's Members array (0 if none/invalid). */
size_t rfp_member_count(json_object *coll);

/* Copy the path of Members[INDEX] into OUT if it is a safe path. 0 or -1. */
int rfp_member_path(json_object *coll, size_t index, char *out, size_t outlen);

/* Copy "Members@odata.nextLink" into OUT if present and safe. 0 or -1. */
int rfp_next_link(json_object *coll, char *out, size_t outlen);

/* The last segment of PATH (trailing '/' ignored) into OUT. */
void rfp_path_leaf(const char *path, char *out, size_t outlen);

/* Reduce a Location header value (path or absolute https URL) to a safe
 * path in OUT; the host part is dropped: we only ever talk to the BMC the
 * call names. 0 or -1. */
int rfp_location_path(const char *location, char *out, size_t outlen);

/* Fill OUT from SYSTEM's Actions["#ComputerSystem.Reset"]. 0, or -1 when
 * the system has no usable reset action. */
int rfp_reset_action(json_object *system, struct rf_reset *out);

/* Fill OUT with the string entries of ARR (JSON array), deduplicated,
 * bounded; other entries are skipped. */
void rfp_types_from_array(json_object *arr, struct rf_types *out);

/* Fill OUT from an ActionInfo document's Parameters entry "ResetType". */
void rfp_types_from_action_info(json_object *info, struct rf_types *out);

/* Fill OUT with the DMTF ResetType enumeration (for a BMC that publishes
 * no allowable values: clients try and read the error). */
void rfp_types_default(struct rf_types *out);

/* Whether TYPES contains NAME (exactly). */
bool rfp_types_has(const struct rf_types *types, const char *name);

/* Remove NAME from TYPES (the BMC turned it down). */
void rfp_types_remove(struct rf_types *types, const char *name);

/* Whether NAME is one of the aliases on off soft reset cycle. */
bool rfp_is_alias(const char *name);

/* Decide what action NAME means on a BMC offering TYPES. */
void rfp_plan_action(const char *name, const struct rf_types *types,
                     struct rf_plan *plan);

/* The list run_action accepts: the aliases that map, in the order on off
 * soft reset cycle, then the BMC's own names. New JSON array. */
json_object *rfp_actions_json(const struct rf_types *types);

/* One list_users entry from an account document:
 * {id, name, role, enabled, locked} (null where absent or mistyped). */
json_object *rfp_user_json(json_object *account);

/* A short reason from an error body ({"error":{...}} or anything): the
 * first MessageId and message, else "empty body"/"non-JSON body". */
void rfp_error_reason(const char *body, size_t len, char *out, size_t outlen);

/* Whether an error body names a conflict with the current power state
 * (ResetNotAllowed, PropertyValueConflict, InvalidOperationForSystemState,
 * NoOperation, or a message saying "already"). */
bool rfp_error_is_state_conflict(const char *body, size_t len);

/* Whether an error body says the ResetType value is not supported
 * (ActionParameterNotSupported, PropertyValueNotInList,
 * ActionParameterValueNotInList, ActionParameterUnknown, ...). */
bool rfp_error_is_unsupported_value(const char *body, size_t len);

/* A task monitor / Task document's TaskState: 1 finished well, -1 finished
 * badly (Exception, Killed, Cancelled), 0 still running. STATE gets the
 * TaskState text ("" when absent). */
int rfp_task_state(json_object *task, char *state, size_t statelen);

#endif
