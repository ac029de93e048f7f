/* prom.c - Prometheus text exposition writer (see prom.h). */
#include "autoconfig.h"
#include "prom.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void prom_init(struct prom_buf *b, size_t max_samples)
{
    memset(b, 0, sizeof(*b));
    b->max_samples = max_samples;
}

void prom_free(struct prom_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *prom_take(struct prom_buf *b)
{
    char *t = b->data ? b->data : strdup("");

    b->data = NULL;
    b->len = b->cap = 0;
    return t;
}

/* Room for N more bytes and a NUL; false (and B->failed) when none. */
static bool reserve(struct prom_buf *b, size_t n)
{
    if (b->failed)
        return false;
    if (b->len + n + 1 <= b->cap)
        return true;
    if (b->len + n + 1 > PROM_MAX_BYTES) {
        b->failed = b->truncated = true;
        return false;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        b->failed = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

static void put(struct prom_buf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void puts_(struct prom_buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* S with backslash and newline escaped, and the double quote too when
 * QUOTES (label values; help texts keep theirs). */
static void put_escaped(struct prom_buf *b, const char *s, bool quotes)
{
    for (; *s; s++) {
        if (*s == '\\')
            puts_(b, "\\\\");
        else if (*s == '\n')
            puts_(b, "\\n");
        else if (*s == '"' && quotes)
            puts_(b, "\\\"");
        else
            put(b, s, 1);
    }
}

/* Length of the valid UTF-8 sequence at S, or 0. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n = s[0] < 0x80             ? 1
               : (s[0] & 0xe0) == 0xc0 ? 2
               : (s[0] & 0xf0) == 0xe0 ? 3
               : (s[0] & 0xf8) == 0xf0 ? 4
                                       : 0;
    if (n == 2 && s[0] < 0xc2)
        return 0; /* overlong */
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

void prom_escape_label(struct prom_buf *b, const char *s)
{
    /* BMCs send any bytes: other controls become spaces and invalid
     * UTF-8 becomes '?', so a parser never stops on a label */
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_len(p);
        if (n == 0) {
            puts_(b, "?");
            p++;
        } else if (n == 1 && *p < 0x20 && *p != '\n') {
            puts_(b, " ");
            p++;
        } else if (n == 1) {
            char c[2] = {(char)*p++, 0};
            put_escaped(b, c, true);
        } else {
            put(b, (const char *)p, n);
            p += n;
        }
    }
}

void prom_append(struct prom_buf *b, const char *text)
{
    puts_(b, text);
}

void prom_family(struct prom_buf *b, const char *name, const char *type,
                 const char *help)
{
    puts_(b, "# HELP ");
    puts_(b, name);
    puts_(b, " ");
    put_escaped(b, help, false);
    puts_(b, "\n# TYPE ");
    puts_(b, name);
    puts_(b, " ");
    puts_(b, type);
    puts_(b, "\n");
}

void prom_format_double(char *out, size_t len, double v)
{
    /* the shortest that reads back as V: 0.05, not 0.050000000000000003 */
    snprintf(out, len, "%.15g", v);
    if (strtod(out, NULL) != v)
        snprintf(out, len, "%.17g", v);
}

/* `NAME{labels} ` once the cap allows another sample. */
static bool sample_head(struct prom_buf *b, const char *name,
                        const char *const *labels)
{
    bool first = true;

    if (b->max_samples && b->samples >= b->max_samples) {
        b->truncated = true;
        return false;
    }
    b->samples++;
    puts_(b, name);
    for (; labels && labels[0]; labels += 2) {
        if (!labels[1])
            continue;
        puts_(b, first ? "{" : ",");
        first = false;
        puts_(b, labels[0]);
        puts_(b, "=\"");
        prom_escape_label(b, labels[1]);
        puts_(b, "\"");
    }
    puts_(b, first ? " " : "} ");
    return true;
}

bool prom_sample(struct prom_buf *b, const char *name,
                 const char *const *labels, double value)
{
    char num[64];

    if (!sample_head(b, name, labels))
        return false;
    if (isnan(value))
        snprintf(num, sizeof(num), "NaN");
    else if (isinf(value))
        snprintf(num, sizeof(num), "%s", value > 0 ? "+Inf" : "-Inf");
    else
        prom_format_double(num, sizeof(num), value);
    puts_(b, num);
    puts_(b, "\n");
    return true;
}

bool prom_sample_u64(struct prom_buf *b, const char *name,
                     const char *const *labels, uint64_t value)
{
    char num[32];

    if (!sample_head(b, name, labels))
        return false;
    snprintf(num, sizeof(num), "%" PRIu64 "\n", value);
    puts_(b, num);
    return true;
}

/* The q of one media range's parameters P ("; q=0.5; version=..."). */
static double range_q(const char *p, const char *end)
{
    while (p < end) {
        p += strspn(p, " \t;");
        if (p + 2 <= end && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
            return strtod(p + 2, NULL);
        const char *semi = memchr(p, ';', (size_t)(end - p));
        p = semi ? semi : end;
    }
    return 1.0;
}

static bool type_is(const char *p, size_t n, const char *type)
{
    return n == strlen(type) && !strncasecmp(p, type, n);
}

bool prom_wants_json(const char *accept)
{
    double json = 0, text = 0;

    for (const char *p = accept; p && *p;) {
        const char *end = p + strcspn(p, ",");
        p += strspn(p, " \t");
        size_t n = strcspn(p, " \t;,");
        double q = range_q(p + n, end);
        if (type_is(p, n, "application/json") && q > json)
            json = q;
        else if ((type_is(p, n, "text/plain") || type_is(p, n, "text/*") ||
                  type_is(p, n, "application/openmetrics-text")) &&
                 q > text)
            text = q;
        p = *end ? end + 1 : end;
    }
    return json > 0 && json > text;
}
