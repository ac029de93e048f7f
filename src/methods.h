/* methods.h - the method registry: the C answer to "automatically supports
 * new BMC_Manager methods". One table entry (name, backend operation,
 * declared parameters with types, flags) makes a method reachable through
 * /execute and /execute/async, validated, and listed in the OpenAPI
 * document (`bmc-managerd --list-methods`).
 * Owns: nothing; entries are static. */
#ifndef BMC_METHODS_H
#define BMC_METHODS_H

#include "backend.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum param_type { PARAM_STRING, PARAM_INTEGER, PARAM_NUMBER, PARAM_BOOLEAN };

struct method_param {
    const char *name;
    enum param_type type;
    bool required;
    const char *doc;
};

enum method_flag {
    METHOD_CALLABLE = 1 << 0,      /* not set: an attribute (2003) */
    METHOD_POWER_ACTION = 1 << 1,  /* changes power: wait_for_state applies */
    METHOD_SKIP_VALIDATE = 1 << 2, /* no auto-validation first */
};

struct method_def {
    const char *name;
    size_t op_offset; /* offset of its bmc_op_fn in struct bmc_backend */
    const struct method_param *params; /* NULL-name terminated */
    unsigned flags;
    const char *summary;
};

/* Resolve NAME and check PARAMS (an object) against its declaration:
 * 0 and *OUT, or 2001 unknown, 2002 params not matching (unknown, missing,
 * wrong type), 2003 not callable, 2004 private (leading '_'), with a
 * reason in DETAILS. */
enum bmc_err methods_resolve(const char *name, json_object *params,
                             const struct method_def **out, char *details,
                             size_t dlen);

/* The registry entry named NAME, callable or not; NULL if none. */
const struct method_def *methods_find(const char *name);

/* The backend operation of METHOD in BACKEND. */
bmc_op_fn methods_op(const struct method_def *method,
                     const struct bmc_backend *backend);

/* Write the callable methods and their parameters as a JSON array. */
void methods_print_json(FILE *out);

#endif
