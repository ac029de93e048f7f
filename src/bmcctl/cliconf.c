/* cliconf.c - the configuration file (see cliconf.h). */
#include "autoconfig.h"
#include "cliconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *trim(char *s)
{
    char *e = s + strlen(s);

    while (isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int set_int(int *out, const char *v, int lo, int hi)
{
    char *end;
    long n = strtol(v, &end, 10);

    if (!*v || *end || n < lo || n > hi)
        return -1;
    *out = (int)n;
    return 0;
}

static int set_key(struct cliconf *c, const char *k, const char *v)
{
    struct {
        const char *key;
        char **field;
    } strings[] = {
        {"url", &c->url},
        {"token", &c->token},
        {"username", &c->username},
        {"password", &c->password},
        {"credential", &c->credential},
        {"protocol", &c->protocol},
    };

    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
        if (!strcmp(k, strings[i].key)) {
            free(*strings[i].field);
            *strings[i].field = strdup(v);
            return *strings[i].field ? 0 : -1;
        }
    if (!strcmp(k, "port"))
        return set_int(&c->port, v, 1, 65535);
    if (!strcmp(k, "cipher_suite"))
        return set_int(&c->cipher_suite, v, 0, 17);
    return -1;
}

static int parse(FILE *f, const char *path, struct cliconf *c, char *err,
                 size_t errlen)
{
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;

    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        char *s = trim(line), *eq;
        lineno++;
        if (!*s || *s == '#')
            continue;
        eq = strchr(s, '=');
        if (eq)
            *eq = '\0';
        if (!eq || set_key(c, trim(s), trim(eq + 1))) {
            snprintf(err, errlen, "%s:%d: not a known `key = value` line",
                     path, lineno);
            rc = -1;
        }
    }
    if (line)
        explicit_bzero(line, cap);
    free(line);
    return rc;
}

static int check_private(FILE *f, const char *path, char *err, size_t errlen)
{
    struct stat st;

    if (fstat(fileno(f), &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if ((st.st_mode & 077) || st.st_uid != geteuid()) {
        snprintf(err, errlen,
                 "%s holds a secret but %s: refused (chmod 600 it)", path,
                 st.st_uid != geteuid() ? "someone else owns it"
                                        : "others can read it");
        return -1;
    }
    return 0;
}

int cliconf_load(const char *path, struct cliconf *c, char *err, size_t errlen)
{
    char def[4096];
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    FILE *f;
    int rc;

    memset(c, 0, sizeof(*c));
    c->port = c->cipher_suite = -1;
    if (!path) {
        if (xdg && xdg[0])
            snprintf(def, sizeof(def), "%s/bmcctl/config", xdg);
        else if (home && home[0])
            snprintf(def, sizeof(def), "%s/.config/bmcctl/config", home);
        else
            return 0;
    }
    f = fopen(path ? path : def, "re");
    if (!f) {
        if (!path && errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", path ? path : def, strerror(errno));
        return -1;
    }
    rc = parse(f, path ? path : def, c, err, errlen);
    if (rc == 0 && (c->token || c->password))
        rc = check_private(f, path ? path : def, err, errlen);
    fclose(f);
    if (rc)
        cliconf_free(c);
    return rc;
}

static void wipe_free(char **s)
{
    if (*s)
        explicit_bzero(*s, strlen(*s));
    free(*s);
    *s = NULL;
}

void cliconf_free(struct cliconf *c)
{
    wipe_free(&c->url);
    wipe_free(&c->token);
    wipe_free(&c->username);
    wipe_free(&c->password);
    wipe_free(&c->credential);
    wipe_free(&c->protocol);
}
