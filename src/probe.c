/* probe.c - GET /probe (see probe.h). */
#include "autoconfig.h"
#include "probe.h"

#include "clock.h"
#include "engine.h"
#include "log.h"
#include "policy.h"
#include "methods.h"
#include "metrics.h"
#include "probe_cache.h"
#include "probe_modules.h"
#include "response.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_PLAIN "text/plain; charset=utf-8"

/* What each collect item runs: a registry method and its params. */
static const struct {
    unsigned bit;
    const char *method;
    const char *params; /* JSON object text */
} items[] = {
    {PROBE_POWER, "get_power_state", "{}"},
    {PROBE_SENSORS, "get_sensors", "{}"},
    {PROBE_EVENT_LOG_COUNT, "get_event_log", "{\"limit\":1}"},
    {PROBE_INVENTORY_INFO, "get_inventory", "{}"},
};

#define NITEMS (sizeof(items) / sizeof(items[0]))

/* ---- the request --------------------------------------------------------
 */

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* URL-decode N bytes of S into OUT (LEN); -1 when it is empty, does not
 * fit or a NUL would result. */
static int url_decode(const char *s, size_t n, char *out, size_t len)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+')
            c = ' ';
        else if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
                 hexval(s[i + 2]) >= 0) {
            c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        }
        if (c == '\0' || o + 1 >= len)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return o ? 0 : -1;
}

int probe_query_param(const char *query, const char *key, char *out,
                      size_t len)
{
    size_t klen = strlen(key);

    for (const char *p = query; p && *p;) {
        size_t n = strcspn(p, "&");
        if (n > klen && !strncmp(p, key, klen) && p[klen] == '=')
            return url_decode(p + klen + 1, n - klen - 1, out, len);
        p += n + (p[n] == '&');
    }
    return -1;
}

static bool is_ip(const char *ip)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, ip, buf) == 1 ||
           inet_pton(AF_INET6, ip, buf) == 1;
}

static int parse_port(const char *s, int *port)
{
    char *end;
    long p = strtol(s, &end, 10);

    if (end == s || *end || p < 1 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

int probe_parse_target(const char *target, char ip[BMC_IP_MAX], int *port)
{
    const char *colon = strrchr(target, ':');
    size_t n = strlen(target);

    *port = 0;
    if (target[0] == '[') {
        const char *close = strchr(target, ']');
        if (!close ||
            (close[1] && (close[1] != ':' || parse_port(close + 2, port))))
            return -1;
        n = (size_t)(close - target - 1);
        target++;
    } else if (colon && strchr(target, ':') == colon) { /* v4:port */
        if (parse_port(colon + 1, port))
            return -1;
        n = (size_t)(colon - target);
    }
    if (n == 0 || n >= BMC_IP_MAX)
        return -1;
    memcpy(ip, target, n);
    ip[n] = '\0';
    return is_ip(ip) ? 0 : -1;
}

/* The time budget: the module's, cut to the scraper's timeout. */
static double probe_budget(const struct probe_module *m, const char *header)
{
    double t = m->timeout_seconds, s;
    char *end;

    if (header && *header) {
        s = strtod(header, &end);
        if (end != header && !*end && s > 0) {
            s -= PROBE_TIMEOUT_OFFSET_S;
            if (s < t)
                t = s;
        }
    }
    return t < 0.5 ? 0.5 : t;
}

/* ---- the collection -----------------------------------------------------
 */

/* Run item I on CONN within TIMEOUT: 1 collected (series into B), 0
 * failed, -1 not available in this build or over this protocol. */
static int run_item(size_t i, const struct bmc_conn *conn, double timeout,
                    const char *request_id, struct prom_buf *b)
{
    const struct method_def *m = NULL;
    char details[256];
    json_object *params = json_tokener_parse(items[i].params);
    struct engine_result res;
    int rc = -1;

    if (methods_resolve(items[i].method, params, &m, details,
                        sizeof(details)) ||
        methods_check_supported(m, engine_backend(conn->protocol), details,
                                sizeof(details))) {
        log_info("probe_item_unavailable", "collect=%s reason=\"%s\"",
                 probe_collect_name(items[i].bit), details);
        goto out;
    }
    struct engine_request ereq = {m, conn, params, 1, 0, 0, request_id};
    engine_run_within(&ereq, timeout, &res);
    rc = res.code == 0 && res.success;
    if (rc)
        probe_write_item(b, items[i].bit, res.data);
    else
        log_info("probe_item_failed",
                 "collect=%s ip=%s code=%d details=\"%s\"",
                 probe_collect_name(items[i].bit), conn->ip, res.code,
                 res.code ? res.details : res.message);
    engine_result_clear(&res);
out:
    json_object_put(params);
    return rc;
}

static void write_header(struct prom_buf *b, bool up, double took,
                         const int *status, unsigned collect)
{
    prom_family(b, "bmc_up", "gauge",
                "1 when the BMC answered every collected item in time.");
    prom_sample(b, "bmc_up", NULL, up);
    prom_family(b, "bmc_probe_duration_seconds", "gauge",
                "How long the collection took.");
    prom_sample(b, "bmc_probe_duration_seconds", NULL, took);
    prom_family(b, "bmc_probe_collect_success", "gauge",
                "1 when the item was collected; 0 when it failed or this "
                "build or protocol does not have it.");
    for (size_t i = 0; i < NITEMS; i++)
        if (collect & items[i].bit) {
            const char *l[] = {"collect", probe_collect_name(items[i].bit),
                               NULL};
            prom_sample(b, "bmc_probe_collect_success", l, status[i] == 1);
        }
}

/* Collect what module M asks of CONN within TIMEOUT: the exposition text
 * (malloc'd) or NULL when out of memory. */
static char *probe_collect(const struct probe_module *m,
                           const struct bmc_conn *conn, double timeout,
                           const char *request_id)
{
    double started = clock_now_mono(), deadline = started + timeout;
    int status[NITEMS] = {0};
    bool up = true;
    struct prom_buf head, body;

    /* the cap over all series: the header's, the items', the age line */
    prom_init(&body, PROBE_MAX_SERIES - 3 - NITEMS);
    for (size_t i = 0; i < NITEMS; i++) {
        if (!(m->collect & items[i].bit))
            continue;
        double left = clock_remaining(deadline);
        status[i] = left > 0 ? run_item(i, conn, left, request_id, &body) : 0;
        up = up && status[i] != 0;
    }
    if (body.truncated)
        log_warn("probe_truncated", "module=%s ip=%s series=%d", m->name,
                 conn->ip, PROBE_MAX_SERIES);
    prom_init(&head, 0);
    write_header(&head, up, clock_now_mono() - started, status, m->collect);
    if (body.data)
        prom_append(&head, body.data);
    prom_free(&body);
    if (head.failed) {
        prom_free(&head);
        return NULL;
    }
    return prom_take(&head);
}

/* ---- the handler --------------------------------------------------------
 */

/* A plain-text refusal (Prometheus shows the body of a failed scrape). */
static void refuse(struct http_response *resp, int status, const char *module,
                   const char *why)
{
    size_t n = strlen(why) + 2;
    char *text = malloc(n);

    if (text)
        snprintf(text, n, "%s\n", why);
    metrics_add(METRICS_PROBES, module, "refused", 1);
    response_text(resp, status, TEXT_PLAIN, text);
}

/* The age of the answer, per response (not cached). */
static char *with_age(char *text, double age)
{
    struct prom_buf b;

    prom_init(&b, 0);
    prom_append(&b, text);
    free(text);
    prom_family(&b, "bmc_probe_cache_age_seconds", "gauge",
                "Seconds since this answer was collected (0: just now).");
    prom_sample(&b, "bmc_probe_cache_age_seconds", NULL, age);
    if (b.failed) {
        prom_free(&b);
        return NULL;
    }
    return prom_take(&b);
}

static const char *const result_names[] = {"cached", "shared", "collected",
                                           "timeout"};

/* Answer from the cache, a shared collection, or our own. */
static void probe_answer(const struct probe_module *m,
                         const struct bmc_conn *conn, double budget,
                         const char *key, const char *request_id,
                         struct http_response *resp)
{
    double started = clock_now_mono(), age = 0;
    char *text = NULL;
    enum probe_cache_rc rc =
        probe_cache_get(key, budget + 2, started + budget, &text, &age);

    if (rc == PROBE_CACHE_COLLECT) {
        text = probe_collect(m, conn, budget, request_id);
        if (text)
            probe_cache_put(key, text, strlen(text), m->cache_seconds);
    } else if (rc == PROBE_CACHE_TIMEOUT) {
        struct prom_buf b;
        int none[NITEMS] = {0};
        prom_init(&b, 0);
        write_header(&b, false, clock_now_mono() - started, none, m->collect);
        text = prom_take(&b);
    }
    metrics_add(METRICS_PROBES, m->name, result_names[rc], 1);
    text = text ? with_age(text, age) : NULL;
    if (!text) {
        response_text(resp, 500, TEXT_PLAIN, NULL);
        return;
    }
    response_text(resp, 200, PROM_CONTENT_TYPE, text);
}

void probe_handle(const struct http_request *req, struct http_response *resp)
{
    char name[PROBE_NAME_MAX], target[128], ip[BMC_IP_MAX], err[512];
    char why[256], key[PROBE_CACHE_KEY_MAX];
    const struct probe_module *m;
    struct bmc_conn conn;
    int port;

    if (probe_modules_load(err, sizeof(err)))
        log_error("probe_modules_reload_failed", "reason=\"%s\"", err);
    if (probe_query_param(req->query, "module", name, sizeof(name)) ||
        !(m = probe_modules_find(name))) {
        refuse(resp, 400, "unknown",
               "unknown module: module= must name a section of "
               "BMC_PROBE_MODULES_FILE");
        return;
    }
    if (probe_query_param(req->query, "target", target, sizeof(target)) ||
        probe_parse_target(target, ip, &port)) {
        refuse(resp, 400, m->name,
               "target= must be ADDR, ADDR:PORT or [ADDR]:PORT with an IP "
               "address literal");
        return;
    }
    /* the target policy (policy.h) holds here too: no packet to a denied
     * BMC, and ::ffff:a.b.c.d is a.b.c.d */
    if (policy_normalize_ip(ip, BMC_IP_MAX) ||
        policy_check_target(ip, why, sizeof(why))) {
        refuse(resp, 403, m->name, why);
        return;
    }
    if (probe_modules_credential(m, ip, port, &conn, why, sizeof(why))) {
        refuse(resp, 403, m->name, why);
        return;
    }
    snprintf(key, sizeof(key), "%s|%s|%d", m->name, conn.ip, conn.port);
    probe_answer(m, &conn, probe_budget(m, req->scrape_timeout), key,
                 req->request_id, resp);
    conn_wipe(&conn);
}
