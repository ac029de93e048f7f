/* health.c - normalised sensors and log entries (see health.h). */
#include "autoconfig.h"
#include "health.h"

#include "jsonutil.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

json_object *health_sensor_new(const char *name, const char *type,
                               bool has_reading, double reading,
                               const char *unit, const char *health)
{
    json_object *s = json_object_new_object();

    json_object_object_add(s, "name",
                           json_object_new_string(name ? name : ""));
    json_object_object_add(s, "type", json_object_new_string(type));
    json_object_object_add(s, "reading",
                           has_reading ? json_new_number(reading) : NULL);
    json_object_object_add(s, "unit", json_object_new_string(unit));
    json_object_object_add(s, "health", json_object_new_string(health));
    json_object_object_add(s, "thresholds", json_object_new_object());
    return s;
}

void health_sensor_threshold(json_object *sensor, const char *key,
                             double value)
{
    json_object *t;

    if (json_object_object_get_ex(sensor, "thresholds", &t))
        json_object_object_add(t, key, json_new_number(value));
}

const char *health_from_redfish(const char *health)
{
    if (health && !strcasecmp(health, "OK"))
        return "ok";
    if (health && !strcasecmp(health, "Warning"))
        return "warning";
    if (health && !strcasecmp(health, "Critical"))
        return "critical";
    return "unknown";
}

const char *health_severity(const char *severity)
{
    const char *h = health_from_redfish(severity);
    return strcmp(h, "unknown") ? h : "ok";
}

bool health_type_wanted(const struct bmc_call *call, const char *type)
{
    json_object *v;

    if (!call->params ||
        !json_object_object_get_ex(call->params, "type", &v) ||
        !json_object_is_type(v, json_type_string))
        return true;
    return !strcmp(json_object_get_string(v), type);
}

bool health_sensor_add(json_object *list, json_object *sensor)
{
    if (json_object_array_length(list) >= HEALTH_SENSORS_MAX) {
        json_object_put(sensor);
        return false;
    }
    json_object_array_add(list, sensor);
    return true;
}

json_object *health_sensors_data(json_object *list)
{
    json_object *d = json_object_new_object();

    json_object_object_add(d, "sensors", list);
    return d;
}

json_object *health_log_entry_new(const char *id, const char *created,
                                  const char *severity, const char *message,
                                  const char *sensor)
{
    json_object *e = json_object_new_object();

    json_object_object_add(e, "id", json_object_new_string(id ? id : ""));
    json_object_object_add(e, "created",
                           created ? json_object_new_string(created) : NULL);
    json_object_object_add(e, "severity", json_object_new_string(severity));
    json_object_object_add(e, "message",
                           json_object_new_string(message ? message : ""));
    if (sensor)
        json_object_object_add(e, "sensor", json_object_new_string(sensor));
    return e;
}

static const char *entry_str(json_object *e, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(e, key, &v) &&
                   json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : "";
}

/* Newest first: later "created" first, then the larger numeric id. */
static int newest_first(const void *a, const void *b)
{
    json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
    int c = strcmp(entry_str(y, "created"), entry_str(x, "created"));

    if (c)
        return c;
    long ix = strtol(entry_str(x, "id"), NULL, 10),
         iy = strtol(entry_str(y, "id"), NULL, 10);
    return (iy > ix) - (iy < ix);
}

json_object *health_log_data(json_object *entries, int limit, long total)
{
    json_object *d = json_object_new_object(), *kept;
    size_t n = json_object_array_length(entries);

    json_object_array_sort(entries, newest_first);
    kept = json_object_new_array();
    for (size_t i = 0; i < n && (int)i < limit; i++)
        json_object_array_add(
            kept, json_object_get(json_object_array_get_idx(entries, i)));
    json_object_object_add(d, "entries", kept);
    json_object_object_add(d, "total",
                           json_object_new_int64(total < 0 ? (long)n : total));
    json_object_put(entries);
    return d;
}

int health_param_int(const struct bmc_call *call, const char *key, int dflt)
{
    json_object *v;

    if (call->params && json_object_object_get_ex(call->params, key, &v) &&
        json_object_is_type(v, json_type_int))
        return json_object_get_int(v);
    return dflt;
}
