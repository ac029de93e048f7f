/* targets.h - the hosts a bmcctl command runs on: xCAT-style node ranges
 * (`bmc-r12-[01-40]`, `10.0.0.[1-9]`, `node01-node40`, comma lists,
 * `-name` exclusions), `HOST:PORT` and `[IPv6]:PORT`, and files or stdin
 * holding such expressions one or more a line.
 * Owns: the target list and every string in it (targets_free). */
#ifndef BMCCTL_TARGETS_H
#define BMCCTL_TARGETS_H

#include <stddef.h>
#include <stdio.h>

#define TARGETS_MAX     10000 /* the bulk endpoints' limit */
#define TARGET_NAME_MAX 253   /* a DNS name */

struct target {
    char *name; /* as expanded, with ":PORT" when one was given */
    char *host; /* the name or address, without port or brackets */
    int port;   /* 0: not given (the --port option or the default) */
};

struct target_list {
    struct target *v;
    size_t n, cap;
};

/* Expand EXPR (a comma-separated node range) and add its hosts to LIST in
 * order, dropping duplicates and applying `-name` exclusions to what LIST
 * holds so far. 0, or -1 with a message in ERR (LIST keeps what it had
 * before the failing element). */
int targets_add_expr(struct target_list *list, const char *expr, char *err,
                     size_t errlen);

/* Add every expression of FILE (whitespace-separated, `#` comments to the
 * end of the line); WHAT names it in messages. 0 or -1 with ERR. */
int targets_add_file(struct target_list *list, FILE *file, const char *what,
                     char *err, size_t errlen);

/* Free every target and the array; LIST is empty afterwards. */
void targets_free(struct target_list *list);

#endif
