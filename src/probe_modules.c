/* probe_modules.c - BMC_PROBE_MODULES_FILE (see probe_modules.h). */
#include "autoconfig.h"
#include "probe_modules.h"

#include "credentials.h"
#include "policy.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct module_table {
    struct probe_module m[PROBE_MODULES_MAX];
    int n;
};

static struct module_table table;
static struct {
    char path[4096];
    off_t size;
    struct timespec mtime;
    bool loaded;
} loaded_file;

static const char *const collect_names[] = {
    "power", "sensors", "event_log_count", "inventory_info"};

const char *probe_collect_name(unsigned bit)
{
    for (unsigned i = 0; i < 4; i++)
        if (bit == 1u << i)
            return collect_names[i];
    return "";
}

static char *trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int parse_collect(char *v, unsigned *out)
{
    *out = 0;
    for (char *save = NULL, *t = strtok_r(v, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        t = trim(t);
        unsigned i = 0;
        while (i < 4 && strcmp(t, collect_names[i]))
            i++;
        if (i == 4)
            return -1;
        *out |= 1u << i;
    }
    return *out ? 0 : -1;
}

static int parse_number(const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || d < lo || d > hi)
        return -1;
    *out = d;
    return 0;
}

static int copy_value(char *dst, size_t len, const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n >= len)
        return -1;
    memcpy(dst, v, n + 1);
    return 0;
}

/* Apply KEY = V to M; -1 when the key is unknown or V is bad. */
static int set_key(struct probe_module *m, const char *key, char *v)
{
    double d;

    if (!strcmp(key, "protocol")) {
        if (strcmp(v, "redfish") && strcmp(v, "ipmitool"))
            return -1;
        m->protocol =
            strcmp(v, "redfish") ? BMC_PROTO_IPMI : BMC_PROTO_REDFISH;
        return 0;
    }
    if (!strcmp(key, "collect"))
        return parse_collect(v, &m->collect);
    if (!strcmp(key, "timeout_seconds"))
        return parse_number(v, 1, 120, &m->timeout_seconds);
    if (!strcmp(key, "cache_seconds"))
        return parse_number(v, 0, 3600, &m->cache_seconds);
    if (!strcmp(key, "port") || !strcmp(key, "cipher_suite")) {
        bool port = !strcmp(key, "port");
        if (parse_number(v, port ? 1 : 0, port ? 65535 : 17, &d) ||
            d != (int)d)
            return -1;
        *(port ? &m->port : &m->cipher_suite) = (int)d;
        return 0;
    }
    if (!strcmp(key, "credential"))
        return copy_value(m->credential, sizeof(m->credential), v);
    if (!strcmp(key, "username"))
        return copy_value(m->username, sizeof(m->username), v);
    if (!strcmp(key, "password"))
        return copy_value(m->password, sizeof(m->password), v);
    if (!strcmp(key, "targets")) {
        struct policy_cidrs cidrs;
        char err[128];
        if (policy_cidrs_parse(v, &cidrs, err, sizeof(err)))
            return -1;
        policy_cidrs_free(&cidrs);
        return copy_value(m->targets, sizeof(m->targets), v);
    }
    return -1;
}

static void module_defaults(struct probe_module *m, const char *name)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->name, sizeof(m->name), "%s", name);
    m->protocol = BMC_PROTO_REDFISH;
    m->collect = PROBE_POWER;
    m->timeout_seconds = 10;
    m->cache_seconds = 30;
    m->cipher_suite = -1; /* the credential's, else 17 */
}

/* A finished section: the rules that span keys. */
static int check_module(const struct probe_module *m, char *why, size_t wlen)
{
    bool inline_creds = m->username[0] || m->password[0] || m->targets[0];

    if (m->credential[0] && inline_creds) {
        snprintf(why, wlen,
                 "credential and username/password/targets "
                 "exclude each other");
        return -1;
    }
    if (!m->credential[0] && (!m->username[0] || !m->password[0])) {
        snprintf(why, wlen,
                 "needs credential (a name from "
                 "BMC_CREDENTIALS_FILE)");
        return -1;
    }
    return 0;
}

static int section_name(char *line, struct module_table *t, char *why,
                        size_t wlen)
{
    char *end = strchr(line, ']');

    char *rest = end ? trim(end + 1) : NULL;
    if (!end || (rest[0] && rest[0] != '#' && rest[0] != ';')) {
        snprintf(why, wlen, "a section is [name]");
        return -1;
    }
    *end = '\0';
    char *name = trim(line + 1);
    size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
                            "VWXYZ0123456789_.-");
    if (!*name || name[n] || strlen(name) >= PROBE_NAME_MAX) {
        snprintf(why, wlen, "module names are 1-63 of [A-Za-z0-9_.-]");
        return -1;
    }
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->m[i].name, name)) {
            snprintf(why, wlen, "module [%s] twice", name);
            return -1;
        }
    if (t->n == PROBE_MODULES_MAX) {
        snprintf(why, wlen, "more than %d modules", PROBE_MODULES_MAX);
        return -1;
    }
    module_defaults(&t->m[t->n++], name);
    return 0;
}

/* One line of the file into T; -1 with WHY. */
static int parse_line(char *line, struct module_table *t, char *why,
                      size_t wlen)
{
    line = trim(line);
    if (!*line || *line == '#' || *line == ';')
        return 0;
    if (*line == '[')
        return section_name(line, t, why, wlen);
    char *eq = strchr(line, '=');
    if (!eq || !t->n) {
        snprintf(why, wlen, "%s",
                 t->n ? "expected key = value"
                      : "a key before the first [module]");
        return -1;
    }
    *eq = '\0';
    char *key = trim(line), *value = trim(eq + 1);
    if (set_key(&t->m[t->n - 1], key, value)) {
        snprintf(why, wlen, "bad or unknown key '%.40s'", key);
        return -1;
    }
    return 0;
}

static int check_file(int fd, const char *path, struct stat *st, char *err,
                      size_t errlen)
{
    if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        return -1;
    }
    if ((st->st_mode & 077) || st->st_uid != geteuid()) {
        snprintf(err, errlen,
                 "%s: must be mode 0600 and owned by the daemon's user "
                 "(it names credentials)",
                 path);
        return -1;
    }
    return 0;
}

static void table_wipe(struct module_table *t)
{
    explicit_bzero(t, sizeof(*t));
}

static int parse_stream(FILE *f, const char *path, struct module_table *t,
                        char *err, size_t errlen)
{
    char line[2048], why[200];
    int lineno = 0, rc = 0;

    while (!rc && fgets(line, sizeof(line), f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(why, sizeof(why), "line too long");
            rc = -1;
        } else {
            rc = parse_line(line, t, why, sizeof(why));
        }
    }
    explicit_bzero(line, sizeof(line));
    for (int i = 0; !rc && i < t->n; i++)
        if (check_module(&t->m[i], why, sizeof(why))) {
            snprintf(err, errlen, "%s: module [%s]: %s", path, t->m[i].name,
                     why);
            return -1;
        }
    if (rc)
        snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
    return rc;
}

int probe_modules_load_file(const char *path, char *err, size_t errlen)
{
    static struct module_table fresh;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = -1;
    FILE *f = NULL;

    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (check_file(fd, path, &st, err, errlen))
        goto out;
    f = fdopen(fd, "r");
    if (!f)
        goto out;
    fd = -1;
    table_wipe(&fresh);
    rc = parse_stream(f, path, &fresh, err, errlen);
    if (!rc) {
        table_wipe(&table);
        table = fresh;
        snprintf(loaded_file.path, sizeof(loaded_file.path), "%s", path);
        loaded_file.size = st.st_size;
        loaded_file.mtime = st.st_mtim;
        loaded_file.loaded = true;
    }
    table_wipe(&fresh);
out:
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    return rc;
}

int probe_modules_load(char *err, size_t errlen)
{
    const char *path = getenv("BMC_PROBE_MODULES_FILE");
    struct stat st;

    if (!path || !*path) {
        table_wipe(&table);
        loaded_file.loaded = false;
        return 0;
    }
    if (loaded_file.loaded && !strcmp(path, loaded_file.path) &&
        !stat(path, &st) && st.st_size == loaded_file.size &&
        st.st_mtim.tv_sec == loaded_file.mtime.tv_sec &&
        st.st_mtim.tv_nsec == loaded_file.mtime.tv_nsec)
        return 0;
    return probe_modules_load_file(path, err, errlen);
}

const struct probe_module *probe_modules_find(const char *name)
{
    for (int i = 0; i < table.n; i++)
        if (!strcmp(table.m[i].name, name))
            return &table.m[i];
    return NULL;
}

bool probe_cidr_match(const char *list, const char *ip)
{
    struct policy_cidrs cidrs;
    char err[128];

    if (!list || policy_cidrs_parse(list, &cidrs, err, sizeof(err)))
        return false;
    bool in = policy_cidrs_match(&cidrs, ip);
    policy_cidrs_free(&cidrs);
    return in;
}

/* CONN's user and password (and pin, protocol, port, cipher suite where
 * the module leaves them open) from M's credential for IP. */
static int from_credential(const struct probe_module *m, const char *ip,
                           struct bmc_conn *conn, char *why, size_t wlen)
{
    const struct credential *c;

    if (credentials_find(m->credential, ip, &c, why, wlen))
        return -1;
    snprintf(conn->username, sizeof(conn->username), "%s", c->username);
    memcpy(conn->password, c->password, sizeof(conn->password));
    snprintf(conn->tls_pin, sizeof(conn->tls_pin), "%s", c->tls_pin);
    if (!m->protocol_set && c->protocol)
        conn->protocol = strcmp(c->protocol, "redfish") ? BMC_PROTO_IPMI
                                                        : BMC_PROTO_REDFISH;
    if (!conn->port)
        conn->port = c->port;
    if (conn->cipher_suite < 0)
        conn->cipher_suite = c->cipher_suite;
    return 0;
}

int probe_modules_credential(const struct probe_module *m, const char *ip,
                             int port, struct bmc_conn *conn, char *why,
                             size_t wlen)
{
    memset(conn, 0, sizeof(*conn));
    snprintf(conn->ip, sizeof(conn->ip), "%s", ip);
    if (policy_normalize_ip(conn->ip, sizeof(conn->ip)) ||
        policy_check_target(conn->ip, why, wlen))
        return -1;
    conn->protocol = m->protocol;
    conn->cipher_suite = m->cipher_suite;
    conn->port = port ? port : m->port;
    if (m->credential[0]) {
        if (from_credential(m, conn->ip, conn, why, wlen))
            return -1;
    } else if (!probe_cidr_match(m->targets, conn->ip)) {
        snprintf(why, wlen, "target %s is outside module %s's targets",
                 conn->ip, m->name);
        return -1;
    } else { /* inline credentials (tests, single-BMC setups) */
        snprintf(conn->username, sizeof(conn->username), "%s", m->username);
        memcpy(conn->password, m->password, sizeof(conn->password));
    }
    if (conn->cipher_suite < 0)
        conn->cipher_suite = 17;
    if (!conn->port)
        conn->port = conn->protocol == BMC_PROTO_REDFISH ? 443 : 623;
    return 0;
}
