/* config.c - BMC_* environment → bmc_cfg, with ranges (see config.h). */
#include "autoconfig.h"
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct bmc_config bmc_cfg;

static const char *const level_names[] = {"DEBUG", "INFO", "WARNING", "ERROR"};

const char *config_log_level_name(enum bmc_log_level level)
{
    return level_names[level];
}

static const char *env_or_null(const char *name)
{
    const char *v = getenv(name);
    return (v && *v) ? v : NULL;
}

static int bad_value(char *err, size_t errlen, const char *name,
                     const char *value, const char *range)
{
    snprintf(err, errlen, "invalid %s=%.64s: expected %s", name, value, range);
    return -1;
}

/* Integer in [lo, hi]; the default when unset. */
static int env_long(const char *name, long long def, long long lo,
                    long long hi, long long *out, char *err, size_t errlen)
{
    const char *v = env_or_null(name);
    char range[96], *end;

    *out = def;
    if (!v)
        return 0;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end != '\0' || n < lo || n > hi) {
        snprintf(range, sizeof(range), "an integer from %lld to %lld", lo, hi);
        return bad_value(err, errlen, name, v, range);
    }
    *out = n;
    return 0;
}

/* Number in [lo, hi] (lo exclusive when LO_OPEN); the default when unset. */
static int env_double(const char *name, double def, double lo, int lo_open,
                      double hi, double *out, char *err, size_t errlen)
{
    const char *v = env_or_null(name);
    char range[96], *end;

    *out = def;
    if (!v)
        return 0;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end != '\0' || !isfinite(d) ||
        (lo_open ? d <= lo : d < lo) || d > hi) {
        snprintf(range, sizeof(range), "a number %s %g and at most %g",
                 lo_open ? "above" : "from", lo, hi);
        return bad_value(err, errlen, name, v, range);
    }
    *out = d;
    return 0;
}

static int env_bool(const char *name, bool def, bool *out, char *err,
                    size_t errlen)
{
    const char *v = env_or_null(name);

    *out = def;
    if (!v)
        return 0;
    if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes") ||
        !strcasecmp(v, "on"))
        *out = true;
    else if (!strcasecmp(v, "false") || !strcmp(v, "0") ||
             !strcasecmp(v, "no") || !strcasecmp(v, "off"))
        *out = false;
    else
        return bad_value(err, errlen, name, v, "true or false");
    return 0;
}

static int env_string(const char *name, const char *def, size_t maxlen,
                      char **out, char *err, size_t errlen)
{
    const char *v = getenv(name);
    char range[64];

    if (!v)
        v = def;
    if (strlen(v) > maxlen) {
        snprintf(range, sizeof(range), "at most %zu characters", maxlen);
        return bad_value(err, errlen, name, v, range);
    }
    free(*out);
    *out = strdup(v);
    return *out ? 0 : bad_value(err, errlen, name, v, "(out of memory)");
}

static int env_log_level(char *err, size_t errlen)
{
    const char *v = env_or_null("BMC_LOG_LEVEL");

    bmc_cfg.log_level = BMC_LOG_INFO;
    if (!v)
        return 0;
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(v, level_names[i])) {
            bmc_cfg.log_level = (enum bmc_log_level)i;
            return 0;
        }
    }
    if (!strcasecmp(v, "WARN")) {
        bmc_cfg.log_level = BMC_LOG_WARNING;
        return 0;
    }
    return bad_value(err, errlen, "BMC_LOG_LEVEL", v,
                     "one of DEBUG, INFO, WARNING, ERROR");
}

static int load_guide_settings(char *err, size_t errlen)
{
    long long n;

    if (env_long("BMC_MAX_WORKERS", 10, 1, 256, &n, err, errlen))
        return -1;
    bmc_cfg.max_workers = (int)n;
    if (env_double("BMC_TIMEOUT", 30, 0, 1, 3600, &bmc_cfg.timeout, err,
                   errlen) ||
        env_log_level(err, errlen) ||
        env_bool("BMC_ENABLE_CORS", false, &bmc_cfg.enable_cors, err,
                 errlen) ||
        env_double("BMC_MIN_RETRY_DELAY_SECONDS", 0.2, 0, 0, 60,
                   &bmc_cfg.min_retry_delay_seconds, err, errlen))
        return -1;
    if (env_long("BMC_MAX_TASKS", 0, 0, 100000000, &n, err, errlen))
        return -1;
    bmc_cfg.max_tasks = (long)n;
    if (env_long("BMC_TASK_RETENTION_DAYS", 7, 1, 3650, &n, err, errlen))
        return -1;
    bmc_cfg.task_retention_days = (int)n;
    return env_double("BMC_REDFISH_REQUEST_TIMEOUT", 5, 0, 1, 600,
                      &bmc_cfg.redfish_request_timeout, err, errlen) ||
                   env_double("BMC_POWER_STATE_POLL_INTERVAL", 1.5, 0, 1, 60,
                              &bmc_cfg.power_state_poll_interval, err,
                              errlen) ||
                   env_double("BMC_MAX_WAIT_FOR_STATE_SECONDS", 300, 0, 0,
                              3600, &bmc_cfg.max_wait_for_state_seconds, err,
                              errlen)
               ? -1
               : 0;
}

static int load_own_settings(char *err, size_t errlen)
{
    long long n;

    if (env_long("BMC_LIGHT_WORKERS", 2, 1, 64, &n, err, errlen))
        return -1;
    bmc_cfg.light_workers = (int)n;
    if (env_long("BMC_WORKER_MAX_REQUESTS", 10000, 1, 1000000000, &n, err,
                 errlen))
        return -1;
    bmc_cfg.worker_max_requests = (long)n;
    if (env_long("BMC_NODE_ID", 0, 0, 255, &n, err, errlen))
        return -1;
    bmc_cfg.node_id = (int)n;
    if (env_long("BMC_MAX_ASYNC_TASKS", 256, 1, 4096, &n, err, errlen))
        return -1;
    bmc_cfg.max_async_tasks = (int)n;
    if (env_long("BMC_ASYNC_QUEUE_MAX", 10000, 0, 1000000, &n, err, errlen))
        return -1;
    bmc_cfg.async_queue_max = (int)n;
    if (env_long("BMC_STORE_MAX_BYTES", 4LL << 30, 1LL << 20, 1LL << 40, &n,
                 err, errlen))
        return -1;
    bmc_cfg.store_max_bytes = n;
    if (env_long("BMC_MAX_PER_BMC", 2, 1, 16, &n, err, errlen))
        return -1;
    bmc_cfg.max_per_bmc = (int)n;
    return (env_string("BMC_STATE_DIR", "/var/lib/bmc-manager", 200,
                       &bmc_cfg.state_dir, err, errlen) ||
            env_string("BMC_SOCKET", "/run/bmc-manager/bmc.sock", 100,
                       &bmc_cfg.socket_path, err, errlen) ||
            env_string("BMC_LIGHT_SOCKET", "/run/bmc-manager/light.sock", 100,
                       &bmc_cfg.light_socket_path, err, errlen) ||
            env_string("BMC_CORS_ORIGINS", "", 4096, &bmc_cfg.cors_origins,
                       err, errlen) ||
            env_string("BMC_REDFISH_CA_BUNDLE", "", 4096,
                       &bmc_cfg.redfish_ca_bundle, err, errlen) ||
            env_string("BMC_IPMITOOL", "", 4096, &bmc_cfg.ipmitool, err,
                       errlen))
               ? -1
               : 0;
}

/* BMC_REDFISH_VERIFY_TLS: false, true (CA bundle) or pin (first use). */
static int env_verify_tls(char *err, size_t errlen)
{
    const char *v = env_or_null("BMC_REDFISH_VERIFY_TLS");

    bmc_cfg.redfish_pin_tls = false;
    if (v && !strcasecmp(v, "pin")) {
        bmc_cfg.redfish_pin_tls = true;
        bmc_cfg.redfish_verify_tls = false;
        return 0;
    }
    if (env_bool("BMC_REDFISH_VERIFY_TLS", false, &bmc_cfg.redfish_verify_tls,
                 err, errlen))
        return bad_value(err, errlen, "BMC_REDFISH_VERIFY_TLS", v,
                         "true, false or pin");
    return 0;
}

static int env_auth(char *err, size_t errlen)
{
    const char *v = env_or_null("BMC_AUTH");

    bmc_cfg.auth_token = v && !strcmp(v, "token");
    if (v && !bmc_cfg.auth_token && strcmp(v, "none"))
        return bad_value(err, errlen, "BMC_AUTH", v, "none or token");
    if (bmc_cfg.auth_token && !bmc_cfg.tokens_file[0])
        return bad_value(err, errlen, "BMC_TOKENS_FILE", "",
                         "a file of tokens when BMC_AUTH=token");
    return 0;
}

static int load_security_settings(char *err, size_t errlen)
{
    return (env_verify_tls(err, errlen) ||
            env_string("BMC_SERVER_NAMES", "", 4096, &bmc_cfg.server_names,
                       err, errlen) ||
            env_string("BMC_ALLOWED_TARGETS", "", 4096,
                       &bmc_cfg.allowed_targets, err, errlen) ||
            env_string("BMC_DENIED_TARGETS", CONFIG_DENIED_DEFAULT, 4096,
                       &bmc_cfg.denied_targets, err, errlen) ||
            env_string("BMC_TOKENS_FILE", "", 4096, &bmc_cfg.tokens_file, err,
                       errlen) ||
            env_string("BMC_CREDENTIALS_FILE", "", 4096,
                       &bmc_cfg.credentials_file, err, errlen) ||
            env_bool("BMC_AUTH_HEALTH", false, &bmc_cfg.auth_health, err,
                     errlen) ||
            env_auth(err, errlen))
               ? -1
               : 0;
}

/* Like env_string, but a bad value is never shown (it is a key). */
static int env_secret(const char *name, size_t maxlen, char **out, char *err,
                      size_t errlen)
{
    const char *v = getenv(name);

    if (!v)
        v = "";
    if (strlen(v) > maxlen) {
        snprintf(err, errlen, "invalid %s: expected at most %zu bytes", name,
                 maxlen);
        return -1;
    }
    if (*out)
        explicit_bzero(*out, strlen(*out));
    free(*out);
    *out = strdup(v);
    return *out ? 0 : bad_value(err, errlen, name, "", "(out of memory)");
}

/* The callback settings; webhook_load reads the files they name. */
static int load_webhook_settings(char *err, size_t errlen)
{
    long long n;

    if (env_string("BMC_WEBHOOK_ALLOWED", "", 4096, &bmc_cfg.webhook_allowed,
                   err, errlen) ||
        env_secret("BMC_WEBHOOK_SECRET", 4095, &bmc_cfg.webhook_secret, err,
                   errlen) ||
        env_string("BMC_WEBHOOK_SECRET_FILE", "", 4096,
                   &bmc_cfg.webhook_secret_file, err, errlen) ||
        env_string("BMC_WEBHOOK_CA_FILE", "", 4096, &bmc_cfg.webhook_ca_file,
                   err, errlen) ||
        env_long("BMC_WEBHOOK_RETRY_SECONDS", 3600, 1, 604800, &n, err,
                 errlen) ||
        env_double("BMC_WEBHOOK_BACKOFF_SECONDS", 5, 0.01, 0, 3600,
                   &bmc_cfg.webhook_backoff_seconds, err, errlen) ||
        env_double("BMC_WEBHOOK_TIMEOUT", 10, 0, 1, 600,
                   &bmc_cfg.webhook_timeout, err, errlen))
        return -1;
    bmc_cfg.webhook_retry_seconds = (long)n;
    if (bmc_cfg.webhook_secret[0] && bmc_cfg.webhook_secret_file[0]) {
        snprintf(err, errlen,
                 "BMC_WEBHOOK_SECRET and BMC_WEBHOOK_SECRET_FILE are both "
                 "set: keep one");
        return -1;
    }
    return 0;
}

int config_load(char *err, size_t errlen)
{
    if (load_guide_settings(err, errlen) || load_own_settings(err, errlen) ||
        load_security_settings(err, errlen) ||
        load_webhook_settings(err, errlen))
        return -1;
    return 0;
}

void config_free(void)
{
    char **strings[] = {
        &bmc_cfg.state_dir,         &bmc_cfg.socket_path,
        &bmc_cfg.light_socket_path, &bmc_cfg.cors_origins,
        &bmc_cfg.redfish_ca_bundle, &bmc_cfg.ipmitool,
        &bmc_cfg.server_names,      &bmc_cfg.allowed_targets,
        &bmc_cfg.denied_targets,    &bmc_cfg.tokens_file,
        &bmc_cfg.credentials_file,  &bmc_cfg.webhook_allowed,
        &bmc_cfg.webhook_secret,    &bmc_cfg.webhook_secret_file,
        &bmc_cfg.webhook_ca_file};
    if (bmc_cfg.webhook_secret)
        explicit_bzero(bmc_cfg.webhook_secret, strlen(bmc_cfg.webhook_secret));
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        free(*strings[i]);
        *strings[i] = NULL;
    }
}

void config_print(FILE *out)
{
    fprintf(out, "BMC_MAX_WORKERS=%d\n", bmc_cfg.max_workers);
    fprintf(out, "BMC_TIMEOUT=%g\n", bmc_cfg.timeout);
    fprintf(out, "BMC_LOG_LEVEL=%s\n",
            config_log_level_name(bmc_cfg.log_level));
    fprintf(out, "BMC_ENABLE_CORS=%s\n",
            bmc_cfg.enable_cors ? "true" : "false");
    fprintf(out, "BMC_MAX_WAIT_FOR_STATE_SECONDS=%g\n",
            bmc_cfg.max_wait_for_state_seconds);
    fprintf(out, "BMC_SOCKET=%s\n", bmc_cfg.socket_path);
    fprintf(out, "BMC_LIGHT_SOCKET=%s\n", bmc_cfg.light_socket_path);
    fprintf(out, "BMC_STATE_DIR=%s\n", bmc_cfg.state_dir);
    fprintf(out, "BMC_CORS_ORIGINS=%s\n", bmc_cfg.cors_origins);
    fprintf(out, "BMC_NODE_ID=%d\n", bmc_cfg.node_id);
    fprintf(out, "BMC_SERVER_NAMES=%s\n", bmc_cfg.server_names);
    fprintf(out, "BMC_AUTH=%s\n", bmc_cfg.auth_token ? "token" : "none");
}

double config_nginx_read_timeout(void)
{
    /* render-nginx rounds down after adding 10.999 */
    return (double)(long)(bmc_cfg.timeout +
                          bmc_cfg.max_wait_for_state_seconds +
                          CONFIG_NGINX_READ_MARGIN_S + 0.999);
}
