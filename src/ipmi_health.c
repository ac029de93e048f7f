/* ipmi_health.c - machine health over IPMI (see ipmi_private.h):
 *   get_sensors      `ipmitool -c sensor` (threshold sensors: reading,
 *                    unit, status, the six thresholds)
 *   get_event_log    `ipmitool -c sel elist`, newest first
 *   clear_event_log  `sel clear` (the SEL is the only log IPMI has)
 *   get_inventory    `fru print 0`, `mc info`, `mc guid`
 *   set_identify     `chassis identify SECONDS` / `chassis identify 0`
 *                    (IPMI cannot report the LED back: verified null)
 *   reset_bmc        `mc reset warm|cold`, then `mc info` until the BMC
 *                    answers again or wait_seconds end
 * The writes are one ipmitool run each, alone on the BMC, never repeated. */
#include "autoconfig.h"
#include "ipmi.h"
#include "ipmi_private.h"

#include "clock.h"
#include "config.h"
#include "errors.h"
#include "health.h"
#include "jsonutil.h"

#include <stdio.h>
#include <string.h>

#define RESET_POLL_SECONDS 2.0

static json_object *parse_sensors_any(const char *out)
{
    json_object *list = ipmi_parse_sensors(out, NULL);
    return list ? health_sensors_data(list) : NULL;
}

void ipmi_get_sensors(const struct bmc_call *call, struct bmc_outcome *out)
{
    static const char *const cmd[] = {"sensor", NULL};
    const char *want = param_string(call, "type");
    struct run r = {0};
    json_object *list;

    if (!want) {
        run_parsed(call, cmd, true, parse_sensors_any, "sensor", out);
        return;
    }
    if (run_cmd(&r, call, cmd, false, true, false, out) == 0) {
        if ((list = ipmi_parse_sensors(r.res.out, want)))
            outcome_done(out, true, NULL, health_sensors_data(list));
        else
            fail_output(out, "sensor", r.res.out);
    }
    run_clear(&r);
}

void ipmi_get_event_log(const struct bmc_call *call, struct bmc_outcome *out)
{
    static const char *const cmd[] = {"sel", "elist", NULL};
    struct run r = {.no_verbose = true};
    json_object *data;

    if (run_cmd(&r, call, cmd, false, true, false, out) == 0) {
        json_object *list = ipmi_parse_sel(r.res.out);
        long total = (long)json_object_array_length(list);
        data = health_log_data(
            list, health_param_int(call, "limit", HEALTH_LOG_DEFAULT), total);
        json_object_object_add(data, "log", json_object_new_string("SEL"));
        outcome_done(out, true, NULL, data);
    }
    run_clear(&r);
}

/* One mutating run of CMD; its stdout line as data.message. 0, or -1 with
 * OUT a classified failure or the BMC's refusal (success:false with its
 * own words, e.g. "MC reset command failed: Invalid command"). */
static int run_write(const struct bmc_call *call, const char *const *cmd,
                     json_object **data, struct bmc_outcome *out)
{
    struct run r = {0};
    int rc = run_cmd(&r, call, cmd, true, false, true, out);

    if (rc == 0) {
        char line[256];
        const char *nl = strchr(r.res.out, '\n');
        snprintf(line, sizeof(line), "%.*s",
                 (int)(nl ? nl - r.res.out : (long)strlen(r.res.out)),
                 r.res.out);
        *data = json_object_new_object();
        json_object_object_add(*data, "message", json_object_new_string(line));
    }
    run_clear(&r);
    return rc;
}

void ipmi_clear_event_log(const struct bmc_call *call, struct bmc_outcome *out)
{
    static const char *const cmd[] = {"sel", "clear", NULL};
    json_object *data;

    if (run_write(call, cmd, &data, out) == 0) {
        json_object_object_add(data, "cleared", json_object_new_boolean(1));
        json_object_object_add(data, "log", json_object_new_string("SEL"));
        outcome_done(out, true, NULL, data);
    }
}

/* The value of "Key : Value" line KEY in OUT, as a new JSON string or
 * NULL. */
static json_object *key_value(const char *out, const char *key)
{
    const char *p = out;
    size_t n = strlen(key);

    while (p && (p = strstr(p, key))) {
        const char *q = p + n;
        bool line_start = p == out || p[-1] == '\n' || p[-1] == ' ';
        while (*q == ' ')
            q++;
        if (line_start && *q == ':') {
            q++;
            while (*q == ' ')
                q++;
            const char *end = strchr(q, '\n');
            size_t len = end ? (size_t)(end - q) : strlen(q);
            while (len && (q[len - 1] == ' ' || q[len - 1] == '\r'))
                len--;
            return len ? json_object_new_string_len(q, (int)len) : NULL;
        }
        p = q;
    }
    return NULL;
}

/* Run read-only CMD and keep its stdout in *TEXT (caller frees the run). */
static int run_read(struct run *r, const struct bmc_call *call,
                    const char *const *cmd, struct bmc_outcome *out)
{
    return run_cmd(r, call, cmd, false, false, false, out);
}

void ipmi_get_inventory(const struct bmc_call *call, struct bmc_outcome *out)
{
    static const char *const fru[] = {"fru", "print", "0", NULL};
    static const char *const info[] = {"mc", "info", NULL};
    static const char *const guid[] = {"mc", "guid", NULL};
    static const char *const keys[] = {"manufacturer", "model",
                                       "serial_number", "part_number"};
    struct run r1 = {0}, r2 = {0}, r3 = {0};
    json_object *data, *f, *v, *cpu;

    if (run_read(&r1, call, fru, out) || run_read(&r2, call, info, out) ||
        run_read(&r3, call, guid, out))
        goto out;
    f = ipmi_parse_fru(r1.res.out);
    data = json_object_new_object();
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        json_object_object_add(data, keys[i],
                               json_object_object_get_ex(f, keys[i], &v)
                                   ? json_object_get(v)
                                   : NULL);
    json_object_put(f);
    json_object_object_add(data, "uuid", key_value(r3.res.out, "System GUID"));
    json_object_object_add(data, "bios_version", NULL);
    json_object_object_add(data, "bmc_firmware",
                           key_value(r2.res.out, "Firmware Revision"));
    cpu = json_object_new_object();
    json_object_object_add(cpu, "count", NULL);
    json_object_object_add(cpu, "model", NULL);
    json_object_object_add(data, "processors", cpu);
    json_object_object_add(data, "memory_gib", NULL);
    outcome_done(out, true, NULL, data);
out:
    run_clear(&r1);
    run_clear(&r2);
    run_clear(&r3);
}

void ipmi_set_identify(const struct bmc_call *call, struct bmc_outcome *out)
{
    const char *state = param_string(call, "state");
    int seconds = health_param_int(call, "seconds", 15);
    char secs[8];
    json_object *data;
    bool on = state && !strcmp(state, "on");

    snprintf(secs, sizeof(secs), "%d", on ? seconds : 0);
    const char *const cmd[] = {"chassis", "identify", secs, NULL};
    if (run_write(call, cmd, &data, out) == 0) {
        json_object_object_add(data, "state",
                               json_object_new_string(on ? "on" : "off"));
        json_object_object_add(data, "seconds",
                               json_object_new_int(on ? seconds : 0));
        json_object_object_add(data, "verified", NULL);
        outcome_done(out, true, NULL, data);
    }
}

/* Poll `mc info` until it answers (after the reset) or END. */
static bool wait_answers(const struct bmc_call *call, double end)
{
    static const char *const info[] = {"mc", "info", NULL};

    while (clock_now_mono() + RESET_POLL_SECONDS < end) {
        clock_sleep(RESET_POLL_SECONDS, end);
        struct bmc_call c = *call;
        struct bmc_outcome o;
        struct run r = {0};
        c.deadline =
            clock_now_mono() + 3.0 < end ? clock_now_mono() + 3.0 : end;
        outcome_init(&o);
        int rc = run_read(&r, &c, info, &o);
        run_clear(&r);
        outcome_clear(&o);
        if (rc == 0)
            return true;
    }
    return false;
}

void ipmi_reset_bmc(const struct bmc_call *call, struct bmc_outcome *out)
{
    const char *kind = param_string(call, "kind");
    int wait = health_param_int(call, "wait_seconds", 120);
    json_object *data;

    if (!kind)
        kind = "warm";
    if (wait > (int)bmc_cfg.max_wait_for_state_seconds)
        wait = (int)bmc_cfg.max_wait_for_state_seconds;
    const char *const cmd[] = {"mc", "reset", kind, NULL};
    double start = clock_now_mono();
    if (run_write(call, cmd, &data, out))
        return;
    json_object_object_add(data, "reset_type", json_object_new_string(kind));
    if (wait > 0) {
        bool up = wait_answers(call, start + wait);
        json_object_object_add(data, "ready", json_object_new_boolean(up));
        json_object_object_add(
            data, "seconds",
            json_new_number((double)(long)((clock_now_mono() - start) * 10) /
                            10));
    }
    outcome_done(out, true, NULL, data);
}
