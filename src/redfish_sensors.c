/* redfish_sensors.c - get_sensors over Redfish: one normalised list (see
 * health.h) from whichever generation the chassis serves, tried in order:
 *   1. Chassis/{id}/Sensors: Sensor resources (ReadingType, Reading,
 *      ReadingUnits, Thresholds, Status.Health) — Redfish 2019.4+, bmcweb,
 *      the DMTF mockups;
 *   2. ThermalSubsystem (ThermalMetrics' TemperatureReadingsCelsius, Fans'
 *      SpeedPercent) and PowerSubsystem (each PowerSupply's Metrics:
 *      InputVoltage, InputCurrentAmps, InputPowerWatts) — Redfish 2020.4+;
 *   3. the deprecated Thermal (Temperatures, Fans) and Power (Voltages,
 *      PowerControl, PowerSupplies) — iLO 5, Supermicro, XClarity, older
 *      iDRAC.
 * Every chassis of the service is read (at most RF_CHASSIS_MAX). A sensor
 * without a reading answers reading null. */
#include "autoconfig.h"
#include "redfish_private.h"

#include "errors.h"
#include "health.h"

#include <stdio.h>
#include <string.h>

#define RF_CHASSIS_MAX 8

/* What one get_sensors call collects. */
struct rf_sensors {
    const struct bmc_call *call;
    json_object *list;
};

/* ReadingType → our type and unit (Sensor v1.x ReadingType enum). */
static const struct {
    const char *reading_type, *type, *unit;
} rf_reading_types[] = {
    {"Temperature", "temperature", "Cel"},
    {"Rotational", "fan", "RPM"},
    {"Voltage", "voltage", "V"},
    {"Current", "current", "A"},
    {"Power", "power", "W"},
};

static const char *rf_status_health(json_object *obj)
{
    json_object *st = rf_member(obj, "Status");
    const char *state = rfp_string(st, "State");

    if (state && !strcmp(state, "Absent"))
        return "unknown";
    return health_from_redfish(rfp_string(st, "Health"));
}

/* Add one sensor if its type is wanted; false once the list is full. */
static bool rf_add(struct rf_sensors *rs, const char *name, const char *type,
                   json_object *obj, const char *key, const char *unit,
                   const char *health)
{
    double v = 0;
    bool has = rf_number(obj, key, &v);

    if (!health_type_wanted(rs->call, type))
        return true;
    return health_sensor_add(
        rs->list, health_sensor_new(name, type, has, v, unit, health));
}

/* The last sensor added (for its thresholds). */
static json_object *rf_last(struct rf_sensors *rs)
{
    size_t n = json_object_array_length(rs->list);
    return n ? json_object_array_get_idx(rs->list, n - 1) : NULL;
}

/* ---- 1. Sensors ------------------------------------------------------- */

static bool rf_on_sensor(struct rf_op *op, json_object *s, void *arg)
{
    static const char *const keys[][2] = {{"UpperCaution", "upper_caution"},
                                          {"UpperCritical", "upper_critical"},
                                          {"UpperFatal", "upper_fatal"},
                                          {"LowerCaution", "lower_caution"},
                                          {"LowerCritical", "lower_critical"},
                                          {"LowerFatal", "lower_fatal"}};
    struct rf_sensors *rs = arg;
    const char *rt = rfp_string(s, "ReadingType"),
               *name = rfp_string(s, "Name");
    json_object *thr = rf_member(s, "Thresholds");
    size_t before = json_object_array_length(rs->list);
    double v;

    (void)op;
    for (size_t i = 0;
         rt && i < sizeof(rf_reading_types) / sizeof(rf_reading_types[0]);
         i++) {
        if (strcmp(rt, rf_reading_types[i].reading_type))
            continue;
        const char *unit = rfp_string(s, "ReadingUnits");
        if (!rf_add(rs, name ? name : rfp_string(s, "Id"),
                    rf_reading_types[i].type, s, "Reading",
                    unit ? unit : rf_reading_types[i].unit,
                    rf_status_health(s)))
            return false;
        break;
    }
    if (json_object_array_length(rs->list) > before)
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
            if (rf_number(rf_member(thr, keys[k][0]), "Reading", &v))
                health_sensor_threshold(rf_last(rs), keys[k][1], v);
    return true;
}

/* ---- 2. ThermalSubsystem, PowerSubsystem -------------------------------- */

static const char *rf_excerpt_name(json_object *ex, char *buf, size_t len)
{
    const char *name = rfp_string(ex, "DeviceName");
    const char *src = rfp_string(ex, "DataSourceUri");

    if (name)
        return name;
    if (src) {
        rfp_path_leaf(src, buf, len);
        return buf;
    }
    return "";
}

static bool rf_on_fan(struct rf_op *op, json_object *fan, void *arg)
{
    struct rf_sensors *rs = arg;
    json_object *speed = rf_member(fan, "SpeedPercent");
    double rpm;
    const char *name = rfp_string(fan, "Name");

    (void)op;
    if (rf_number(speed, "SpeedRPM", &rpm) ||
        !rf_number(speed, "Reading", &rpm))
        return rf_add(rs, name, "fan", speed, "SpeedRPM", "RPM",
                      rf_status_health(fan));
    return rf_add(rs, name, "fan", speed, "Reading", "%",
                  rf_status_health(fan));
}

static int rf_thermal_subsystem(struct rf_op *op, struct rf_sensors *rs,
                                const char *path)
{
    char link[RF_PATH_MAX], name[RF_PATH_MAX];
    json_object *ts = NULL, *tm = NULL, *temps;
    int rc = -1;

    if (rf_get(op, path, &ts, NULL, 0))
        return -1;
    if (rfp_link(ts, "ThermalMetrics", link, sizeof(link)) == 0) {
        if (rf_get(op, link, &tm, NULL, 0))
            goto out;
        if (json_object_object_get_ex(tm, "TemperatureReadingsCelsius",
                                      &temps) &&
            json_object_is_type(temps, json_type_array))
            for (size_t i = 0; i < json_object_array_length(temps); i++) {
                json_object *ex = json_object_array_get_idx(temps, i);
                if (!rf_add(rs, rf_excerpt_name(ex, name, sizeof(name)),
                            "temperature", ex, "Reading", "Cel",
                            rf_status_health(ts)))
                    break;
            }
    }
    if (rfp_link(ts, "Fans", link, sizeof(link)) == 0 &&
        rf_each_member(op, link, HEALTH_SENSORS_MAX, rf_on_fan, rs))
        goto out;
    rc = 0;
out:
    json_object_put(ts);
    json_object_put(tm);
    return rc;
}

static bool rf_on_power_supply(struct rf_op *op, json_object *psu, void *arg)
{
    struct rf_sensors *rs = arg;
    char link[RF_PATH_MAX], name[RF_NAME_MAX + 32];
    const char *psu_name = rfp_string(psu, "Name"), *health;
    json_object *m = NULL;

    if (rfp_link(psu, "Metrics", link, sizeof(link)) ||
        rf_get(op, link, &m, NULL, 0))
        return !op->out->code;
    health = rf_status_health(psu);
    snprintf(name, sizeof(name), "%.60s Input Voltage",
             psu_name ? psu_name : "");
    bool go = rf_add(rs, name, "voltage", rf_member(m, "InputVoltage"),
                     "Reading", "V", health);
    snprintf(name, sizeof(name), "%.60s Input Current",
             psu_name ? psu_name : "");
    go = go && rf_add(rs, name, "current", rf_member(m, "InputCurrentAmps"),
                      "Reading", "A", health);
    snprintf(name, sizeof(name), "%.60s Input Power",
             psu_name ? psu_name : "");
    go = go && rf_add(rs, name, "power", rf_member(m, "InputPowerWatts"),
                      "Reading", "W", health);
    json_object_put(m);
    return go;
}

static int rf_power_subsystem(struct rf_op *op, struct rf_sensors *rs,
                              const char *path)
{
    char link[RF_PATH_MAX];
    json_object *ps = NULL;
    int rc = 0;

    if (rf_get(op, path, &ps, NULL, 0))
        return -1;
    if (rfp_link(ps, "PowerSupplies", link, sizeof(link)) == 0)
        rc = rf_each_member(op, link, 64, rf_on_power_supply, rs);
    json_object_put(ps);
    return op->out->code ? -1 : rc;
}

/* ---- 3. Thermal, Power (deprecated) -------------------------------------- */

/* Legacy threshold property names → ours. */
static void rf_legacy_thresholds(json_object *sensor, json_object *entry)
{
    static const char *const keys[][2] = {
        {"UpperThresholdNonCritical", "upper_caution"},
        {"UpperThresholdCritical", "upper_critical"},
        {"UpperThresholdFatal", "upper_fatal"},
        {"LowerThresholdNonCritical", "lower_caution"},
        {"LowerThresholdCritical", "lower_critical"},
        {"LowerThresholdFatal", "lower_fatal"}};
    double v;

    for (size_t k = 0; sensor && k < sizeof(keys) / sizeof(keys[0]); k++)
        if (rf_number(entry, keys[k][0], &v))
            health_sensor_threshold(sensor, keys[k][1], v);
}

/* Each entry of DOC[ARRAY] as a sensor of TYPE read from KEY in UNIT. */
static bool rf_legacy_array(struct rf_sensors *rs, json_object *doc,
                            const char *array, const char *type,
                            const char *key, const char *unit)
{
    json_object *arr;

    if (!json_object_object_get_ex(doc, array, &arr) ||
        !json_object_is_type(arr, json_type_array))
        return true;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        const char *name = rfp_string(e, "Name");
        const char *u = rfp_string(e, "ReadingUnits");
        size_t before = json_object_array_length(rs->list);
        if (!name)
            name = rfp_string(e, "FanName");
        if (!rf_add(rs, name, type, e, key,
                    u && !strcmp(u, "Percent") ? "%" : unit,
                    rf_status_health(e)))
            return false;
        if (json_object_array_length(rs->list) > before)
            rf_legacy_thresholds(rf_last(rs), e);
    }
    return true;
}

static int rf_legacy(struct rf_op *op, struct rf_sensors *rs,
                     const char *thermal, const char *power)
{
    json_object *doc = NULL;

    if (thermal[0]) {
        if (rf_get(op, thermal, &doc, NULL, 0))
            return -1;
        (void)(rf_legacy_array(rs, doc, "Temperatures", "temperature",
                               "ReadingCelsius", "Cel") &&
               rf_legacy_array(rs, doc, "Fans", "fan", "Reading", "RPM"));
        json_object_put(doc);
    }
    if (power[0]) {
        if (rf_get(op, power, &doc, NULL, 0))
            return -1;
        (void)(rf_legacy_array(rs, doc, "Voltages", "voltage", "ReadingVolts",
                               "V") &&
               rf_legacy_array(rs, doc, "PowerControl", "power",
                               "PowerConsumedWatts", "W") &&
               rf_legacy_array(rs, doc, "PowerSupplies", "power",
                               "PowerInputWatts", "W"));
        json_object_put(doc);
    }
    return 0;
}

/* ---- the operation ------------------------------------------------------- */

/* The sensors of one chassis, from the newest generation it serves. */
static bool rf_on_chassis(struct rf_op *op, json_object *ch, void *arg)
{
    struct rf_sensors *rs = arg;
    char a[RF_PATH_MAX] = "", b[RF_PATH_MAX] = "";
    int rc = 0;

    if (rfp_link(ch, "Sensors", a, sizeof(a)) == 0)
        return rf_each_member(op, a, HEALTH_SENSORS_MAX, rf_on_sensor, rs) ==
               0;
    (void)rfp_link(ch, "ThermalSubsystem", a, sizeof(a));
    (void)rfp_link(ch, "PowerSubsystem", b, sizeof(b));
    if (a[0] || b[0]) {
        if (a[0])
            rc = rf_thermal_subsystem(op, rs, a);
        if (!rc && b[0])
            rc = rf_power_subsystem(op, rs, b);
        return rc == 0;
    }
    a[0] = b[0] = '\0';
    (void)rfp_link(ch, "Thermal", a, sizeof(a));
    (void)rfp_link(ch, "Power", b, sizeof(b));
    return rf_legacy(op, rs, a, b) == 0;
}

void redfish_get_sensors(const struct bmc_call *call, struct bmc_outcome *out)
{
    struct rf_op op;
    struct rf_sensors rs = {call, json_object_new_array()};
    char path[RF_PATH_MAX];

    rf_op_begin(&op, "get_sensors", call, out);
    if (rf_get_root(&op))
        goto out;
    if (rfp_link(op.root, "Chassis", path, sizeof(path))) {
        outcome_fail(out, BMC_ERR_EXECUTION_FAILED,
                     "No Chassis in the Redfish service root");
        goto out;
    }
    if (rf_each_member(&op, path, RF_CHASSIS_MAX, rf_on_chassis, &rs) == 0 &&
        !out->code) {
        outcome_done(out, true, NULL, health_sensors_data(rs.list));
        rs.list = NULL;
    }
out:
    json_object_put(rs.list);
    rf_op_end(&op);
}
