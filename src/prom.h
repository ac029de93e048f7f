/* prom.h - the Prometheus text exposition format 0.0.4: a growing text
 * buffer of families (`# HELP`, `# TYPE`) and samples, with label values
 * and help texts escaped as the format says (backslash, double quote,
 * newline), numbers as Prometheus parses them (`+Inf`, `-Inf`, `NaN`), and
 * an optional cap on the number of samples (the probe's 2,000 series per
 * target). Also which form a client asked for (Accept).
 * Owns: the buffer's text until prom_take hands it over. */
#ifndef BMC_PROM_H
#define BMC_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define PROM_MAX_BYTES    (8u << 20) /* an exposition never grows beyond */

struct prom_buf {
    char *data;
    size_t len, cap;
    size_t samples;     /* written so far */
    size_t max_samples; /* 0: no cap */
    bool truncated;     /* a sample was refused by the cap or the size */
    bool failed;        /* out of memory: the text is incomplete */
};

/* Start an empty buffer that takes at most MAX_SAMPLES samples (0: any). */
void prom_init(struct prom_buf *b, size_t max_samples);

/* Free B's text. */
void prom_free(struct prom_buf *b);

/* B's text (NUL-terminated; "" when empty), now the caller's to free(). */
char *prom_take(struct prom_buf *b);

/* `# HELP NAME HELP` and `# TYPE NAME TYPE` (counter, gauge, histogram). */
void prom_family(struct prom_buf *b, const char *name, const char *type,
                 const char *help);

/* One sample `NAME{k="v",...} VALUE`. LABELS is NULL or a NULL-terminated
 * list of name, value pairs (a NULL value leaves that pair out). False when
 * the cap refused it. */
bool prom_sample(struct prom_buf *b, const char *name,
                 const char *const *labels, double value);

/* The same with an integer value (counters: exact beyond 2^53). */
bool prom_sample_u64(struct prom_buf *b, const char *name,
                     const char *const *labels, uint64_t value);

/* Append TEXT (already in the format) to B as it is. */
void prom_append(struct prom_buf *b, const char *text);

/* V as the format writes it: the shortest of %.15g / %.17g that reads
 * back as V (finite V only). */
void prom_format_double(char *out, size_t len, double v);

/* Append S to B with the label-value escapes (\\, \", \n); other control
 * bytes become spaces, invalid UTF-8 bytes '?'. */
void prom_escape_label(struct prom_buf *b, const char *s);

/* Whether the Accept header ACCEPT (may be NULL) prefers JSON to the text
 * format: application/json listed with a higher q than any text/plain or
 * OpenMetrics range. A missing header or wildcard-only means text. */
bool prom_wants_json(const char *accept);

#endif
