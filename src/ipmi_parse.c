/* ipmi_parse.c - see ipmi_parse.h. Messages are those of ipmitool 1.8.19
 * (lanplus.c, lanplus_strings.c, ipmi_chassis.c, helper.c) as seen against
 * OpenIPMI's ipmi_sim 2.0.33; tests/unit/test_ipmi.c holds those outputs
 * and doc/architecture.md says where this table sits on the request path. */
#include "autoconfig.h"
#include "ipmi_parse.h"

#include "errors.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_LEN 512 /* longer lines are cut: ipmitool's are short */
#define USERS_MAX    256 /* IPMI allows 63 user ids per channel */

/* ---- timing ------------------------------------------------------------ */

double ipmi_timing_dead_seconds(const struct ipmi_timing *t)
{
    return 2.0 * t->retries * t->timeout +
           (double)t->retries * (t->retries - 1);
}

void ipmi_timing_for(double remaining, bool power_change,
                     struct ipmi_timing *t)
{
    double budget = remaining - IPMI_TIMING_MARGIN;
    struct ipmi_timing next;

    t->retries = 1;
    t->timeout = 1;
    for (;;) {
        next = *t;
        if (power_change)
            next.timeout++;
        else
            next.retries++;
        if (next.retries > 4 || next.timeout > 4 ||
            ipmi_timing_dead_seconds(&next) > budget)
            return;
        *t = next;
    }
}

/* ---- lines -------------------------------------------------------------- */

/* Copy the line starting at *P into BUF (cut to fit, no newline) and
 * advance *P past it. Returns false at the end of the text. */
static bool line_next(const char **p, char *buf, size_t len)
{
    const char *s = *p, *nl;
    size_t n;

    if (!s || !*s)
        return false;
    nl = strchr(s, '\n');
    n = nl ? (size_t)(nl - s) : strlen(s);
    *p = nl ? nl + 1 : s + n;
    if (n && s[n - 1] == '\r')
        n--;
    if (n >= len)
        n = len - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return true;
}

static char *trim(char *s)
{
    size_t n;

    while (isspace((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- classification -------------------------------------------------- */

#define CIPHER_ALG "the BMC does not offer this cipher suite"

/* THE table. Order matters: the first row matching any line wins. */
static const struct ipmi_pattern patterns[] = {
    /* authentication (RAKP 2 is the BMC's answer to our user and key) */
    {"RAKP 2 HMAC is invalid", false, BMC_ERR_AUTH_FAILED,
     "the BMC rejected the password"},
    {"RAKP 2 message indicates an error : unauthorized name", false,
     BMC_ERR_AUTH_FAILED,
     "the BMC does not know this user name, or the user is disabled"},
    {"RAKP 2 message indicates an error : invalid name length", false,
     BMC_ERR_AUTH_FAILED, "the BMC rejected the length of the user name"},
    {"RAKP 4 message has invalid integrity check value", false,
     BMC_ERR_AUTH_FAILED,
     "the BMC's session keys do not match ours (password or BMC key)"},
    /* cipher suite */
    {"ipmi_lanplus_build_v2x_msg: Assertion", false, BMC_ERR_PROTOCOL_ERROR,
     "ipmitool aborted: it cannot build messages for this cipher suite"},
    {"invalid authentication algorithm", false, BMC_ERR_PROTOCOL_ERROR,
     CIPHER_ALG},
    {"invalid integrity algorithm", false, BMC_ERR_PROTOCOL_ERROR, CIPHER_ALG},
    {"invalid confidentiality algorithm", false, BMC_ERR_PROTOCOL_ERROR,
     CIPHER_ALG},
    {"no matching authentication algorithm", false, BMC_ERR_PROTOCOL_ERROR,
     CIPHER_ALG},
    {"no matching integrity payload", false, BMC_ERR_PROTOCOL_ERROR,
     CIPHER_ALG},
    {"no matching cipher suite", false, BMC_ERR_PROTOCOL_ERROR, CIPHER_ALG},
    {"Unsupported cipher suite ID", false, BMC_ERR_PROTOCOL_ERROR,
     "ipmitool does not support this cipher suite"},
    {"This BMC does not support IPMI v2 / RMCP+", false,
     BMC_ERR_PROTOCOL_ERROR, "the BMC does not speak IPMI v2.0 / RMCP+"},
    /* no answer */
    {"Get Auth Capabilities error", false, BMC_ERR_CONNECTION_TIMEOUT,
     "no answer from the BMC"},
    {"Error issuing Get Channel Authentication Capabilities request", false,
     BMC_ERR_CONNECTION_TIMEOUT, "no answer from the BMC"},
    {"no response from RAKP 1 message", false, BMC_ERR_CONNECTION_TIMEOUT,
     "the BMC stopped answering during session setup"},
    {"no response from RAKP 3 message", false, BMC_ERR_CONNECTION_TIMEOUT,
     "the BMC stopped answering during session setup"},
    {"Unable to get Chassis Power Status", false, BMC_ERR_CONNECTION_TIMEOUT,
     "the BMC did not answer the request in time"},
    {"Unable to set Chassis Power Control", false, BMC_ERR_CONNECTION_TIMEOUT,
     "the BMC did not answer the power command in time (it may still run it)"},
    {"IPMI response is NULL.", true, BMC_ERR_CONNECTION_TIMEOUT,
     "the BMC did not answer the request in time"},
    {"Get Device ID command failed", true, BMC_ERR_CONNECTION_TIMEOUT,
     "the BMC did not answer the request in time"},
    /* privilege, sessions, the rest */
    {"Insufficient privilege level", false, BMC_ERR_UNEXPECTED_ERROR,
     "the user's privilege level is too low for this command"},
    {"unauthorized role requested", false, BMC_ERR_UNEXPECTED_ERROR,
     "the BMC refused the privilege level requested for this user"},
    {"Set Session Privilege Level to", false, BMC_ERR_UNEXPECTED_ERROR,
     "the BMC refused the session privilege level"},
    {"insufficient resources for session", false, BMC_ERR_UNEXPECTED_ERROR,
     "the BMC has no free session"},
    {"Unable to read password from environment", false,
     BMC_ERR_UNEXPECTED_ERROR,
     "ipmitool found no password in its environment"},
};

/* -v chatter printed on success and failure alike. */
static const char *const noise[] = {
    "Loading IANA PEN Registry",
    "Running Get VSO Capabilities",
    "Running Get PICMG Properties",
    "Invalid completion code received",
    "Discovered IPMB address",
    "Discovered Target IPMB",
    "Get HPM.x Capabilities request failed",
    "Close Session command failed",
    "Failed to Close Session",
};

const struct ipmi_pattern *ipmi_patterns(size_t *n)
{
    *n = sizeof(patterns) / sizeof(patterns[0]);
    return patterns;
}

bool ipmi_is_noise_line(const char *line)
{
    while (isspace((unsigned char)*line))
        line++;
    if (!*line)
        return true;
    for (size_t i = 0; i < sizeof(noise) / sizeof(noise[0]); i++)
        if (starts_with(line, noise[i]))
            return true;
    return false;
}

static bool pattern_matches(const struct ipmi_pattern *p, const char *line)
{
    return p->exact ? strcmp(line, p->needle) == 0
                    : strstr(line, p->needle) != NULL;
}

/* First row (in table order) matching a non-noise line of ERR; LINE gets
 * it. */
static const struct ipmi_pattern *classify_find(const char *err, char *line,
                                                size_t len)
{
    char buf[LINE_MAX_LEN];
    size_t n;
    const struct ipmi_pattern *table = ipmi_patterns(&n);

    for (size_t i = 0; i < n; i++) {
        const char *p = err;
        while (line_next(&p, buf, sizeof(buf))) {
            char *t = trim(buf);
            if (ipmi_is_noise_line(t) || !pattern_matches(&table[i], t))
                continue;
            snprintf(line, len, "%s", t);
            return &table[i];
        }
    }
    return NULL;
}

int ipmi_classify_stderr(const char *err, int cipher_suite, char *details,
                         size_t len)
{
    char line[LINE_MAX_LEN];
    const struct ipmi_pattern *row;

    if (len)
        details[0] = '\0';
    row = err ? classify_find(err, line, sizeof(line)) : NULL;
    if (!row)
        return 0;
    if (row->code == BMC_ERR_PROTOCOL_ERROR)
        snprintf(details, len,
                 "%s (cipher suite %d; ipmitool: %s). "
                 "Try another cipher_suite, e.g. %d",
                 row->what, cipher_suite, line, cipher_suite == 3 ? 17 : 3);
    else
        snprintf(details, len, "%s (ipmitool: %s)", row->what, line);
    return row->code;
}

const char *ipmi_last_line(const char *err, char *buf, size_t len)
{
    char cur[LINE_MAX_LEN];
    const char *p = err;

    if (len)
        buf[0] = '\0';
    while (p && line_next(&p, cur, sizeof(cur))) {
        char *t = trim(cur);
        if (!ipmi_is_noise_line(t))
            snprintf(buf, len, "%s", t);
    }
    return buf;
}

bool ipmi_find_refusal(const char *err, char *buf, size_t len)
{
    char cur[LINE_MAX_LEN];
    const char *p = err;

    while (p && line_next(&p, cur, sizeof(cur))) {
        char *t = trim(cur);
        const char *f = strstr(t, " failed: ");
        if (!ipmi_is_noise_line(t) && f && f[9]) {
            snprintf(buf, len, "%s", t);
            return true;
        }
    }
    return false;
}

/* ---- stdout parsers ---------------------------------------------------- */

/* Find the first line of OUT that starts with PREFIX and copy it to LINE. */
static bool find_line(const char *out, const char *prefix, char *line,
                      size_t len)
{
    char cur[LINE_MAX_LEN];
    const char *p = out;

    while (p && line_next(&p, cur, sizeof(cur))) {
        char *t = trim(cur);
        if (starts_with(t, prefix)) {
            snprintf(line, len, "%s", t);
            return true;
        }
    }
    return false;
}

int ipmi_parse_power_status(const char *out, const char **state, char *line,
                            size_t len)
{
    char buf[LINE_MAX_LEN];
    const char *v;

    if (!find_line(out, "Chassis Power is ", buf, sizeof(buf)))
        return -1;
    v = buf + strlen("Chassis Power is ");
    if (strcmp(v, "on") == 0)
        *state = "on";
    else if (strcmp(v, "off") == 0)
        *state = "off";
    else
        return -1;
    snprintf(line, len, "%s", buf);
    return 0;
}

int ipmi_parse_control_line(const char *out, char *line, size_t len)
{
    char buf[LINE_MAX_LEN];

    if (!find_line(out, "Chassis Power Control: ", buf, sizeof(buf)))
        return -1;
    snprintf(line, len, "%s", buf);
    return 0;
}

const char *ipmi_role_for_privilege(const char *privilege)
{
    static const struct {
        const char *privilege, *role;
    } roles[] = {
        {"ADMINISTRATOR", "Administrator"},
        {"OPERATOR", "Operator"},
        {"USER", "User"},
        {"CALLBACK", "Callback"},
        {"OEM", "OEM"},
        {"NO ACCESS", "NoAccess"},
    };

    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
        if (strcmp(privilege, roles[i].privilege) == 0)
            return roles[i].role;
    return "Unknown";
}

static int parse_bool(const char *s)
{
    if (strcmp(s, "true") == 0)
        return 1;
    if (strcmp(s, "false") == 0)
        return 0;
    return -1;
}

/* One `-c user list` line: "ID,NAME,CALLIN,LINKAUTH,IPMIMSG,PRIVILEGE".
 * The name may itself hold commas, so the four fixed fields are taken
 * from the right. Returns a user object, or NULL for a malformed line;
 * *EMPTY is set for an unused slot. */
static json_object *user_from_csv(char *line, bool *empty)
{
    char *field[6], *comma, *end;
    long id;
    int callin, link, msg;

    field[0] = line;
    comma = strchr(line, ',');
    if (!comma)
        return NULL;
    *comma = '\0';
    field[1] = comma + 1;
    for (int i = 5; i >= 2; i--) {
        comma = strrchr(field[1], ',');
        if (!comma)
            return NULL;
        *comma = '\0';
        field[i] = comma + 1;
    }
    id = strtol(field[0], &end, 10);
    callin = parse_bool(field[2]);
    link = parse_bool(field[3]);
    msg = parse_bool(field[4]);
    if (end == field[0] || *end || id < 0 || id > 255 || callin < 0 ||
        link < 0 || msg < 0)
        return NULL;
    *empty = !field[1][0] && !msg;
    if (*empty)
        return NULL;
    const char *role = ipmi_role_for_privilege(field[5]);
    bool enabled =
        msg && strcmp(role, "Unknown") != 0 && strcmp(role, "NoAccess") != 0;
    json_object *u = json_object_new_object();
    char idtext[8];
    snprintf(idtext, sizeof(idtext), "%ld", id);
    json_object_object_add(u, "id", json_object_new_string(idtext));
    json_object_object_add(u, "name", json_object_new_string(field[1]));
    json_object_object_add(u, "role", json_object_new_string(role));
    json_object_object_add(u, "enabled", json_object_new_boolean(enabled));
    json_object_object_add(u, "callin", json_object_new_boolean(callin));
    json_object_object_add(u, "link_auth", json_object_new_boolean(link));
    json_object_object_add(u, "ipmi_msg", json_object_new_boolean(msg));
    json_object_object_add(u, "privilege", json_object_new_string(field[5]));
    return u;
}

json_object *ipmi_parse_user_list(const char *out)
{
    char cur[LINE_MAX_LEN];
    const char *p = out;
    json_object *users = json_object_new_array(), *res;
    int seen = 0;

    while (p && line_next(&p, cur, sizeof(cur)) && seen < USERS_MAX) {
        bool empty = false;
        json_object *u = user_from_csv(cur, &empty);
        if (u)
            json_object_array_add(users, u);
        if (u || empty)
            seen++;
    }
    if (!seen) {
        json_object_put(users);
        return NULL;
    }
    res = json_object_new_object();
    json_object_object_add(res, "users", users);
    return res;
}

int ipmi_parse_free_user_slot(const char *out)
{
    char cur[LINE_MAX_LEN];
    const char *p = out;

    while (p && line_next(&p, cur, sizeof(cur))) {
        char *end, *comma = strchr(cur, ',');
        long id = strtol(cur, &end, 10);
        if (!comma || end != comma || id < 2 || id > 255)
            continue;
        if (comma[1] == ',') /* no name */
            return (int)id;
    }
    return -1;
}

json_object *ipmi_parse_mc_info(const char *out)
{
    static const struct {
        const char *key, *field;
    } keys[] = {
        {"Firmware Revision", "fw_version"},
        {"Manufacturer Name", "manufacturer"},
        {"Product Name", "product"},
        {"IPMI Version", "ipmi_version"},
    };
    /* Zeroed only for clang's analyzer, which cannot tell that line_next
     * always terminates CUR and follows a path where strchr finds ':' in it
     * and trim() then reads past it. */
    char cur[LINE_MAX_LEN] = "";
    const char *p = out;
    json_object *res = json_object_new_object();

    while (p && line_next(&p, cur, sizeof(cur))) {
        char *colon = strchr(cur, ':');
        if (!colon || isspace((unsigned char)cur[0]))
            continue;
        *colon = '\0';
        char *key = trim(cur), *value = trim(colon + 1);
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            if (strcmp(key, keys[i].key) == 0 &&
                !json_object_object_get_ex(res, keys[i].field, NULL))
                json_object_object_add(res, keys[i].field,
                                       json_object_new_string(value));
    }
    if (!json_object_object_get_ex(res, "fw_version", NULL)) {
        json_object_put(res);
        return NULL;
    }
    for (size_t i = 1; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!json_object_object_get_ex(res, keys[i].field, NULL))
            json_object_object_add(res, keys[i].field,
                                   json_object_new_string(""));
    return res;
}

/* ---- boot flags ---------------------------------------------------------
 */

static const struct {
    const char *name;
    int selector; /* bits 5:2 of parameter 5 data byte 2 */
} boot_devices[] = {
    {"none", 0x0},      {"pxe", 0x1},           {"disk", 0x2},
    {"disk-safe", 0x3}, {"diag", 0x4},          {"cd", 0x5},
    {"bios", 0x6},      {"remote-floppy", 0x7}, {"remote-media", 0x8},
    {"remote-cd", 0x9}, {"remote-disk", 0xb},   {"floppy", 0xf},
};

#define BOOT_DEVICES_N (sizeof(boot_devices) / sizeof(boot_devices[0]))

int ipmi_boot_device_byte(const char *device)
{
    static const char *const settable[] = {"none", "pxe",  "disk",
                                           "cd",   "bios", NULL};
    for (const char *const *s = settable; *s; s++)
        if (!strcmp(*s, device))
            for (size_t i = 0; i < BOOT_DEVICES_N; i++)
                if (!strcmp(boot_devices[i].name, device))
                    return boot_devices[i].selector << 2;
    return -1;
}

static int hex_byte(const char *p)
{
    int v = 0;

    for (int i = 0; i < 2; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

json_object *ipmi_parse_boot_flags(const char *out)
{
    static const char key[] = "Boot parameter data:";
    const char *p = strstr(out, key), *name = NULL;
    int flags, dev;
    char other[16];

    if (!p)
        return NULL;
    p += sizeof(key) - 1;
    while (*p == ' ' || *p == '\t')
        p++;
    if ((flags = hex_byte(p)) < 0 || (dev = hex_byte(p + 2)) < 0)
        return NULL;
    dev = (dev >> 2) & 0xf;
    for (size_t i = 0; i < BOOT_DEVICES_N; i++)
        if (boot_devices[i].selector == dev)
            name = boot_devices[i].name;
    if (!name) {
        snprintf(other, sizeof(other), "0x%02x", dev << 2);
        name = other;
    }
    json_object *o = json_object_new_object();
    bool none = dev == 0;
    json_object_object_add(o, "boot_device", json_object_new_string(name));
    json_object_object_add(
        o, "persistent",
        none ? NULL : json_object_new_boolean((flags & 0x40) != 0));
    json_object_object_add(
        o, "mode", json_object_new_string(flags & 0x20 ? "uefi" : "legacy"));
    json_object_object_add(o, "boot_flag_valid",
                           json_object_new_boolean((flags & 0x80) != 0));
    return o;
}
