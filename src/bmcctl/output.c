/* output.c - tables and the progress line (see output.h). */
#include "autoconfig.h"
#include "output.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define RED    "\033[31m"
#define GREEN  "\033[32m"
#define YELLOW "\033[33m"
#define RESET  "\033[0m"

double output_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort(); /* out of memory in a command-line client */
    return d;
}

void table_init(struct table *t, const char *first, const char *spec)
{
    char *copy = xstrdup(spec ? spec : ""), *save = NULL;

    memset(t, 0, sizeof(*t));
    t->headers[t->ncols] = xstrdup(first);
    t->keys[t->ncols++] = NULL;
    for (char *col = strtok_r(copy, ",", &save);
         col && t->ncols < TABLE_COLS_MAX; col = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(col, '=');
        if (!eq)
            continue;
        *eq = '\0';
        t->headers[t->ncols] = xstrdup(col);
        t->keys[t->ncols++] = xstrdup(eq + 1);
    }
    free(copy);
}

static struct table_row *new_row(struct table *t)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->rows = realloc(t->rows, t->cap * sizeof(*t->rows));
        if (!t->rows)
            abort();
    }
    struct table_row *r = &t->rows[t->nrows++];
    memset(r, 0, sizeof(*r));
    return r;
}

/* OBJ's value at the dotted PATH, or NULL. */
static json_object *lookup_path(json_object *obj, const char *path)
{
    char key[128];

    while (obj && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        snprintf(key, sizeof(key), "%.*s", (int)n, path);
        if (!json_object_is_type(obj, json_type_object) ||
            !json_object_object_get_ex(obj, key, &obj))
            return NULL;
        path += n + (dot ? 1 : 0);
    }
    return obj;
}

/* The first of KEYS ("a|b.c") that OBJ has. */
static json_object *lookup_keys(json_object *obj, const char *keys)
{
    char *copy = xstrdup(keys), *save = NULL;
    json_object *v = NULL;

    for (char *k = strtok_r(copy, "|", &save); k && !v;
         k = strtok_r(NULL, "|", &save))
        v = lookup_path(obj, k);
    free(copy);
    return v;
}

char *output_cell(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null: return xstrdup("-");
    case json_type_boolean:
        return xstrdup(json_object_get_boolean(v) ? "yes" : "no");
    case json_type_string: return xstrdup(json_object_get_string(v));
    case json_type_array: {
        size_t n = json_object_array_length(v), len = 1;
        char *out = xstrdup("");
        for (size_t i = 0; i < n; i++) {
            char *c = output_cell(json_object_array_get_idx(v, i));
            len += strlen(c) + 1;
            out = realloc(out, len);
            if (!out)
                abort();
            if (i)
                strcat(out, ",");
            strcat(out, c);
            free(c);
        }
        return n ? out : (free(out), xstrdup("-"));
    }
    default:
        return xstrdup(json_object_to_json_string_ext(
            v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    }
}

void table_add_object(struct table *t, const char *first, json_object *obj)
{
    struct table_row *r = new_row(t);

    r->cells[0] = xstrdup(first);
    for (size_t c = 1; c < t->ncols; c++)
        r->cells[c] = output_cell(lookup_keys(obj, t->keys[c]));
}

void table_add_error(struct table *t, const char *first, const char *msg)
{
    struct table_row *r = new_row(t);

    r->cells[0] = xstrdup(first);
    r->error = xstrdup(msg);
}

/* Display width of UTF-8 text: code points (continuation bytes skipped). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static const char *state_color(const char *header, const char *v)
{
    if (strcmp(header, "STATE") && strcmp(header, "HEALTH") &&
        strcmp(header, "SEVERITY"))
        return NULL;
    if (!strcasecmp(v, "on") || !strcmp(v, "ok"))
        return GREEN;
    if (!strcasecmp(v, "off") || !strcmp(v, "critical"))
        return RED;
    return strcmp(v, "-") ? YELLOW : NULL;
}

static bool column_empty(const struct table *t, size_t c)
{
    for (size_t i = 0; i < t->nrows; i++)
        if (!t->rows[i].error && strcmp(t->rows[i].cells[c], "-"))
            return false;
    return c > 0;
}

static void print_cell(FILE *out, const char *header, const char *v,
                       size_t width, bool last, bool color)
{
    const char *col = color ? state_color(header, v) : NULL;
    size_t pad = last ? 0 : width - text_width(v) + 2;

    fprintf(out, "%s%s%s%*s", col ? col : "", v, col ? RESET : "", (int)pad,
            "");
}

void table_print(const struct table *t, FILE *out, bool color)
{
    size_t width[TABLE_COLS_MAX] = {0}, lastcol = 0;
    bool shown[TABLE_COLS_MAX];

    for (size_t c = 0; c < t->ncols; c++) {
        shown[c] = !column_empty(t, c);
        width[c] = text_width(t->headers[c]);
        for (size_t i = 0; i < t->nrows; i++)
            if (!t->rows[i].error || c == 0) {
                size_t w = text_width(t->rows[i].cells[c]);
                width[c] = w > width[c] ? w : width[c];
            }
        if (shown[c])
            lastcol = c;
    }
    for (size_t c = 0; c < t->ncols; c++)
        if (shown[c])
            print_cell(out, "", t->headers[c], width[c], c == lastcol, false);
    fputc('\n', out);
    for (size_t i = 0; i < t->nrows; i++) {
        const struct table_row *r = &t->rows[i];
        print_cell(out, "", r->cells[0], width[0], !r->error && lastcol == 0,
                   false);
        if (r->error) {
            fprintf(out, "%s%s%s\n", color ? RED : "", r->error,
                    color ? RESET : "");
            continue;
        }
        for (size_t c = 1; c < t->ncols; c++)
            if (shown[c])
                print_cell(out, t->headers[c], r->cells[c], width[c],
                           c == lastcol, color);
        fputc('\n', out);
    }
}

void table_free(struct table *t)
{
    for (size_t i = 0; i < t->nrows; i++) {
        for (size_t c = 0; c < t->ncols; c++)
            free(t->rows[i].cells[c]);
        free(t->rows[i].error);
    }
    for (size_t c = 0; c < t->ncols; c++) {
        free(t->headers[c]);
        free(t->keys[c]);
    }
    free(t->rows);
    memset(t, 0, sizeof(*t));
}

bool output_color_ok(FILE *file)
{
    const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

    if (no && no[0])
        return false;
    if (!term || !term[0] || !strcmp(term, "dumb"))
        return false;
    return isatty(fileno(file));
}

void progress_start(struct progress *p, bool enabled, const char *what,
                    size_t total)
{
    memset(p, 0, sizeof(*p));
    p->enabled = enabled;
    p->what = what;
    p->total = total;
    p->started = output_now();
    p->last_draw = -1;
}

void progress_set(struct progress *p, size_t done, size_t failed)
{
    p->done = done;
    p->failed = failed;
}

void progress_tick(struct progress *p)
{
    double now = output_now();

    if (!p->enabled || now - p->last_draw < 0.1)
        return;
    p->last_draw = now;
    fprintf(stderr, "\r\033[K%s: %zu/%zu done, %zu failed, %.1fs", p->what,
            p->done, p->total, p->failed, now - p->started);
    fflush(stderr);
    p->drawn = true;
}

void progress_end(struct progress *p)
{
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->drawn = false;
}
