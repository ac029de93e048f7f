/* config.h - the service configuration, read once from BMC_* environment
 * variables at start-up, validated, then read-only in every process.
 * Owns: the global `bmc_cfg` (strings inside it are owned by it). */
#ifndef BMC_CONFIG_H
#define BMC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum bmc_log_level {
    BMC_LOG_DEBUG,
    BMC_LOG_INFO,
    BMC_LOG_WARNING,
    BMC_LOG_ERROR
};

struct bmc_config {
    /* the guide's ten (reported by /health under `config`) */
    int max_workers;                  /* BMC_MAX_WORKERS, 10 */
    double timeout;                   /* BMC_TIMEOUT, 30 (s) */
    enum bmc_log_level log_level;     /* BMC_LOG_LEVEL, INFO */
    bool enable_cors;                 /* BMC_ENABLE_CORS, false */
    double min_retry_delay_seconds;   /* BMC_MIN_RETRY_DELAY_SECONDS, 0.2 */
    long max_tasks;                   /* BMC_MAX_TASKS, 0 = no cap */
    int task_retention_days;          /* BMC_TASK_RETENTION_DAYS, 7 */
    double redfish_request_timeout;   /* BMC_REDFISH_REQUEST_TIMEOUT, 5 */
    double power_state_poll_interval; /* BMC_POWER_STATE_POLL_INTERVAL, 1.5 */
    double
        max_wait_for_state_seconds; /* BMC_MAX_WAIT_FOR_STATE_SECONDS, 300 */

    /* ours */
    int light_workers;         /* BMC_LIGHT_WORKERS, 2 */
    long worker_max_requests;  /* BMC_WORKER_MAX_REQUESTS, 10000 */
    char *state_dir;           /* BMC_STATE_DIR, /var/lib/bmc-manager */
    char *socket_path;         /* BMC_SOCKET, /run/bmc-manager/bmc.sock */
    char *light_socket_path;   /* BMC_LIGHT_SOCKET, .../light.sock */
    char *cors_origins;        /* BMC_CORS_ORIGINS, "" = all */
    int node_id;               /* BMC_NODE_ID, 0 (0-255) */
    int max_async_tasks;       /* BMC_MAX_ASYNC_TASKS, 256 */
    int async_queue_max;       /* BMC_ASYNC_QUEUE_MAX, 10000 */
    long long store_max_bytes; /* BMC_STORE_MAX_BYTES, 4 GiB */
    bool redfish_verify_tls;   /* BMC_REDFISH_VERIFY_TLS, false */
    char *redfish_ca_bundle;   /* BMC_REDFISH_CA_BUNDLE, "" */
    char *ipmitool;            /* BMC_IPMITOOL, "" = search PATH */
    int max_per_bmc;           /* BMC_MAX_PER_BMC, 2 (1-16) */

    /* security (DESIGN.md "Security"; policy.h, auth.h, credentials.h) */
    bool redfish_pin_tls;   /* BMC_REDFISH_VERIFY_TLS=pin: trust on first
                                use ($BMC_STATE_DIR/known_bmcs) */
    char *server_names;     /* BMC_SERVER_NAMES, "" (nginx's Host check) */
    char *allowed_targets;  /* BMC_ALLOWED_TARGETS, "" = all */
    char *denied_targets;   /* BMC_DENIED_TARGETS, CONFIG_DENIED_DEFAULT */
    bool auth_token;        /* BMC_AUTH=token (default none) */
    bool auth_health;       /* BMC_AUTH_HEALTH, false */
    char *tokens_file;      /* BMC_TOKENS_FILE, "" */
    char *credentials_file; /* BMC_CREDENTIALS_FILE, "" */

    /* callbacks (webhook.h); the secret is never printed or logged */
    char *webhook_allowed;          /* BMC_WEBHOOK_ALLOWED, "" = none */
    char *webhook_secret;           /* BMC_WEBHOOK_SECRET, "" */
    char *webhook_secret_file;      /* BMC_WEBHOOK_SECRET_FILE, "" */
    char *webhook_ca_file;          /* BMC_WEBHOOK_CA_FILE, "" */
    long webhook_retry_seconds;     /* BMC_WEBHOOK_RETRY_SECONDS, 3600 */
    double webhook_backoff_seconds; /* BMC_WEBHOOK_BACKOFF_SECONDS, 5 */
    double webhook_timeout;         /* BMC_WEBHOOK_TIMEOUT, 10 (s) */
};

/* "This network" (0.0.0.0 reaches loopback) and ::, multicast, the
 * limited broadcast, the cloud metadata addresses (IPv4 and AWS's IPv6). */
#define CONFIG_DENIED_DEFAULT                                                 \
    "0.0.0.0/8,224.0.0.0/4,255.255.255.255/32,169.254.169.254/32,"            \
    "::/128,ff00::/8,fd00:ec2::254/128"

extern struct bmc_config bmc_cfg;

/* Fill `bmc_cfg` from the environment. On a bad value writes one line naming
 * the variable and its accepted range into ERR and returns -1. */
int config_load(char *err, size_t errlen);

/* Seconds nginx waits for a synchronous answer (fastcgi_read_timeout, as
 * scripts/render-nginx renders it): BMC_TIMEOUT +
 * BMC_MAX_WAIT_FOR_STATE_SECONDS + CONFIG_NGINX_READ_MARGIN_S. */
#define CONFIG_NGINX_READ_MARGIN_S 10
double config_nginx_read_timeout(void);

/* Write the resolved configuration as NAME=VALUE lines (BMC_* names), for
 * scripts that render nginx's configuration from the same values. */
void config_print(FILE *out);

/* Free the strings `config_load` allocated (tests and clean exits). */
void config_free(void);

/* "DEBUG", "INFO", ... for LEVEL (static string). */
const char *config_log_level_name(enum bmc_log_level level);

#endif
