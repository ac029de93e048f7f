/* health.h - the normalised shapes of machine health that both backends
 * answer (doc/architecture.md, "Backends"): a sensor {name, type,
 * reading (number or null, never a made-up 0), unit (UCUM: Cel, RPM, V, A,
 * W, %), health (ok, warning, critical, unknown), thresholds
 * {upper_critical, ...}} and
 * an event log entry {id, created, severity, message, sensor?}, with the
 * bounds every list keeps.
 * Owns: nothing; every function returns a new object the caller owns. */
#ifndef BMC_HEALTH_H
#define BMC_HEALTH_H

#include "backend.h"

#include <json-c/json.h>
#include <stdbool.h>

#define HEALTH_SENSORS_MAX 2000  /* sensors in one answer */
#define HEALTH_LOG_MAX     10000 /* event log entries in one answer */
#define HEALTH_LOG_DEFAULT 100   /* get_event_log's default limit */

/* A sensor of TYPE ("temperature", "fan", "voltage", "current", "power");
 * READING is used only when HAS_READING. HEALTH one of ours (see
 * health_from_redfish). Thresholds start empty (health_sensor_threshold). */
json_object *health_sensor_new(const char *name, const char *type,
                               bool has_reading, double reading,
                               const char *unit, const char *health);

/* Add threshold KEY (upper_caution, upper_critical, upper_fatal,
 * lower_caution, lower_critical, lower_fatal) = VALUE to SENSOR. */
void health_sensor_threshold(json_object *sensor, const char *key,
                             double value);

/* Redfish Status.Health / Severity ("OK", "Warning", "Critical") → ours;
 * NULL or anything else → "unknown" (sensors) — see health_severity. */
const char *health_from_redfish(const char *health);

/* Redfish LogEntry Severity → ours: "ok", "warning", "critical" (unknown
 * values count as "ok": an entry that claims nothing). */
const char *health_severity(const char *severity);

/* Whether a sensor of TYPE belongs in the answer: the call's optional
 * "type" parameter, when given, must equal it. */
bool health_type_wanted(const struct bmc_call *call, const char *type);

/* Append SENSOR to LIST unless the list is full (then SENSOR is freed).
 * Returns false once full. */
bool health_sensor_add(json_object *list, json_object *sensor);

/* {"sensors": LIST} (ownership of LIST taken). */
json_object *health_sensors_data(json_object *list);

/* A log entry; CREATED, SENSOR may be NULL (created → null, sensor left
 * out). */
json_object *health_log_entry_new(const char *id, const char *created,
                                  const char *severity, const char *message,
                                  const char *sensor);

/* Sort ENTRIES newest first (by "created", ISO 8601 strings of one zone,
 * then by numeric id), keep the first LIMIT, and answer {"entries",
 * "total"} (TOTAL < 0: the number of entries read). Ownership taken. */
json_object *health_log_data(json_object *entries, int limit, long total);

/* The call's integer parameter KEY, or DFLT when absent. */
int health_param_int(const struct bmc_call *call, const char *key, int dflt);

#endif
