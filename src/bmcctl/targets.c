/* targets.c - node ranges (see targets.h). */
#include "autoconfig.h"
#include "targets.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define RANGE_VALUE_MAX 999999999UL /* nine digits */
#define EXPR_MAX        4096        /* one expression, in bytes */

static bool is_range_text(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]) && s[i] != '-' && s[i] != ',')
            return false;
    return true;
}

static bool host_char_ok(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_' ||
           c == ':' || c == '%';
}

static bool same_target(const struct target *t, const char *host, int port)
{
    return !strcmp(t->host, host) && t->port == port;
}

static int list_push(struct target_list *l, const char *host, int port,
                     char *err, size_t errlen)
{
    char name[TARGET_NAME_MAX + 16];
    bool v6 = strchr(host, ':') != NULL;

    for (size_t i = 0; i < l->n; i++)
        if (same_target(&l->v[i], host, port))
            return 0;
    if (l->n >= TARGETS_MAX) {
        snprintf(err, errlen, "more than %d targets", TARGETS_MAX);
        return -1;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct target *v = realloc(l->v, cap * sizeof(*v));
        if (!v) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        l->v = v;
        l->cap = cap;
    }
    if (port)
        snprintf(name, sizeof(name), v6 ? "[%s]:%d" : "%s:%d", host, port);
    else
        snprintf(name, sizeof(name), "%s", host);
    l->v[l->n].host = strdup(host);
    l->v[l->n].name = strdup(name);
    l->v[l->n].port = port;
    if (!l->v[l->n].host || !l->v[l->n].name) {
        free(l->v[l->n].host);
        free(l->v[l->n].name);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->n++;
    return 0;
}

/* Remove from L every target named HOST (with PORT, when PORT is set). */
static void list_remove(struct target_list *l, const char *host, int port)
{
    size_t j = 0;

    for (size_t i = 0; i < l->n; i++) {
        struct target *t = &l->v[i];
        if (!strcmp(t->host, host) && (!port || t->port == port)) {
            free(t->host);
            free(t->name);
            continue;
        }
        l->v[j++] = *t;
    }
    l->n = j;
}

static int check_host(const char *host, char *err, size_t errlen)
{
    size_t n = strlen(host);

    if (n == 0 || n > TARGET_NAME_MAX) {
        snprintf(err, errlen, "'%.64s': a host name has 1 to %d characters",
                 host, TARGET_NAME_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (!host_char_ok(host[i])) {
            snprintf(err, errlen, "'%.64s': '%c' is not allowed in a host",
                     host, host[i]);
            return -1;
        }
    return 0;
}

/* Parse the digits at S (N of them) into *V; their zero-padded width
 * into *WIDTH (0 when not padded). */
static int parse_number(const char *s, size_t n, unsigned long *v, int *width)
{
    char buf[16];

    if (n == 0 || n > 9)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)buf[i]))
            return -1;
    *v = strtoul(buf, NULL, 10);
    *width = (n > 1 && buf[0] == '0') ? (int)n : 0;
    return 0;
}

struct expansion {
    struct target_list *list;
    int port;
    bool exclude;
    char *err;
    size_t errlen;
};

static int emit(struct expansion *x, const char *host)
{
    if (check_host(host, x->err, x->errlen))
        return -1;
    if (x->exclude) {
        list_remove(x->list, host, x->port);
        return 0;
    }
    return list_push(x->list, host, x->port, x->err, x->errlen);
}

static int expand_brackets(struct expansion *x, const char *done,
                           const char *rest);

/* One item of a bracket list ("7" or "01-40"): every value, formatted
 * with its padding, appended to DONE before the rest is expanded. */
static int expand_item(struct expansion *x, const char *done, const char *item,
                       size_t n, const char *rest)
{
    const char *dash = memchr(item, '-', n);
    unsigned long a, b;
    int wa, wb;
    char next[EXPR_MAX];

    if (parse_number(item, dash ? (size_t)(dash - item) : n, &a, &wa) ||
        (dash &&
         parse_number(dash + 1, n - (size_t)(dash - item) - 1, &b, &wb))) {
        snprintf(x->err, x->errlen, "'[%.*s]': not a range of numbers", (int)n,
                 item);
        return -1;
    }
    if (!dash)
        b = a;
    if (b < a || b - a >= TARGETS_MAX) {
        snprintf(x->err, x->errlen,
                 "'[%.*s]': a range goes up, by at most %d values", (int)n,
                 item, TARGETS_MAX);
        return -1;
    }
    size_t dn = strlen(done);
    if (dn + 16 >= sizeof(next)) {
        snprintf(x->err, x->errlen, "expression too long");
        return -1;
    }
    memcpy(next, done, dn);
    for (unsigned long v = a; v <= b; v++) {
        snprintf(next + dn, sizeof(next) - dn, "%0*lu", wa, v);
        if (expand_brackets(x, next, rest))
            return -1;
    }
    return 0;
}

/* Expand the first range bracket of REST (DONE: what precedes it, already
 * expanded), then recurse into what follows it. */
static int expand_brackets(struct expansion *x, const char *done,
                           const char *rest)
{
    char prefix[EXPR_MAX];
    const char *open = strchr(rest, '['), *close;

    if (!open) {
        size_t dn = strlen(done), rn = strlen(rest);
        if (dn + rn >= sizeof(prefix)) {
            snprintf(x->err, x->errlen, "expression too long");
            return -1;
        }
        memcpy(prefix, done, dn);
        memcpy(prefix + dn, rest, rn + 1);
        return emit(x, prefix);
    }
    close = strchr(open, ']');
    if (!close || !is_range_text(open + 1, (size_t)(close - open - 1))) {
        snprintf(x->err, x->errlen, "'%.64s': unbalanced or bad '[...]'",
                 rest);
        return -1;
    }
    if (strlen(done) + (size_t)(open - rest) + 32 >= sizeof(prefix)) {
        snprintf(x->err, x->errlen, "expression too long");
        return -1;
    }
    snprintf(prefix, sizeof(prefix), "%s%.*s", done, (int)(open - rest), rest);
    for (const char *item = open + 1; item < close;) {
        const char *comma = memchr(item, ',', (size_t)(close - item));
        const char *end = comma ? comma : close;
        if (expand_item(x, prefix, item, (size_t)(end - item), close + 1))
            return -1;
        item = end + 1;
    }
    return 0;
}

/* Trailing digits of S[0..N): their start. */
static size_t digits_start(const char *s, size_t n)
{
    while (n > 0 && isdigit((unsigned char)s[n - 1]))
        n--;
    return n;
}

/* "node01-node40", "10.0.0.1-10.0.0.9": both sides the same prefix and
 * a number. 1 when S is such a range (expanded), 0 when not, -1 error. */
static int expand_dash_range(struct expansion *x, const char *s)
{
    size_t len = strlen(s);

    for (const char *d = strchr(s, '-'); d; d = strchr(d + 1, '-')) {
        size_t ln = (size_t)(d - s), rn = len - ln - 1;
        size_t lp = digits_start(s, ln), rp = digits_start(d + 1, rn);
        if (lp == ln || rp != lp || rp == 0 || rn == rp ||
            strncmp(s, d + 1, lp) != 0)
            continue;
        char bracket[EXPR_MAX];
        snprintf(bracket, sizeof(bracket), "%.*s[%.*s-%.*s]", (int)lp, s,
                 (int)(ln - lp), s + lp, (int)(rn - rp), d + 1 + rp);
        return expand_brackets(x, "", bracket) ? -1 : 1;
    }
    return 0;
}

/* Split ELEM into its host part (HOST) and port: "[v6]:623", "v6",
 * "name:623", "name". */
static int split_port(const char *elem, char *host, size_t hlen, int *port,
                      char *err, size_t errlen)
{
    const char *colon = NULL, *close = strchr(elem, ']');
    int colons = 0, depth = 0;

    *port = 0;
    if (elem[0] == '[' && close && memchr(elem, ':', (size_t)(close - elem))) {
        snprintf(host, hlen, "%.*s", (int)(close - elem - 1), elem + 1);
        colon = close[1] == ':' ? close + 1 : NULL;
        if (!colon && close[1]) {
            snprintf(err, errlen, "'%.64s': text after ']'", elem);
            return -1;
        }
    } else {
        for (const char *p = elem; *p; p++) {
            depth += *p == '[' ? 1 : *p == ']' ? -1 : 0;
            if (*p == ':' && depth == 0) {
                colons++;
                colon = p;
            }
        }
        if (colons != 1)
            colon = NULL; /* none, or a bare IPv6 address */
        snprintf(host, hlen, "%.*s",
                 (int)(colon ? (size_t)(colon - elem) : strlen(elem)), elem);
    }
    if (colon) {
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (!isdigit((unsigned char)colon[1]) || *end || p < 1 || p > 65535) {
            snprintf(err, errlen, "'%.64s': a port is 1 to 65535", elem);
            return -1;
        }
        *port = (int)p;
    }
    return 0;
}

static int add_element(struct target_list *l, const char *elem, char *err,
                       size_t errlen)
{
    struct expansion x = {.list = l, .err = err, .errlen = errlen};
    char host[EXPR_MAX];
    int rc;

    if (elem[0] == '-') {
        x.exclude = true;
        elem++;
    }
    if (!elem[0]) {
        snprintf(err, errlen, "an empty target");
        return -1;
    }
    if (split_port(elem, host, sizeof(host), &x.port, err, errlen))
        return -1;
    if (strchr(host, ':')) /* IPv6: no ranges */
        return emit(&x, host);
    if (!strchr(host, '[')) {
        rc = expand_dash_range(&x, host);
        if (rc)
            return rc < 0 ? -1 : 0;
    }
    return expand_brackets(&x, "", host);
}

int targets_add_expr(struct target_list *list, const char *expr, char *err,
                     size_t errlen)
{
    char elem[EXPR_MAX];
    size_t n = 0;
    int depth = 0;

    if (strlen(expr) >= EXPR_MAX) {
        snprintf(err, errlen, "a target expression has at most %d bytes",
                 EXPR_MAX - 1);
        return -1;
    }
    for (const char *p = expr;; p++) {
        if (*p == '[')
            depth++;
        else if (*p == ']')
            depth--;
        if (*p && (*p != ',' || depth > 0)) {
            elem[n++] = *p;
            continue;
        }
        elem[n] = '\0';
        if (add_element(list, elem, err, errlen))
            return -1;
        n = 0;
        if (!*p)
            return 0;
    }
}

int targets_add_file(struct target_list *list, FILE *file, const char *what,
                     char *err, size_t errlen)
{
    char *line = NULL, msg[512];
    size_t cap = 0;
    int lineno = 0, rc = 0;

    while (rc == 0 && getline(&line, &cap, file) >= 0) {
        char *save = NULL, *hash = strchr(line, '#');
        lineno++;
        if (hash)
            *hash = '\0';
        for (char *w = strtok_r(line, " \t\r\n", &save); w && rc == 0;
             w = strtok_r(NULL, " \t\r\n", &save))
            if (targets_add_expr(list, w, msg, sizeof(msg))) {
                snprintf(err, errlen, "%s:%d: %s", what, lineno, msg);
                rc = -1;
            }
    }
    if (rc == 0 && ferror(file)) {
        snprintf(err, errlen, "%s: read error", what);
        rc = -1;
    }
    free(line);
    return rc;
}

void targets_free(struct target_list *list)
{
    for (size_t i = 0; i < list->n; i++) {
        free(list->v[i].name);
        free(list->v[i].host);
    }
    free(list->v);
    list->v = NULL;
    list->n = list->cap = 0;
}
