/* cliconf.h - bmcctl's optional configuration file
 * (~/.config/bmcctl/config, or $XDG_CONFIG_HOME/bmcctl/config, or
 * --config FILE): `key = value` lines, `#` comments. Keys: url, token,
 * username, password, credential, protocol, port, cipher_suite. A file
 * holding a secret (token, password) is refused when others can read it
 * or someone else owns it.
 * Owns: the strings of a struct cliconf (cliconf_free wipes them). */
#ifndef BMCCTL_CLICONF_H
#define BMCCTL_CLICONF_H

#include <stddef.h>

struct cliconf {
    char *url, *token, *username, *password, *credential, *protocol;
    int port, cipher_suite; /* -1: not set */
};

/* Read PATH (NULL: the default place, which may be absent) into C.
 * 0, or -1 with ERR. */
int cliconf_load(const char *path, struct cliconf *c, char *err,
                 size_t errlen);

void cliconf_free(struct cliconf *c);

#endif
