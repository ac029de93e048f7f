/* probe_modules.h - the probe's modules (DESIGN.md "Prometheus"): named
 * sections of BMC_PROBE_MODULES_FILE, ini style like the credentials file:
 *
 *   [redfish_sensors]
 *   protocol = redfish          (or ipmitool; default redfish)
 *   credential = dc1-bmc        (a name from BMC_CREDENTIALS_FILE)
 *   collect = power, sensors    (power, sensors, event_log_count,
 *                                inventory_info; default power)
 *   timeout_seconds = 10        (default 10, 1-120)
 *   cache_seconds = 30          (default 30, 0-3600)
 *   port = 443                  (default: the protocol's)
 *   cipher_suite = 17           (IPMI, default 17)
 *
 * The file must be a regular file of the daemon's user with mode 0600 (it
 * names credentials and, for now, may hold passwords); anything else, an
 * unknown key or a bad value refuses the whole file with one line naming
 * the file, line and key. Comment lines start with '#' or ';' (also after
 * a section's ']'; never after a value, which may contain them).
 *
 * `credential` names a credential of BMC_CREDENTIALS_FILE (credentials.h):
 * its username, password, tls_pin, and its protocol, port and cipher
 * suite where the module does not set them; its `targets` bound what the
 * module may probe. Instead of a credential a module may carry
 * `username`, `password` and `targets` (comma-separated CIDRs; default
 * none) itself (tests, a single-BMC setup); both at once is refused.
 * Either way the target policy (policy_check_target) applies first.
 *
 * Loaded by the master at start (a bad file stops start-up) and inherited;
 * each process re-reads it when its size or mtime changes.
 * Owns: the module table (static; passwords wiped on reload). */
#ifndef BMC_PROBE_MODULES_H
#define BMC_PROBE_MODULES_H

#include "backend.h"

#include <stdbool.h>
#include <stddef.h>

#define PROBE_MODULES_MAX 64
#define PROBE_NAME_MAX    64 /* bytes of a module or credential name + NUL */
#define PROBE_TARGETS_MAX 1024

enum probe_collect {
    PROBE_POWER = 1 << 0,
    PROBE_SENSORS = 1 << 1,
    PROBE_EVENT_LOG_COUNT = 1 << 2,
    PROBE_INVENTORY_INFO = 1 << 3,
};

struct probe_module {
    char name[PROBE_NAME_MAX];
    enum bmc_protocol protocol;
    bool protocol_set; /* else the credential's protocol, if it has one */
    char credential[PROBE_NAME_MAX];
    unsigned collect; /* enum probe_collect bits; default PROBE_POWER */
    double timeout_seconds, cache_seconds;
    int port;         /* 0: the protocol's default */
    int cipher_suite; /* IPMI; -1: the credential's, else 17 */
    /* inline credentials instead of `credential` (see above) */
    char username[BMC_USERNAME_MAX];
    char password[BMC_PASSWORD_MAX];
    char targets[PROBE_TARGETS_MAX];
};

/* Load (or re-load when changed) the file named by BMC_PROBE_MODULES_FILE
 * (unset: no modules). 0, or -1 with ERR naming the file and the problem;
 * on a failed re-load the previous table stays. */
int probe_modules_load(char *err, size_t errlen);

/* Parse PATH into the table (tests, and probe_modules_load). */
int probe_modules_load_file(const char *path, char *err, size_t errlen);

/* The module named NAME, or NULL. Valid until the next load. */
const struct probe_module *probe_modules_find(const char *name);

/* Fill CONN for probing IP (PORT 0: the module's, the credential's, the
 * protocol's) with module M: 0, or 403-worthy -1 with WHY when IP is
 * refused by the target policy, is outside the credential's (or module's)
 * targets, or the credential is unknown. CONN's password is the caller's
 * to wipe (conn_wipe). */
int probe_modules_credential(const struct probe_module *m, const char *ip,
                             int port, struct bmc_conn *conn, char *why,
                             size_t wlen);

/* Whether IP lies in one of the comma-separated CIDRs of LIST (IPv4,
 * IPv6; an IPv4-mapped IPv6 address counts as its IPv4 address). */
bool probe_cidr_match(const char *list, const char *ip);

/* The names of COLLECT bit B ("power", ...). */
const char *probe_collect_name(unsigned bit);

#endif
