/* credentials.c - BMC_CREDENTIALS_FILE (see credentials.h). */
#include "autoconfig.h"
#include "credentials.h"

#include "auth.h"
#include "config.h"
#include "errors.h"
#include "log.h"
#include "policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CREDENTIALS_MAX 4096
#define CRED_LINE_MAX   2048

static struct {
    struct credential *items;
    size_t count;
} table;

static void table_wipe_free(struct credential *items, size_t count)
{
    if (items)
        explicit_bzero(items, count * sizeof(*items));
    free(items);
}

static char *trim(char *s)
{
    char *end;

    s += strspn(s, " \t");
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    return s;
}

static int copy_value(char *dst, size_t size, const char *value)
{
    size_t n = strlen(value);
    if (n == 0 || n >= size)
        return -1;
    memcpy(dst, value, n + 1);
    return 0;
}

static int int_value(const char *value, long lo, long hi, int *out)
{
    char *end;
    long n = strtol(value, &end, 10);
    if (end == value || *end || n < lo || n > hi)
        return -1;
    *out = (int)n;
    return 0;
}

/* KEY = VALUE into C; -1 with the reason in WHY. */
static int cred_set(struct credential *c, const char *key, const char *value,
                    char *why, size_t wlen)
{
    struct policy_cidrs probe;
    int rc = -1;

    if (!strcmp(key, "username"))
        rc = copy_value(c->username, sizeof(c->username), value);
    else if (!strcmp(key, "password"))
        rc = copy_value(c->password, sizeof(c->password), value);
    else if (!strcmp(key, "protocol")) {
        c->protocol = !strcmp(value, "redfish")    ? "redfish"
                      : !strcmp(value, "ipmitool") ? "ipmitool"
                                                   : NULL;
        rc = c->protocol ? 0 : -1;
    } else if (!strcmp(key, "port"))
        rc = int_value(value, 1, 65535, &c->port);
    else if (!strcmp(key, "cipher_suite"))
        rc = int_value(value, 0, 17, &c->cipher_suite);
    else if (!strcmp(key, "tls_pin"))
        rc = strncmp(value, "sha256//", 8)
                 ? -1
                 : copy_value(c->tls_pin, sizeof(c->tls_pin), value);
    else if (!strcmp(key, "targets")) {
        rc = policy_cidrs_parse(value, &probe, why, wlen);
        policy_cidrs_free(&probe);
        if (!rc)
            rc = copy_value(c->targets, sizeof(c->targets), value);
        if (rc)
            return -1;
    } else {
        snprintf(why, wlen, "unknown key '%.32s'", key);
        return -1;
    }
    if (rc)
        snprintf(why, wlen, "bad value for %s", key);
    return rc;
}

static int cred_line(char *line, struct credential *items, size_t *n,
                     char *why, size_t wlen)
{
    char *p = trim(line), *eq;

    if (!*p || *p == '#' || *p == ';')
        return 0;
    if (*p == '[') {
        char *close = strchr(p, ']');
        if (!close || close[1] || *n == CREDENTIALS_MAX) {
            snprintf(why, wlen, "want [name]");
            return -1;
        }
        *close = '\0';
        struct credential *c = &items[(*n)++];
        c->cipher_suite = -1;
        return copy_value(c->name, sizeof(c->name), trim(p + 1))
                   ? (snprintf(why, wlen, "bad section name"), -1)
                   : 0;
    }
    eq = strchr(p, '=');
    if (!eq || !*n) {
        snprintf(why, wlen, "want key = value inside a [name] section");
        return -1;
    }
    *eq = '\0';
    return cred_set(&items[*n - 1], trim(p), trim(eq + 1), why, wlen);
}

static int cred_read(FILE *f, const char *path, struct credential *items,
                     size_t *n, char *err, size_t errlen)
{
    char line[CRED_LINE_MAX], why[160];
    int lineno = 0, rc = 0;

    while (!rc && fgets(line, sizeof(line), f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        rc = cred_line(line, items, n, why, sizeof(why));
    }
    for (size_t i = 0; !rc && i < *n; i++)
        if (!items[i].username[0] || !items[i].password[0]) {
            snprintf(why, sizeof(why), "[%s] needs username and password",
                     items[i].name);
            rc = -1;
            lineno = 0;
        }
    if (rc && lineno)
        snprintf(err, errlen, "BMC_CREDENTIALS_FILE %s line %d: %s", path,
                 lineno, why);
    else if (rc)
        snprintf(err, errlen, "BMC_CREDENTIALS_FILE %s: %s", path, why);
    explicit_bzero(line, sizeof(line));
    return rc;
}

int credentials_load(char *err, size_t errlen)
{
    const char *path = bmc_cfg.credentials_file;
    struct credential *items = NULL;
    size_t n = 0;
    FILE *f;
    int rc = -1;

    if (!path || !path[0])
        return 0;
    f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "BMC_CREDENTIALS_FILE %s: %s", path,
                 strerror(errno));
        return -1;
    }
    setvbuf(f, NULL, _IONBF, 0); /* no stdio copy of the passwords */
    items = calloc(CREDENTIALS_MAX, sizeof(*items));
    if (!items || auth_check_file_mode(f, path, err, errlen) ||
        cred_read(f, path, items, &n, err, errlen))
        goto out;
    credentials_free();
    table.items = items;
    table.count = n;
    items = NULL;
    rc = 0;
out:
    table_wipe_free(items, CREDENTIALS_MAX);
    fclose(f);
    return rc;
}

void credentials_free(void)
{
    table_wipe_free(table.items, CREDENTIALS_MAX);
    table.items = NULL;
    table.count = 0;
}

int credentials_find(const char *name, const char *ip,
                     const struct credential **out, char *details, size_t dlen)
{
    struct policy_cidrs targets;
    char why[128];

    *out = NULL;
    for (size_t i = 0; name && i < table.count; i++) {
        const struct credential *c = &table.items[i];
        if (strcmp(c->name, name))
            continue;
        if (policy_cidrs_parse(c->targets, &targets, why, sizeof(why)))
            break;
        bool ok = policy_cidrs_match(&targets, ip);
        policy_cidrs_free(&targets);
        if (!ok) {
            snprintf(details, dlen,
                     "credential %s may not be used for %s (its targets)",
                     c->name, ip);
            return BMC_ERR_UNKNOWN_CREDENTIAL;
        }
        *out = c;
        return 0;
    }
    snprintf(details, dlen,
             "no credential named %.64s in "
             "BMC_CREDENTIALS_FILE",
             name ? name : "(not a string)");
    return BMC_ERR_UNKNOWN_CREDENTIAL;
}

void credentials_reload_secrets(void)
{
    char err[512];

    if (auth_load(err, sizeof(err)))
        log_error("tokens_reload_failed", "reason=\"%s\"", err);
    if (credentials_load(err, sizeof(err)))
        log_error("credentials_reload_failed", "reason=\"%s\"", err);
}
