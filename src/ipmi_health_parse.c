/* ipmi_health_parse.c - ipmitool's machine-health output into the
 * normalised shapes of health.h: `-c sensor`, `-c sel elist`, `fru print`
 * (see ipmi_parse.h). Pure functions of the text, fuzzed with the other
 * ipmitool parsers. */
#include "autoconfig.h"
#include "ipmi_parse.h"

#include "health.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FIELDS_MAX 12
#define ROW_MAX    1024

/* Split one CSV row (ipmitool -c never quotes) into at most FIELDS_MAX
 * trimmed fields in ROW (modified). Returns the number of fields. */
static int split_row(char *row, char **f)
{
    int n = 0;

    for (char *p = row; n < FIELDS_MAX;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        while (*p == ' ')
            p++;
        char *end = p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\r'))
            *--end = '\0';
        f[n++] = p;
        if (!comma)
            break;
        p = comma + 1;
    }
    return n;
}

/* Copy the next line of *P into BUF; false at the end. */
static bool next_row(const char **p, char *buf, size_t len)
{
    const char *nl;
    size_t n;

    if (!*p || !**p)
        return false;
    nl = strchr(*p, '\n');
    n = nl ? (size_t)(nl - *p) : strlen(*p);
    snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), *p);
    *p = nl ? nl + 1 : NULL;
    return true;
}

/* ipmitool's unit → our type and UCUM unit; by name when the BMC gave no
 * unit (a sensor without a reading). */
static bool sensor_kind(const char *unit, const char *name, const char **type,
                        const char **ucum)
{
    static const struct {
        const char *unit, *type, *ucum;
    } units[] = {{"degrees C", "temperature", "Cel"},
                 {"RPM", "fan", "RPM"},
                 {"Volts", "voltage", "V"},
                 {"Amps", "current", "A"},
                 {"Watts", "power", "W"}};
    char lower[128];

    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (!strcmp(unit, units[i].unit)) {
            *type = units[i].type;
            *ucum = units[i].ucum;
            return true;
        }
    if (*unit)
        return false; /* discrete, percent, ...: not one of ours */
    snprintf(lower, sizeof(lower), "%s", name);
    for (char *c = lower; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (strstr(lower, "fan")) {
        *type = "fan", *ucum = "RPM";
        return true;
    }
    if (strstr(lower, "temp")) {
        *type = "temperature", *ucum = "Cel";
        return true;
    }
    return false;
}

static const char *sensor_health(const char *status)
{
    if (!strcmp(status, "ok"))
        return "ok";
    if (!strcmp(status, "nc"))
        return "warning";
    if (!strcmp(status, "cr") || !strcmp(status, "nr"))
        return "critical";
    return "unknown";
}

static bool number_of(const char *s, double *v)
{
    char *end;

    if (!*s || !strcmp(s, "na"))
        return false;
    *v = strtod(s, &end);
    return *end == '\0';
}

json_object *ipmi_parse_sensors(const char *out, const char *want)
{
    static const char *const thr[] = {"lower_fatal",    "lower_critical",
                                      "lower_caution",  "upper_caution",
                                      "upper_critical", "upper_fatal"};
    char row[ROW_MAX], *f[FIELDS_MAX];
    const char *p = out, *type, *ucum;
    json_object *list = json_object_new_array();
    int rows = 0;
    double v;

    while (next_row(&p, row, sizeof(row))) {
        if (split_row(row, f) < 10 || !f[0][0])
            continue;
        rows++;
        if (!sensor_kind(f[2], f[0], &type, &ucum) ||
            (want && strcmp(want, type)))
            continue;
        bool has = number_of(f[1], &v);
        json_object *s = health_sensor_new(f[0], type, has, has ? v : 0, ucum,
                                           sensor_health(f[3]));
        for (int i = 0; i < 6; i++)
            if (number_of(f[4 + i], &v))
                health_sensor_threshold(s, thr[i], v);
        if (!health_sensor_add(list, s))
            break;
    }
    if (!rows && out && *out) {
        json_object_put(list);
        return NULL;
    }
    return list;
}

/* "MM/DD/YYYY" + "HH:MM:SS" → ISO 8601 in OUT; false (no time known) for
 * "Pre-Init" and anything else. */
static bool sel_time(const char *date, const char *time, char *out, size_t len)
{
    int mo, d, y, h, mi, s;
    char extra;

    if (sscanf(date, "%2d/%2d/%4d%c", &mo, &d, &y, &extra) != 3 ||
        sscanf(time, "%2d:%2d:%2d%c", &h, &mi, &s, &extra) != 3 || mo < 1 ||
        mo > 12 || d < 1 || d > 31 || y < 1970 || y > 9999 || h < 0 ||
        h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60)
        return false;
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d", y, mo, d, h, mi, s);
    return true;
}

/* Severity of an event: critical and non-recoverable thresholds and
 * failures assert critical, non-critical ones warning; deassertions and
 * everything else ok. */
static const char *sel_severity(const char *event, const char *direction)
{
    if (!strcasecmp(direction, "Deasserted"))
        return "ok";
    if (strcasestr(event, "non-critical"))
        return "warning";
    if (strcasestr(event, "critical") ||
        strcasestr(event, "non-recoverable") || strcasestr(event, "failure") ||
        strcasestr(event, "fault"))
        return "critical";
    return "ok";
}

json_object *ipmi_parse_sel(const char *out)
{
    char row[ROW_MAX], *f[FIELDS_MAX], when[64], msg[512];
    const char *p = out;
    json_object *list = json_object_new_array();

    while (next_row(&p, row, sizeof(row)) &&
           json_object_array_length(list) < HEALTH_LOG_MAX) {
        int n = split_row(row, f);
        char *end;
        if (n < 6 || strtol(f[0], &end, 16) < 0 || *end || !f[0][0])
            continue;
        bool known = sel_time(f[1], f[2], when, sizeof(when));
        snprintf(msg, sizeof(msg), "%s %s%s%s", f[4], f[5], n > 6 ? ": " : "",
                 n > 6 ? f[6] : "");
        json_object_array_add(
            list, health_log_entry_new(f[0], known ? when : NULL,
                                       sel_severity(f[4], f[5]), msg, f[3]));
    }
    return list;
}

/* "Key : Value" lines of `fru print` into OBJ under our names. */
json_object *ipmi_parse_fru(const char *out)
{
    static const struct {
        const char *key, *field;
    } keys[] = {
        /* product area first: it describes the machine, the board area the
         * mainboard (IPMI FRU spec v1.0 sections 10 and 11) */
        {"Product Manufacturer", "manufacturer"},
        {"Board Mfg", "manufacturer"},
        {"Product Name", "model"},
        {"Board Product", "model"},
        {"Product Serial", "serial_number"},
        {"Chassis Serial", "serial_number"},
        {"Board Serial", "serial_number"},
        {"Product Part Number", "part_number"},
        {"Board Part Number", "part_number"},
    };
    json_object *res = json_object_new_object();
    char row[ROW_MAX];
    const char *p = out;

    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        p = out;
        while (!json_object_object_get_ex(res, keys[k].field, NULL) &&
               next_row(&p, row, sizeof(row))) {
            char *colon = strchr(row, ':'), *key = row, *val;
            if (!colon)
                continue;
            *colon = '\0';
            while (*key == ' ')
                key++;
            for (char *e = colon; e > key && e[-1] == ' ';)
                *--e = '\0';
            if (strcmp(key, keys[k].key))
                continue;
            for (val = colon + 1; *val == ' ';)
                val++;
            if (*val)
                json_object_object_add(res, keys[k].field,
                                       json_object_new_string(val));
        }
    }
    return res;
}
