/* credentials.h - credential references (DESIGN.md "Security"):
 * BMC_CREDENTIALS_FILE (0600, read by the daemon only; re-read on
 * SIGHUP) names credentials in ini style, `[name]` sections of
 * `key = value` lines: username, password, and optional protocol, port,
 * cipher_suite, tls_pin and targets (comma-separated CIDRs the credential
 * may be used for; default none). A request may say `"credential":
 * "name"` instead of username/password; the password never leaves the
 * daemon.
 * Owns: the loaded table (credentials_load .. credentials_free); its
 * passwords are wiped before the memory is released. */
#ifndef BMC_CREDENTIALS_H
#define BMC_CREDENTIALS_H

#include "backend.h"

#include <stddef.h>

#define CREDENTIAL_NAME_MAX 64

struct credential {
    char name[CREDENTIAL_NAME_MAX + 1];
    char username[BMC_USERNAME_MAX];
    char password[BMC_PASSWORD_MAX];
    const char *protocol; /* "redfish", "ipmitool" or NULL (the body's) */
    int port;             /* 0: the body's or the protocol's default */
    int cipher_suite;     /* -1: the body's or 17 */
    char tls_pin[BMC_TLS_PIN_MAX];
    char targets[1024]; /* the CIDR text, parsed when used */
};

/* Read BMC_CREDENTIALS_FILE if set (refused when group or others may read
 * it, or malformed: ERR names the file and the line). Replaces the table
 * only on success. */
int credentials_load(char *err, size_t errlen);
void credentials_free(void);

/* The credential NAME (NULL: not a string) for the BMC at IP: 0 and
 * *OUT (valid until the next credentials_load), or 4011 "Unknown
 * credential" when there is none or IP is outside its targets. */
int credentials_find(const char *name, const char *ip,
                     const struct credential **out, char *details,
                     size_t dlen);

/* SIGHUP (master and every worker; children forked later inherit the
 * master's copy): re-read BMC_TOKENS_FILE and BMC_CREDENTIALS_FILE; a bad
 * file keeps the table this process had and logs why. */
void credentials_reload_secrets(void);

#endif
