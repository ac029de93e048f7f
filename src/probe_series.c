/* probe_series.c - the probe's series from method payloads (see probe.h,
 * probe_write_item). Names the Prometheus way: base units in the name
 * (`_celsius`, `_volts`, `_amperes`, `_watts`, `_rpm`), `_info` with the
 * value 1 for text facts. */
#include "autoconfig.h"
#include "probe.h"
#include "probe_modules.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *str_of(json_object *o, const char *key)
{
    json_object *v;

    if (o && json_object_object_get_ex(o, key, &v) &&
        json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

static bool num_of(json_object *o, const char *key, double *out)
{
    json_object *v;

    if (!o || !json_object_object_get_ex(o, key, &v) ||
        !(json_object_is_type(v, json_type_double) ||
          json_object_is_type(v, json_type_int)))
        return false;
    *out = json_object_get_double(v);
    return isfinite(*out);
}

/* get_power_state: {"power_state": "On"|"Off"|... or "on"|"off"} */
static void write_power(struct prom_buf *b, json_object *data)
{
    const char *ps = str_of(data, "power_state");

    if (!ps)
        return;
    prom_family(b, "bmc_power_on", "gauge",
                "1 when the machine is powered on, 0 otherwise.");
    prom_sample(b, "bmc_power_on", NULL, !strcasecmp(ps, "on") ? 1 : 0);
}

/* DESIGN.md's sensor units and their Prometheus base-unit suffixes. */
static const struct {
    const char *unit, *suffix, *help;
} units[] = {
    {"Cel", "celsius", "Temperature sensor readings."},
    {"V", "volts", "Voltage sensor readings."},
    {"A", "amperes", "Current sensor readings."},
    {"W", "watts", "Power sensor readings."},
    {"RPM", "rpm", "Fan speed readings."},
};

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* Whether a sensor before index I of LIST has the same name (and, with
 * BY_TYPE, type and unit): a repeated series would be refused. */
static bool seen_before(json_object *list, size_t i, bool by_type)
{
    json_object *s = json_object_array_get_idx(list, i);

    for (size_t j = 0; j < i; j++) {
        json_object *o = json_object_array_get_idx(list, j);
        if (same_str(str_of(o, "name"), str_of(s, "name")) &&
            (!by_type || (same_str(str_of(o, "type"), str_of(s, "type")) &&
                          same_str(str_of(o, "unit"), str_of(s, "unit")))))
            return true;
    }
    return false;
}

static void write_sensor_unit(struct prom_buf *b, json_object *list, int u)
{
    char name[64];
    bool any = false;

    snprintf(name, sizeof(name), "bmc_sensor_value_%s", units[u].suffix);
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *s = json_object_array_get_idx(list, i);
        const char *unit = str_of(s, "unit");
        double reading;
        if (!unit || strcmp(unit, units[u].unit) ||
            !num_of(s, "reading", &reading) || seen_before(list, i, true))
            continue; /* no reading: no sample, never a 0 */
        if (!any)
            prom_family(b, name, "gauge", units[u].help);
        any = true;
        const char *labels[] = {"name", str_of(s, "name"), "type",
                                str_of(s, "type"), NULL};
        prom_sample(b, name, labels, reading);
    }
}

static int health_value(const char *h)
{
    if (!h)
        return -1;
    return !strcmp(h, "ok")         ? 0
           : !strcmp(h, "warning")  ? 1
           : !strcmp(h, "critical") ? 2
                                    : -1;
}

/* get_sensors: {"sensors": [{name, type, reading, unit, health, ...}]} */
static void write_sensors(struct prom_buf *b, json_object *data)
{
    json_object *list;
    bool any = false;

    if (!data || !json_object_object_get_ex(data, "sensors", &list) ||
        !json_object_is_type(list, json_type_array))
        return;
    for (int u = 0; u < (int)(sizeof(units) / sizeof(units[0])); u++)
        write_sensor_unit(b, list, u);
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *s = json_object_array_get_idx(list, i);
        int h = health_value(str_of(s, "health"));
        if (h < 0 || seen_before(list, i, false))
            continue;
        if (!any)
            prom_family(b, "bmc_sensor_health", "gauge",
                        "Sensor health: 0 ok, 1 warning, 2 critical.");
        any = true;
        const char *labels[] = {"name", str_of(s, "name"), NULL};
        prom_sample(b, "bmc_sensor_health", labels, h);
    }
}

/* get_event_log: {"entries": [...], "total": N} */
static void write_event_log(struct prom_buf *b, json_object *data)
{
    double total;

    if (!num_of(data, "total", &total))
        return;
    prom_family(b, "bmc_event_log_entries", "gauge",
                "Entries in the system event log.");
    prom_sample(b, "bmc_event_log_entries", NULL, total);
}

/* get_inventory: {manufacturer, model, serial_number, bios_version,
 * bmc_firmware, ...} (fields the BMC lacks are null) */
static void write_inventory(struct prom_buf *b, json_object *data)
{
    const char *labels[] = {"manufacturer",
                            str_of(data, "manufacturer"),
                            "model",
                            str_of(data, "model"),
                            "serial",
                            str_of(data, "serial_number"),
                            "bmc_firmware",
                            str_of(data, "bmc_firmware"),
                            "bios_version",
                            str_of(data, "bios_version"),
                            NULL};

    prom_family(b, "bmc_info", "gauge",
                "What the machine is (value always 1; labels from its BMC).");
    prom_sample(b, "bmc_info", labels, 1);
}

void probe_write_item(struct prom_buf *b, unsigned collect_bit,
                      json_object *data)
{
    switch (collect_bit) {
    case PROBE_POWER: write_power(b, data); break;
    case PROBE_SENSORS: write_sensors(b, data); break;
    case PROBE_EVENT_LOG_COUNT: write_event_log(b, data); break;
    case PROBE_INVENTORY_INFO: write_inventory(b, data); break;
    default: break;
    }
}
