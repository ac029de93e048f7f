/* output.h - what bmcctl shows: aligned tables (states coloured on a
 * terminal that supports it, unless NO_COLOR), values of the service's
 * JSON as table cells, and the progress line on stderr while waiting.
 * Owns: a table's cells (table_free). */
#ifndef BMCCTL_OUTPUT_H
#define BMCCTL_OUTPUT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define TABLE_COLS_MAX 16

struct table_row {
    char *cells[TABLE_COLS_MAX];
    char *error; /* set: the row is HOST and this message */
};

struct table {
    size_t ncols;
    char *headers[TABLE_COLS_MAX];
    char *keys[TABLE_COLS_MAX]; /* "key|alt.key": where cells come from */
    struct table_row *rows;
    size_t nrows, cap;
};

/* A table whose first column is HOST, then the columns of SPEC
 * ("HEADER=key|alt,..."). */
void table_init(struct table *t, const char *first, const char *spec);

/* Add a row: FIRST in the first column, the other columns from OBJ (keys
 * looked up by dotted path; "-" when absent or null). */
void table_add_object(struct table *t, const char *first, json_object *obj);

/* Add a row showing FIRST and a message instead of columns. */
void table_add_error(struct table *t, const char *first, const char *msg);

/* Print T to OUT, leaving out columns that are "-" in every row; COLOR:
 * colour states and errors with ANSI escapes. */
void table_print(const struct table *t, FILE *out, bool color);

void table_free(struct table *t);

/* A JSON value as a cell: strings as they are, true/false as yes/no,
 * null as "-", lists joined with ",", objects as compact JSON. The
 * caller frees it. */
char *output_cell(json_object *v);

/* Whether FILE is a terminal that takes colours: a tty, TERM set and not
 * "dumb", NO_COLOR unset or empty. */
bool output_color_ok(FILE *file);

/* The progress line: on stderr, only when it is a terminal and not
 * --quiet; redrawn in place, cleared by progress_end. */
struct progress {
    bool enabled;
    const char *what;
    double started;   /* monotonic seconds */
    double last_draw; /* monotonic seconds */
    size_t done, total, failed;
    bool drawn;
};

void progress_start(struct progress *p, bool enabled, const char *what,
                    size_t total);
void progress_set(struct progress *p, size_t done, size_t failed);
/* Redraw (throttled to ten times a second) with the elapsed time. */
void progress_tick(struct progress *p);
void progress_end(struct progress *p);

/* Monotonic seconds. */
double output_now(void);

#endif
